"""`emotion-perception process` and `evaluate`, and the frame sources, as users run them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from emotion_perception.io.evaluation import evaluate
from emotion_perception.io.sources.demo import astronaut_face

from conftest import ROOT, write_demo_video

CLI = Path(sys.executable).parent / 'emotion-perception'
FER2013 = Path(os.environ.get('FER2013_DIR', ROOT.parent / 'shared/data/fer2013-publictest'))
#: The shipped model's PublicTest accuracy (models/expression_vgg.md), less a point.
TRAINED_FLOOR = 0.65


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope='module')
def demo_video(tmp_path_factory) -> Path:
    return write_demo_video(tmp_path_factory.mktemp('video') / 'two_faces.avi', 45)


def test_process_writes_one_schema_line_per_frame(demo_video, tmp_path):
    out = tmp_path / 'out' / 'faces.jsonl'
    proc = _cli('process', str(demo_video), '--output', str(out))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 45 and [obj['frame'] for obj in lines] == list(range(45))
    assert lines[10]['stamp'] == pytest.approx(10 / 30)
    assert all(obj['faceCount'] == 2 for obj in lines)
    assert {f['id'] for obj in lines for f in obj['faces']} == {1, 2}
    assert {f['expression'] for obj in lines for f in obj['faces']} == {'Happy'}
    assert '45 frames' in proc.stderr


def test_process_with_either_classifier_and_a_wrong_one(demo_video, tmp_path):
    out = tmp_path / 'fer.jsonl'
    proc = _cli('process', str(demo_video), '--output', str(out), '--classifier', 'fer',
                '--max-frames', '10')
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 10 and {f['expression'] for o in lines for f in o['faces']} == {'Happy'}
    params = tmp_path / 'params.yaml'
    params.write_text('perception:\n  ros__parameters:\n    classifier: resnet\n')
    proc = _cli('process', str(demo_video), '--output', str(out), '--params', str(params))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "emotion-perception process: error: classifier must be one of trained, fer, "
        "got 'resnet'"]


def test_process_truncated_video_keeps_what_it_can(demo_video, tmp_path):
    cut = tmp_path / 'cut.avi'
    data = demo_video.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    proc = _cli('process', str(cut), '--output', str(tmp_path / 'cut.jsonl'))
    assert proc.returncode == 0, proc.stderr
    count = len((tmp_path / 'cut.jsonl').read_text().splitlines())
    assert 5 < count < 45


@pytest.mark.parametrize('source,message', [('/no/such/video.mp4', 'video file not found'),
                                            ('notes.mp4', 'not a video OpenCV can decode')])
def test_process_unreadable_input_is_one_line_and_nonzero(tmp_path, source, message):
    (tmp_path / 'notes.mp4').write_text('this is text, not a video\n')
    proc = _cli('process', str(tmp_path / source) if source == 'notes.mp4' else source,
                '--output', str(tmp_path / 'x.jsonl'))
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_image_folder_skips_unreadable_images(tmp_path, astronaut):
    folder = tmp_path / 'images'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.png'), astronaut)
    (folder / 'b.jpg').write_bytes(b'garbage')
    cv2.imwrite(str(folder / 'c.jpg'), astronaut)
    proc = _cli('process', str(folder), '--output', str(tmp_path / 'f.jsonl'))
    assert proc.returncode == 0 and 'skipped 1 unreadable' in proc.stderr
    lines = [json.loads(x) for x in (tmp_path / 'f.jsonl').read_text().splitlines()]
    assert [obj['faces'][0]['expression'] for obj in lines] == ['Happy', 'Happy']


def test_evaluate_json_on_a_folder_per_class(tmp_path):
    for name in ('happy', 'sad'):
        (tmp_path / name).mkdir()
    face = cv2.cvtColor(astronaut_face(48), cv2.COLOR_BGR2GRAY)
    for i in range(3):
        cv2.imwrite(str(tmp_path / 'happy' / f'{i}.png'), face)
    cv2.imwrite(str(tmp_path / 'sad' / '0.png'), face)
    proc = _cli('evaluate', str(tmp_path), '--json')
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result['count'] == 4 and result['accuracy'] == pytest.approx(0.75)
    assert result['recall']['Happy'] == 1.0 and result['recall']['Sad'] == 0.0
    assert len(result['confusion']) == 7 and result['confusion'][4][3] == 1


def test_evaluate_missing_dataset_is_one_line():
    proc = _cli('evaluate', '/no/such/dataset')
    assert proc.returncode == 2 and 'dataset folder not found' in proc.stderr


@pytest.mark.skipif(not FER2013.is_dir(), reason=f'FER2013 PublicTest not at {FER2013}')
@pytest.mark.parametrize('name, floor', [('fer', 0.58), ('trained', TRAINED_FLOOR)])
def test_classifiers_reach_their_accuracy_on_fer2013(name, floor):
    from emotion_perception.vision.classifier import ExpressionClassifier
    from emotion_perception.vision.model_store import CLASSIFIERS, verified_path

    result = evaluate(ExpressionClassifier(verified_path(CLASSIFIERS[name])), FER2013)
    assert result.count == 3589
    assert result.accuracy >= floor
