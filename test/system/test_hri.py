"""REP-155 (ROS4HRI): our faces under /humans/faces/, read as a ROS4HRI consumer reads them.

The hri_msgs interface package comes from `make ros-tools` (../shared/ros-tools/src/hri_msgs)
or a ROS install; without it the ROS tests are skipped in one line (required in CI).
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import psutil
import pytest

from emotion_perception.io.camera_model import CameraModel
from emotion_perception.io.rep155 import (
    FaceIds,
    face_transform,
    normalized_landmarks,
    normalized_roi,
)
from emotion_perception.vision.face_crops import ALIGNED_EYES, aligned, cropped
from emotion_perception.vision.results import Box

from conftest import BIN, ROOT, optional_toolchain, spin_until

PROBES = ROOT / 'test' / 'probes.py'
needs_hri_msgs = optional_toolchain('hri_msgs (REP-155 messages)',
                                    importlib.util.find_spec('hri_msgs') is not None,
                                    'make ros-tools')
HRI_EXPRESSIONS = {'neutral', 'angry', 'sad', 'happy', 'surprised', 'disgusted', 'scared'}


def test_face_ids_are_short_unique_topic_names_and_differ_between_runs():
    ids = FaceIds()
    names = [ids(track) for track in range(100_000)]
    assert len(set(names)) == len(names)
    assert all(len(n) == 5 and n[0].isalpha() and n.isalnum() and n.islower() for n in names)
    assert FaceIds(offset=0)(7) != FaceIds(offset=1)(7)


def test_landmarks_map_onto_hri_indices_with_pupils_and_stay_normalized():
    points = np.random.default_rng(0).uniform(-20, 700, size=(68, 2)).astype(np.float32)
    out = normalized_landmarks(points, 640, 480)
    assert out.shape == (70, 2) and out.min() >= 0.0 and out.max() <= 1.0
    inside = np.clip(points, 0, (640, 480)) / (640, 480)
    assert np.allclose(out[:68], inside)
    assert np.allclose(out[68], np.clip(points[36:42].mean(0) / (640, 480), 0, 1))
    assert normalized_roi(Box(-10, 400, 100, 100), 640, 480) == (0.0, 400 / 480, 90 / 640, 1.0)


def test_aligned_puts_tilted_eyes_level_at_their_place_and_cropped_is_square():
    frame = np.zeros((480, 640, 3), np.uint8)
    points = np.zeros((68, 2), np.float32)
    points[36:42], points[42:48] = (300, 200), (360, 235)  # a head tilted by 30 degrees
    frame[198:203, 298:303] = (255, 0, 0)
    frame[233:238, 358:363] = (0, 0, 255)
    face = aligned(frame, points, size=128)
    blue = np.argwhere(face[:, :, 0] > 100).mean(axis=0)
    red = np.argwhere(face[:, :, 2] > 100).mean(axis=0)
    assert np.allclose(blue[::-1], np.array(ALIGNED_EYES[0]) * 128, atol=1.5)
    assert np.allclose(red[::-1], np.array(ALIGNED_EYES[1]) * 128, atol=1.5)
    assert cropped(frame, Box(600, 440, 80, 60), size=64).shape == (64, 64, 3)


@pytest.mark.parametrize('pose,gaze,up', [
    ((0, 0, 0), (0, 0, -1), (0, -1, 0)),  # looking into the camera: x towards it, z up
    ((30, 0, 0), (-0.5, 0, -0.866), (0, -1, 0)),  # turned to the image's left
    ((0, 30, 0), (0, -0.5, -0.866), (0, -0.866, 0.5)),  # looking up
    ((0, 0, 30), (0, 0, -1), (0.5, -0.866, 0)),  # tilted clockwise in the image
])
def test_face_frames_follow_rep155_axes_and_the_head_pose(pose, gaze, up):
    from scipy.spatial.transform import Rotation

    camera = CameraModel.from_fov(640, 480, 60.0)
    (x, y, z), quaternion = face_transform(Box(400, 120, 80, 80), *pose, camera)
    axes = Rotation.from_quat(quaternion).as_matrix()
    assert np.allclose(axes[:, 0], gaze, atol=1e-3) and np.allclose(axes[:, 2], up, atol=1e-3)
    # Without landmarks: 80 px of a 15 cm face at 60 degrees over 640 px: 1.04 m away, right
    # of and above centre.
    assert z == pytest.approx(554.26 * 0.15 / 80, rel=1e-3) and x > 0 and y < 0


def test_asked_for_without_hri_msgs_is_one_line_saying_how_to_get_it_and_exit_2():
    blocked = ("import sys; sys.modules['hri_msgs'] = sys.modules['hri_msgs.msg'] = None\n"
               "from emotion_perception.ros.nodes.hri import main; sys.exit(main())")
    proc = subprocess.run([sys.executable, '-c', blocked], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, ROS_DOMAIN_ID=_domain()))
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if 'ERROR' in line]
    assert proc.returncode == 2 and len(errors) == 1, proc.stdout + proc.stderr
    assert 'ros-$ROS_DISTRO-hri-msgs' in errors[0] and 'make ros-tools' in errors[0]


def _domain() -> str:
    return str(int(os.environ['ROS_DOMAIN_ID']) + 101)  # apart from the in-process tests


@pytest.fixture(scope='module')
def hri_graph(tmp_path_factory):
    """`emotion-perception run --hri` on the demo source, in a domain of its own."""
    env = dict(os.environ, ROS_DOMAIN_ID=_domain())
    log = tmp_path_factory.mktemp('hri') / 'run.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                                 '--hri', '--unity-port', '0', '--websocket-port', '-1',
                                 '--page-port', '-1'], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    yield env, log
    proc.send_signal(2)
    assert proc.wait(timeout=30) == 0
    assert 'Traceback' not in log.read_text()


@needs_hri_msgs
def test_a_ros4hri_consumer_follows_tracked_faces_and_reads_each_ones_topics(hri_graph):
    env, log = hri_graph
    probe = subprocess.run([sys.executable, str(PROBES), 'hri', '12'], env=env,
                           capture_output=True, text=True, timeout=90)
    seen = json.loads(probe.stdout.splitlines()[-1])
    assert seen['types']['/humans/faces/tracked'] == ['hri_msgs/msg/IdsList']
    assert len(seen['tracked']) >= 30, f'{len(seen["tracked"])} tracked lists in 12 s'
    last = seen['tracked'][-1]
    assert len(last) == 2, last  # the demo's two faces
    for face in last:
        topics = seen['faces'][face]
        assert set(topics) == {'roi', 'landmarks', 'expression', 'cropped', 'aligned'}, face
        xmin, ymin, xmax, ymax, c = topics['roi']['last']
        assert 0 <= xmin < xmax <= 1 and 0 <= ymin < ymax <= 1 and c == 1
        label, valence, arousal, confidence = topics['expression']['last']
        assert label in HRI_EXPRESSIONS and -1 <= valence <= 1 and -1 <= arousal <= 1
        assert 0 < confidence <= 1
        *points, size = topics['landmarks']['last']
        assert len(points) == 70 and size == [640, 480]
        assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y, _ in points)
        assert xmin <= points[30][0] <= xmax and ymin <= points[30][1] <= ymax  # nose tip
        assert topics['cropped']['last'] == topics['aligned']['last'] == [128, 128, 'bgr8']
        assert seen['types'][f'/humans/faces/{face}/expression'] == ['hri_msgs/msg/Expression']


def _face(track: int, x: int):
    from sensor_msgs.msg import RegionOfInterest

    from emotion_perception_msgs.msg import FaceExpression

    angles = np.linspace(0, 2 * np.pi, 68)
    ring = np.stack([x + 40 + 30 * np.cos(angles), 140 + 40 * np.sin(angles)], 1).reshape(-1)
    return FaceExpression(id=track, box=RegionOfInterest(x_offset=x, y_offset=100, width=80,
                                                         height=80),
                          expression_idx=3, expression='Happy', confidence=0.9,
                          scores=[0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.1], landmarks=ring.tolist(),
                          valence=0.7, arousal=0.3)


@needs_hri_msgs
def test_500_faces_coming_and_going_leave_publishers_and_memory_flat(ros_context):
    """One face arrives and one leaves every frame: their topics come and go with them."""
    from hri_msgs.msg import IdsList
    from rclpy.node import Node

    from emotion_perception_msgs.msg import FaceExpressionArray

    hri = subprocess.Popen([str(BIN / 'hri_node'), '--ros-args', '-r', '__ns:=/churn'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = Node('probe_churn')
    faces = probe.create_publisher(FaceExpressionArray, '/churn/faces', 10)
    tracked: list[list[str]] = []
    probe.create_subscription(IdsList, '/churn/humans/faces/tracked',
                              lambda m: tracked.append(list(m.ids)), 50)

    def hri_topics() -> set[str]:
        try:
            return {t for t, _ in probe.get_publisher_names_and_types_by_node('hri', '/churn')}
        except Exception:  # NodeNameNonExistentError until it is discovered
            return set()

    def face_ids(topics: set[str]) -> set[str]:
        return {t.split('/')[4] for t in topics if t.count('/') == 5}

    figures = {}
    try:
        spin_until([probe], lambda: faces.get_subscription_count() > 0
                   and '/churn/humans/faces/tracked' in hri_topics(), timeout=30)
        for frame in range(1, 502):
            faces.publish(FaceExpressionArray(image_width=640, image_height=480, frame=frame,
                                              faces=[_face(frame, 100), _face(frame + 1, 300)]))
            spin_until([probe], lambda: False, timeout=0.02)
            if frame in (100, 500):
                spin_until([probe], lambda: False, timeout=2.0)  # discovery catches up
                figures[frame] = (hri_topics(), psutil.Process(hri.pid).memory_info().rss)
        spin_until([probe], lambda: False, timeout=1.0)
    finally:
        hri.send_signal(2)
        hri.wait(timeout=30)
        probe.destroy_node()
    (early, rss_early), (late, rss_late) = figures[100], figures[500]
    assert len(early) == len(late), (sorted(early), sorted(late))
    assert len(face_ids(late)) == 2, sorted(late)  # the faces of frame 500 only
    assert rss_late - rss_early < 8e6, f'{(rss_late - rss_early) / 1e6:.1f} MB more'
    assert len(tracked) >= 450 and all(len(ids) == 2 for ids in tracked)
    # Each face is listed for its two frames, then never again.
    assert len({i for ids in tracked for i in ids}) >= 450
    assert all(set(a).isdisjoint(c) for a, c in zip(tracked, tracked[2:]))
