"""The foundation: messages over real DDS, model files, executables, launch file, lint."""

import ast
import importlib.metadata
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emotion_perception.ros.graph import NODES
from emotion_perception.vision.model_store import MODELS, sha256_of, verified_path

from conftest import ROOT, spin_until

BIN = Path(sys.executable).parent


def _filled_array():
    from sensor_msgs.msg import RegionOfInterest

    from emotion_perception_msgs.msg import FaceExpression, FaceExpressionArray

    msg = FaceExpressionArray(image_width=640, image_height=480, frame=12345678901)
    msg.header.stamp.sec, msg.header.stamp.nanosec = 1700000000, 123456789
    msg.header.frame_id = 'camera_optical'
    for k in range(2):
        msg.faces.append(FaceExpression(
            id=7 + k, box=RegionOfInterest(x_offset=10 + k, y_offset=20, width=30, height=40),
            expression_idx=FaceExpression.SURPRISE, expression='Surprise', confidence=0.75,
            scores=[0.01, 0.02, 0.03, 0.04, 0.05, 0.75, 0.10],
            landmarks=[float(v) for i in range(68) for v in (i, 2 * i)],
            has_head_pose=True, yaw=12.5, pitch=-3.25, roll=1.5, valence=0.25, arousal=-0.5))
    return msg


def test_face_expression_array_round_trip_over_dds(ros_context):
    from rclpy.node import Node

    from emotion_perception_msgs.msg import FaceExpression, FaceExpressionArray

    assert [FaceExpression.ANGRY, FaceExpression.HAPPY, FaceExpression.NEUTRAL,
            FaceExpression.NUM_EXPRESSIONS] == [0, 3, 6, 7]
    sent, received = _filled_array(), []
    talker, listener = Node('roundtrip_talker'), Node('roundtrip_listener')
    pub = talker.create_publisher(FaceExpressionArray, 'roundtrip_faces', 10)
    listener.create_subscription(FaceExpressionArray, 'roundtrip_faces', received.append, 10)
    spin_until([listener], lambda: received, timeout=10, each=lambda: pub.publish(sent))
    talker.destroy_node()
    listener.destroy_node()
    assert received, 'nothing arrived over DDS'
    got = received[0]
    assert got == sent
    # Landmarks are flat: x67, y67 are the last two values.
    assert got.faces[1].landmarks[-1] == 134.0 and got.faces[0].scores[5] == pytest.approx(0.75)


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m.name)
def test_model_files_match_their_checksums(model):
    path = verified_path(model)
    assert sha256_of(path) == model.sha256


def test_model_files_load():
    import cv2
    import dlib

    from emotion_perception.vision.classifier import ExpressionClassifier
    from emotion_perception.vision.model_store import FER, HAAR, LANDMARKS, TRAINED

    assert not cv2.CascadeClassifier(str(verified_path(HAAR))).empty()
    assert dlib.shape_predictor(str(verified_path(LANDMARKS))) is not None
    assert ExpressionClassifier(verified_path(FER)).input_size == 64
    assert ExpressionClassifier(verified_path(TRAINED)).input_size == 48


def test_corrupt_model_is_refused(tmp_path):
    from emotion_perception.vision.model_store import EMOTION, ModelError

    (tmp_path / EMOTION.name).write_bytes(b'truncated')
    with pytest.raises(ModelError, match='does not match its sha256'):
        verified_path(EMOTION, tmp_path)
    with pytest.raises(ModelError, match='is missing'):
        verified_path(MODELS[0], tmp_path)


def _console_scripts() -> set[str]:
    dist = importlib.metadata.distribution('emotion_perception')
    return {ep.name for ep in dist.entry_points if ep.group == 'console_scripts'}


def test_every_console_script_is_installed():
    scripts = _console_scripts()
    assert {'emotion-perception', 'camera_node', 'perception_node',
            'unity_bridge_node', 'recorder_node', 'hri_node'} <= scripts
    for name in scripts:
        assert (BIN / name).is_file(), f'{name} is not on the venv PATH'
    help_text = subprocess.run([str(BIN / 'emotion-perception'), '--help'],
                               capture_output=True, text=True, check=True).stdout
    for sub in ('models', 'process', 'evaluate', 'run'):
        assert sub in help_text


def test_launch_file_starts_the_graph_with_documented_arguments():
    source = (ROOT / 'launch' / 'bringup.launch.py').read_text()
    tree = ast.parse(source)
    imports = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               for a in n.names}
    assert ('emotion_perception.ros.graph', 'NODES') in imports
    assert 'executable=entry.executable' in source
    for entry in NODES:
        assert entry.executable in _console_scripts()
        assert entry.load().__name__ == entry.factory.split(':')[1]
    arguments = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                     and getattr(n.targets[0], 'id', '') == 'ARGUMENTS')
    declared = {entry.name: 'starts or skips a node' for entry in NODES}
    for item in arguments.left.elts:
        name, description = item.elts[0].value, item.elts[2].value
        declared[name] = description
        assert len(description) > 10, f'launch argument {name} needs a description'
    assert {'source', 'params_file', 'unity_host', 'unity_port', 'namespace', 'log_level',
            'debug_image'} <= set(declared)


@pytest.mark.parametrize('package_xml', ['package.xml', 'emotion_perception_msgs/package.xml'])
def test_package_manifests(package_xml):
    root = ET.parse(ROOT / package_xml).getroot()
    assert root.get('format') == '3'
    build_type = root.find('export/build_type').text
    assert build_type == ('ament_python' if package_xml == 'package.xml' else 'ament_cmake')
    assert (ROOT / 'resource' / 'emotion_perception').is_file()


def test_lint():
    proc = subprocess.run([str(BIN / 'ruff'), 'check', 'emotion_perception', 'test', 'launch',
                           'benchmarks', 'tools', 'setup.py'], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: rosdep keys of the third-party modules the package imports (std library excluded).
ROSDEP_KEYS = {
    'ament_index_python': 'ament_index_python', 'builtin_interfaces': 'builtin_interfaces',
    'cv2': 'python3-opencv', 'cv_bridge': 'cv_bridge', 'diagnostic_msgs': 'diagnostic_msgs',
    'dlib': 'python3-dlib-pip',
    'emotion_perception_msgs': 'emotion_perception_msgs', 'geometry_msgs': 'geometry_msgs',
    'keras': 'python-keras-pip', 'numpy': 'python3-numpy', 'rcl_interfaces': 'rcl_interfaces',
    'rclpy': 'rclpy', 'rosbags': 'python3-rosbags-pip', 'sensor_msgs': 'sensor_msgs',
    'skimage': 'python3-skimage', 'std_msgs': 'std_msgs', 'std_srvs': 'std_srvs',
    'tensorflow': 'python-tensorflow-pip',
    'tqdm': 'python3-tqdm', 'yaml': 'python3-yaml', 'launch': 'launch',
    'launch_ros': 'launch_ros', 'websockets': 'python3-websockets', 'mcap': 'python3-mcap-pip',
    'ai_edge_litert': 'python3-ai-edge-litert-pip', 'pythonosc': 'python3-python-osc-pip',
    'psutil': 'python3-psutil', 'foxglove_msgs': 'foxglove_msgs', 'scipy': 'python3-scipy',
    'tf2_ros': 'tf2_ros',
}


def test_package_xml_declares_every_import():
    imported = set()
    for path in [*(ROOT / 'emotion_perception').rglob('*.py'), *(ROOT / 'launch').glob('*.py')]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split('.')[0])
    third_party = imported - set(sys.stdlib_module_names) - {'emotion_perception'}
    unknown = third_party - set(ROSDEP_KEYS)
    assert not unknown, f'add a rosdep key for {unknown} here and in package.xml'
    root = ET.parse(ROOT / 'package.xml').getroot()
    declared = {e.text for e in root if e.tag in ('depend', 'exec_depend')}
    missing = {ROSDEP_KEYS[m] for m in third_party} - declared
    assert not missing, f'package.xml does not declare {missing}'
