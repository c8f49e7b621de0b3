"""The training run: fixed seed, a checkpoint every epoch, resumable, one JSON line per epoch.

SGD with Nesterov momentum and weight decay (decoupled, as Keras applies it, or added to
the gradient, as the PyTorch references do), a linear warm-up then cosine decay to zero over
the planned epochs, label smoothing, and optionally distillation from a trained teacher
(Hinton et al. 2015: the teacher's softened scores on the very faces the student sees,
averaged over the teacher's test-time views). Each epoch ends by rounding the weights and
optimizer state to float16 and writing them (`checkpoint.npz`); training goes on from those
rounded values, so a run resumed from the file is the same run, step for step, as one that
never stopped. A large network may keep only its weights (`keep_optimizer=False`: half the
file, as a committed teacher checkpoint must be); its resume rebuilds the momentum.

Why one module: the recipe, the checkpoint format and the trainer change together (a
checkpoint one writes, the other must read); the data and the network are apart.
"""

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from scipy.special import softmax

from emotion_perception.training.data import (
    Augmentation,
    FaceSet,
    augmented,
    five_windows,
    random_windows,
)
from emotion_perception.training.network import NetworkConfig, build
from emotion_perception.training.widen import widen_into
from emotion_perception.vision.classifier import preprocess
from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.native_logs import banners_hidden

CHECKPOINT = 'checkpoint.npz'
BEST = 'best.weights.npz'
EPOCH_LOG = 'epochs.jsonl'


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights, besides the data."""

    network: NetworkConfig = field(default_factory=NetworkConfig)
    augmentation: Augmentation = field(default_factory=Augmentation)
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 0.05
    warmup_epochs: float = 2.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    #: True: weight_decay * w added to the gradient before the momentum (L2, PyTorch's
    #: SGD); False: decoupled, applied after it (Keras). 5e-4 decoupled is about 5e-5 of
    #: the other kind at lr 0.05.
    weight_decay_in_gradient: bool = False
    label_smoothing: float = 0.1
    seed: int = 1
    #: Weights file of a trained run (best.weights.npz) that a fresh run starts from,
    #: widened to this recipe's network (training.widen); empty: from scratch.
    init_from: str = ''
    #: Noise on the widened copies' filters, relative to each kernel's spread.
    init_noise: float = 0.05
    #: Weights file of a trained run whose scores the student also learns; empty: none.
    teacher: str = ''
    #: Share of the loss that is the teacher's (the rest: the labels, smoothed).
    distill_weight: float = 0.5
    #: Softmax temperature of the teacher's and the student's scores in that share.
    temperature: float = 3.0
    #: 'bfloat16': Keras mixed precision (float32 weights, bfloat16 arithmetic); on CPUs
    #: with AVX-512 BF16, 1.2x (16-32-96-192) to 1.6x (64-128-256-512) the images a second.
    precision: str = 'float32'
    #: Percent of the training folder held out to choose the best epoch (by file name,
    #: training.data.FaceSet.split); kept here so that every sitting holds out the same.
    holdout: float = 0.0
    #: Whether checkpoints hold the optimizer's state (a resume is then step for step the
    #: same run) or only the weights (half the size; a resume starts the momentum afresh).
    keep_optimizer: bool = True

    def __post_init__(self) -> None:
        """Refuse settings out of range: one clear error before any work."""
        if not 0.0 <= self.distill_weight <= 1.0 or self.temperature <= 0:
            raise ValueError(f'distillation weight {self.distill_weight} must be in [0, 1] '
                             f'and temperature {self.temperature} above 0')
        if not 0.0 <= self.holdout < 100.0:
            raise ValueError(f'holdout {self.holdout} must be a percent in [0, 100)')
        if self.precision not in ('float32', 'bfloat16'):
            raise ValueError(f'precision {self.precision!r}: float32 or bfloat16')

    def to_json(self) -> dict:
        """JSON-ready form, stored in every checkpoint."""
        data = asdict(self)
        data['network'] = self.network.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict) -> 'Recipe':
        """Inverse of to_json."""
        rest = {k: v for k, v in data.items() if k not in ('network', 'augmentation')}
        return cls(NetworkConfig.from_json(data['network']),
                   Augmentation(**data['augmentation']), **rest)

    def learning_rate_at(self, step: float, steps_per_epoch: int) -> float:
        """Linear warm-up, then cosine decay to zero at the last step."""
        warmup = self.warmup_epochs * steps_per_epoch
        total = self.epochs * steps_per_epoch
        if step < warmup:
            return self.learning_rate * (step + 1) / warmup
        progress = (step - warmup) / max(1.0, total - warmup)
        return 0.5 * self.learning_rate * (1 + math.cos(math.pi * min(1.0, progress)))


def check_run_folder(out: Path, resume: bool) -> None:
    """Refuse, before any work, a fresh run over a checkpoint or a resume without one."""
    checkpoint = out / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise FileNotFoundError(f'--resume: no {CHECKPOINT} in {out}')
    if not resume and checkpoint.is_file():
        raise FileExistsError(f'{checkpoint} exists; pass --resume to go on, or another --out')


def _state(variables) -> list[np.ndarray]:
    """Variables as arrays; floating ones rounded to float16 (what the checkpoint keeps)."""
    arrays = []
    for v in variables:
        value = np.asarray(v.numpy())
        arrays.append(value.astype(np.float16) if value.dtype.kind == 'f' else value)
    return arrays


def restore(variables, arrays) -> None:
    """Assign stored arrays back to variables, in their own dtype."""
    if len(arrays) != len(variables):
        raise ValueError(f'checkpoint holds {len(arrays)} arrays; the network has '
                         f'{len(variables)}: it was made with another recipe')
    for v, a in zip(variables, arrays):
        v.assign(np.asarray(a).astype(v.dtype))


def _save(path: Path, groups: dict[str, list[np.ndarray]], meta: dict) -> None:
    """Write arrays and metadata atomically (a killed run never leaves half a file)."""
    arrays = {f'{name}/{i:04d}': a for name, group in groups.items()
              for i, a in enumerate(group)}
    staged = path.with_name(path.name + '.partial.npz')
    np.savez_compressed(staged, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(staged, path)


def load_arrays(path: Path) -> tuple[dict[str, list[np.ndarray]], dict]:
    """Arrays by group, and the metadata, of a file written by _save."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data['meta']))
        groups: dict[str, list[np.ndarray]] = {}
        for key in sorted(k for k in data.files if k != 'meta'):
            groups.setdefault(key.split('/')[0], []).append(data[key])
    return groups, meta


def trained_model(weights: Path):
    """The Keras network of a training run's weights file (best.weights.npz or checkpoint)."""
    groups, meta = load_arrays(weights)
    recipe = Recipe.from_json(meta['recipe'])
    with banners_hidden():
        model = build(recipe.network)
    restore(model.variables, groups['model'])
    return model, meta


def _with_logits(model):
    """The same network (shared weights) giving its logits and its scores."""
    import keras

    return keras.Model(model.input, [model.get_layer('logits').output, model.output])


def flip_averaged(model, faces: np.ndarray, batch: int = 512) -> np.ndarray:
    """(n, 7) scores of preprocessed faces, each averaged with its mirror image."""
    out = []
    for i in range(0, len(faces), batch):
        x = faces[i:i + batch]
        both = np.asarray(model(np.concatenate([x, x[:, :, ::-1]]), training=False),
                          dtype=np.float32)
        out.append((both[:len(x)] + both[len(x):]) / 2)
    return np.concatenate(out)


def view_averaged(model, images: np.ndarray, network: NetworkConfig,
                  ten_crop: bool = False) -> np.ndarray:
    """(n, 7) scores of (n, s, s) uint8 faces as the network is evaluated.

    The whole face and its mirror; for a cropping network its centre window and that
    window's mirror, or (`ten_crop`) all ten views.
    """
    if not network.crop:
        return flip_averaged(model, preprocess(list(images), network.input_size))
    windows = five_windows(images, network.crop)
    views = windows if ten_crop else windows[-1:]
    return np.mean([flip_averaged(model, preprocess(list(v), network.crop)) for v in views],
                   axis=0)


class Trainer:
    """One training run in one folder: checkpoint, best weights and epoch log."""

    def __init__(self, out: Path, recipe: Recipe, resume: bool,
                 replan_epochs: Optional[int] = None) -> None:
        with banners_hidden():
            import keras
            import tensorflow as tf

        check_run_folder(out, resume)
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        meta: dict = {}
        if resume:
            groups, meta = load_arrays(out / CHECKPOINT)
            recipe = Recipe.from_json(meta['recipe'])
            if replan_epochs and replan_epochs != recipe.epochs:
                if replan_epochs <= int(meta['epoch']):
                    raise ValueError(f'--epochs {replan_epochs}: the run is at epoch '
                                     f'{meta["epoch"]} already')
                recipe = replace(recipe, epochs=replan_epochs)
        self.recipe = recipe
        keras.mixed_precision.set_global_policy(
            'mixed_bfloat16' if recipe.precision == 'bfloat16' else 'float32')
        keras.utils.set_random_seed(recipe.seed)
        tf.config.experimental.enable_op_determinism()
        self.model = build(recipe.network)
        self.optimizer = keras.optimizers.SGD(
            learning_rate=recipe.learning_rate, momentum=recipe.momentum, nesterov=True,
            weight_decay=None if recipe.weight_decay_in_gradient else recipe.weight_decay)
        self.optimizer.build(self.model.trainable_variables)
        self.epoch = int(meta.get('epoch', 0))
        self.best = float(meta.get('best_accuracy', 0.0))
        if meta:
            restore(self.model.variables, groups['model'])
            if 'optimizer' in groups:
                restore(self.optimizer.variables, groups['optimizer'])
        elif recipe.init_from:
            source, _ = trained_model(Path(recipe.init_from))
            widen_into(source, self.model, np.random.default_rng(recipe.seed),
                       recipe.init_noise)
        self.teacher = None
        if recipe.teacher:
            teacher, teacher_meta = trained_model(Path(recipe.teacher))
            self.teacher = _with_logits(teacher)
            self.teacher_network = Recipe.from_json(teacher_meta['recipe']).network
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
        soft_loss = keras.losses.KLDivergence()
        model, optimizer = self.model, self.optimizer
        both = _with_logits(model)
        classes = model.output_shape[-1]
        weight, temperature = recipe.distill_weight, recipe.temperature
        decay = recipe.weight_decay if recipe.weight_decay_in_gradient else 0.0

        @tf.function(reduce_retracing=True)
        def step(x, labels, soft):
            with tf.GradientTape() as tape:
                if self.teacher is None:
                    scores = model(x, training=True)
                    value = loss(tf.one_hot(labels, classes), scores)
                else:
                    logits, scores = both(x, training=True)
                    student = tf.nn.softmax(tf.cast(logits, tf.float32) / temperature)
                    value = ((1 - weight) * loss(tf.one_hot(labels, classes), scores)
                             + weight * temperature ** 2 * soft_loss(soft, student))
            grads = tape.gradient(value, model.trainable_variables)
            if decay:
                grads = [g + decay * v for g, v in zip(grads, model.trainable_variables)]
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            hits = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(scores, -1), labels), tf.float32))
            return value, hits

        self._step = step

    def run_epoch(self, train: FaceSet, progress: Callable[[int], None]) -> dict:
        """Train one epoch; returns its loss, accuracy, last learning rate, wall and CPU seconds."""
        recipe, started, cpu = self.recipe, time.monotonic(), time.process_time()
        rng = np.random.default_rng([recipe.seed, self.epoch])
        order = rng.permutation(len(train))
        images = augmented(train.images[order], recipe.augmentation, rng)
        soft = self._softened_teacher_scores(images)
        if recipe.network.crop:
            images = random_windows(images, recipe.network.crop, rng)
        faces = preprocess(list(images), recipe.network.side)
        labels = train.labels[order]
        steps = len(train) // recipe.batch_size
        total_loss = total_hits = 0.0
        rate = 0.0
        for s in range(steps):
            rate = recipe.learning_rate_at(self.epoch * steps + s, steps)
            self.optimizer.learning_rate.assign(rate)
            batch = slice(s * recipe.batch_size, (s + 1) * recipe.batch_size)
            value, hits = self._step(faces[batch], labels[batch], soft[batch])
            total_loss += float(value)
            total_hits += float(hits)
            progress(recipe.batch_size)
        self.epoch += 1
        seen = steps * recipe.batch_size
        return {'epoch': self.epoch, 'loss': total_loss / steps, 'accuracy': total_hits / seen,
                'learning_rate': rate, 'seconds': round(time.monotonic() - started, 1),
                'cpu_seconds': round(time.process_time() - cpu, 1)}

    def _softened_teacher_scores(self, images: np.ndarray) -> np.ndarray:
        """(n, 7) teacher scores of (n, s, s) faces at the recipe's temperature.

        Its logits averaged over its views, as it is evaluated; zeros without a teacher.
        """
        if self.teacher is None:
            return np.zeros((len(images), len(EXPRESSIONS)), np.float32)
        logits = view_averaged(lambda x, training: self.teacher(x, training=training)[0],
                               images, self.teacher_network)
        return softmax(logits / self.recipe.temperature, axis=1).astype(np.float32)

    def validate(self, faces: FaceSet, ten_crop: bool = False) -> float:
        """Top-1 accuracy on a face set, with the views of view_averaged."""
        scores = view_averaged(self.model, faces.images, self.recipe.network, ten_crop)
        return float(np.mean(scores.argmax(1) == faces.labels))

    def checkpoint(self, record: dict) -> None:
        """Round the state to float16, continue from it, write it, and log the epoch."""
        model_state = _state(self.model.variables)
        optimizer_state = _state(self.optimizer.variables)
        restore(self.model.variables, model_state)
        restore(self.optimizer.variables, optimizer_state)
        if record.get('val_accuracy', -1.0) > self.best:
            self.best = record['val_accuracy']
            _save(self.out / BEST, {'model': model_state},
                  {'recipe': self.recipe.to_json(), 'epoch': self.epoch,
                   'val_accuracy': self.best})
        kept = {'model': model_state}
        if self.recipe.keep_optimizer:
            kept['optimizer'] = optimizer_state
        _save(self.out / CHECKPOINT, kept,
              {'recipe': self.recipe.to_json(), 'epoch': self.epoch,
               'best_accuracy': self.best})
        with open(self.out / EPOCH_LOG, 'a') as log:
            log.write(json.dumps(record) + '\n')


def train(train_set: FaceSet, val_set: Optional[FaceSet], out: Path, recipe: Recipe,
          resume: bool, progress_factory: Callable[[int, str], object],
          until_epoch: Optional[int] = None, replan_epochs: Optional[int] = None,
          test_set: Optional[FaceSet] = None, ten_crop_every: int = 10) -> Trainer:
    """Run epochs until the recipe's last (or until_epoch), checkpointing each one.

    progress_factory(total, description) gives a context manager with update(n).
    replan_epochs, on resume, moves the end of the cosine schedule (the rest of the
    schedule is re-planned from the epoch reached; the epoch log shows the change).
    val_set chooses the best weights; test_set is only reported (`test_accuracy`). A
    cropping network is also scored on its ten views every ten_crop_every epochs and at
    the last (`*_ten_crop`: 5x the cost of the centre and its mirror, so not every epoch).
    """
    trainer = Trainer(out, recipe, resume, replan_epochs)
    last = min(trainer.recipe.epochs, until_epoch or trainer.recipe.epochs)
    while trainer.epoch < last:
        steps = len(train_set) // trainer.recipe.batch_size
        with progress_factory(steps * trainer.recipe.batch_size,
                              f'epoch {trainer.epoch + 1}/{trainer.recipe.epochs}') as bar:
            record = trainer.run_epoch(train_set, bar.update)
        ten_crop = bool(trainer.recipe.network.crop) and (
            trainer.epoch % ten_crop_every == 0 or trainer.epoch == trainer.recipe.epochs)
        for key, faces in (('val_accuracy', val_set), ('test_accuracy', test_set)):
            if faces is not None:
                record[key] = trainer.validate(faces)
                if ten_crop:
                    record[f'{key}_ten_crop'] = trainer.validate(faces, ten_crop=True)
        trainer.checkpoint(record)
        print(json.dumps(record), flush=True)
    return trainer
