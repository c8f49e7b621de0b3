"""ROS-free units: boxes, affect mapping, schema, tracking, parameters, head pose."""

import json
import math

import cv2
import numpy as np
import pytest

from emotion_perception.io.outputs.schema import dumps_line, frame_to_json, hello_json
from emotion_perception.io.parameters import (
    PERCEPTION_NODE_PARAMETERS,
    load_params_file,
    pipeline_config,
)
from emotion_perception.vision.expressions import EXPRESSIONS, valence_arousal
from emotion_perception.vision.landmarks import (
    FACE_MODEL_3D,
    POSE_LANDMARKS,
    camera_matrix,
    head_pose,
)
from emotion_perception.vision.results import Box, Face, FrameResult
from emotion_perception.vision.tracking import Tracker, TrackerConfig

from conftest import ROOT


def test_box_geometry():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 10, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(Box(20, 20, 5, 5)) == 0.0
    assert Box(-5, -5, 20, 20).clipped(10, 8) == Box(0, 0, 10, 8)
    assert Box(10, 10, 10, 10).grown(0.5) == Box(5, 5, 20, 20)


def test_valence_arousal_follow_the_circumplex():
    happy = np.eye(7)[EXPRESSIONS.index('Happy')]
    sad = np.eye(7)[EXPRESSIONS.index('Sad')]
    assert valence_arousal(happy) == pytest.approx((0.81, 0.51))
    assert valence_arousal(sad)[0] < 0 and valence_arousal(sad)[1] < 0
    assert valence_arousal(np.eye(7)[6]) == pytest.approx((0.0, 0.0))


def _face(face_id=1, label=3):
    scores = tuple(float(v) for v in np.eye(7)[label] * 0.9 + 0.1 / 7)
    return Face(id=face_id, box=Box(10, 20, 30, 40), scores=scores, valence=0.5, arousal=0.2,
                landmarks=np.zeros((68, 2), np.float32))


def test_schema_keeps_the_seeds_fields():
    line = dumps_line(frame_to_json(FrameResult(7, 1.5, 640, 480, [_face()])))
    assert line.endswith(b'\n') and line.count(b'\n') == 1
    obj = json.loads(line)
    assert obj['faceCount'] == 1 and obj['frame'] == 7 and obj['stamp'] == 1.5
    face = obj['faces'][0]
    assert face['expressionIdx'] == 3 and face['expression'] == 'Happy'
    assert face['position'] == {'x': 10, 'y': 20, 'width': 30, 'height': 40}
    assert len(face['scores']) == 7 and len(face['landmarks']) == 136
    assert face['id'] == 1 and 0 < face['confidence'] <= 1
    assert hello_json()['expressions'] == list(EXPRESSIONS)


def test_tracker_keeps_ids_through_misses_then_forgets():
    tracker = Tracker(TrackerConfig(max_missed=2))
    first = tracker.update([Box(0, 0, 50, 50), Box(200, 0, 50, 50)])
    ids = [t.id for t in first]
    assert len(set(ids)) == 2
    moved = tracker.update([Box(210, 5, 50, 50), Box(8, 4, 50, 50)])
    assert [t.id for t in moved] == ids[::-1]
    tracker.update([])
    tracker.update([])
    assert [t.id for t in tracker.update([Box(8, 4, 50, 50)])] == [ids[0]]
    for _ in range(3):
        tracker.update([])
    assert tracker.update([Box(8, 4, 50, 50)])[0].id not in ids


def test_smoothing_damps_a_one_frame_flicker():
    tracker = Tracker(TrackerConfig(smoothing=0.6))
    track = tracker.update([Box(0, 0, 50, 50)])[0]
    happy, angry = np.eye(7)[3], np.eye(7)[0]
    for _ in range(5):
        track.smooth(happy, 0.6)
    assert int(np.argmax(track.smooth(angry, 0.6))) == 3
    assert int(np.argmax(Tracker(TrackerConfig(smoothing=0.0)).update(
        [Box(0, 0, 5, 5)])[0].smooth(angry, 0.0))) == 0


def _project(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The generic face's pose points as a camera 1 m away sees them."""
    rvec, _ = cv2.Rodrigues(
        _rz(math.radians(roll)) @ _ry(math.radians(yaw)) @ _rx(math.radians(-pitch)))
    pts, _ = cv2.projectPoints(FACE_MODEL_3D, rvec, np.array([0.0, 0.0, 1000.0]),
                               camera_matrix(640, 480), None)
    points = np.zeros((68, 2), np.float32)
    points[POSE_LANDMARKS] = pts.reshape(-1, 2)
    return points


def _rx(a):
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def _ry(a):
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def _rz(a):
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


@pytest.mark.parametrize('yaw,pitch,roll', [(0, 0, 0), (25, 0, 0), (0, 15, 0), (0, 0, -20),
                                            (-30, -10, 10)])
def test_head_pose_recovers_known_rotations(yaw, pitch, roll):
    pose = head_pose(_project(yaw, pitch, roll), 640, 480)
    assert (pose.yaw, pose.pitch, pose.roll) == pytest.approx((yaw, pitch, roll), abs=1.0)


def test_parameters_are_checked():
    assert pipeline_config({'smoothing': 0.3, 'min_size': 40}).tracker.smoothing == 0.3
    with pytest.raises(ValueError, match='smoothing must be in'):
        pipeline_config({'smoothing': 1.5})
    with pytest.raises(ValueError, match='min_neighbors must be an integer'):
        pipeline_config({'min_neighbors': 'five'})
    with pytest.raises(ValueError, match='unknown perception parameter'):
        pipeline_config({'colour': 1})


def test_shipped_params_file_is_valid():
    nodes = load_params_file(ROOT / 'config' / 'params.yaml')
    assert set(nodes) == {'camera', 'perception', 'unity_bridge', 'hri'}
    node_only = {spec.name for spec in PERCEPTION_NODE_PARAMETERS}
    section = {k: v for k, v in nodes['perception'].items() if k not in node_only}
    pipeline_config(section)


def test_malformed_yaml_is_one_clear_error(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('perception:\n  ros__parameters:\n    smoothing: [0.5\n')
    with pytest.raises(ValueError, match=r'is not valid YAML at line \d'):
        load_params_file(bad)
    bad.write_text('perception: 3\n')
    with pytest.raises(ValueError, match='ros__parameters'):
        load_params_file(bad)
