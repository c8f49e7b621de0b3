"""The node graph with real rclpy nodes over DDS and real TCP clients."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ROOT, spin_until

BIN = Path(sys.executable).parent
#: What a full-stream client says first (a silent one is taken for an original-script scene).
HELLO = b'{"type":"hello","schemaVersion":1}\n'


@pytest.fixture(scope='module')
def graph(ros_context):
    """Camera (demo) -> perception -> unity_bridge (free port), spinning in a thread."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from emotion_perception.ros.graph import NODES

    overrides = {'camera': [Parameter('source', value='demo')],
                 'unity_bridge': [Parameter('port', value=0), Parameter('queue_size', value=2),
                                  Parameter('websocket_port', value=0)]}
    nodes = {e.name: e.load()(parameter_overrides=overrides.get(e.name, [])) for e in NODES}
    executor = SingleThreadedExecutor()
    for node in nodes.values():
        executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield nodes
    executor.shutdown()
    for node in nodes.values():
        node.destroy_node()


class Client:
    """A Unity stand-in: says hello, then reads JSON lines from the bridge."""

    def __init__(self, port: int, rcvbuf: int = 0, read_hello: bool = True) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(('127.0.0.1', port))
        self.sock.sendall(HELLO)
        self.sock.settimeout(20)
        self.file = self.sock.makefile('rb')
        self.hello = self.line() if read_hello else None

    def line(self) -> dict:
        """The next JSON line."""
        return json.loads(self.file.readline())

    def faces_within(self, seconds: float) -> list[dict]:
        """All lines that arrive within `seconds`."""
        lines, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            lines.append(self.line())
        return lines

    def close(self) -> None:
        """Hang up."""
        self.file.close()
        self.sock.close()


def _first_happy(client: Client, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = client.line()
        if obj['faceCount'] and obj['faces'][0]['expression'] == 'Happy':
            return obj
    raise AssertionError('no Happy face within the timeout')


def test_client_gets_hello_then_seed_schema_lines_with_a_happy_face(graph):
    client = Client(graph['unity_bridge'].port)
    hello = client.hello
    assert hello['type'] == 'hello' and hello['schemaVersion'] == 1
    obj = _first_happy(client)
    face = obj['faces'][0]
    assert {'faceCount', 'faces', 'frame', 'stamp'} <= set(obj)
    assert {'expressionIdx', 'expression', 'position', 'id', 'confidence', 'scores'} <= set(face)
    assert set(face['position']) == {'x', 'y', 'width', 'height'}
    assert face['expressionIdx'] == 3 and obj['faceCount'] == 2
    assert abs(time.time() - obj['stamp']) < 5.0, 'stamp is the camera time of the frame'
    client.close()


def test_two_clients_at_once_get_the_same_stream(graph):
    a, b = Client(graph['unity_bridge'].port), Client(graph['unity_bridge'].port)
    _first_happy(a)
    _first_happy(b)
    frames_a = {o['frame'] for o in a.faces_within(3.0)}
    frames_b = {o['frame'] for o in b.faces_within(1.0)}
    assert len(frames_a) >= 20
    assert len(frames_a & frames_b) >= 10
    a.close()
    b.close()


def test_clients_that_connect_and_disconnect_in_a_loop(graph):
    port, before = graph['unity_bridge'].port, graph['unity_bridge']._server.stats.connections
    for i in range(30):
        client = Client(port, read_hello=bool(i % 2))
        client.close()
    survivor = Client(port)
    _first_happy(survivor)
    assert graph['unity_bridge']._server.stats.connections >= before + 31
    survivor.close()


def test_a_client_that_never_reads_does_not_slow_another(graph):
    port, stats = graph['unity_bridge'].port, graph['unity_bridge']._server.stats
    stuck = Client(port, rcvbuf=4096, read_hello=False)
    reader = Client(port)
    _first_happy(reader)
    time.sleep(3.0)  # the stuck client's buffers fill up meanwhile
    dropped_before = stats.dropped
    lines = reader.faces_within(3.0)
    assert len(lines) >= 30, f'reader got only {len(lines)} lines in 3 s'
    assert stats.dropped > dropped_before, 'the stuck client should be losing old lines'
    stuck.close()
    reader.close()


def test_a_client_that_sends_garbage_is_ignored(graph):
    port = graph['unity_bridge'].port
    noisy, quiet = Client(port), Client(port)
    noisy.sock.sendall(b'\xff\xfe garbage {"not": json\n' * 1000)
    assert _first_happy(noisy)['faceCount'] == 2
    assert len(quiet.faces_within(2.0)) >= 10
    noisy.close()
    quiet.close()


def test_a_client_flooding_garbage_is_held_back_and_costs_the_others_nothing(graph):
    port = graph['unity_bridge'].port
    quiet = Client(port)
    flooder = socket.create_connection(('127.0.0.1', port))
    flooder.settimeout(0.2)
    garbage, sent, started = os.urandom(65536), 0, time.monotonic()
    while time.monotonic() - started < 3.0:
        try:
            sent += flooder.send(garbage)
        except TimeoutError:
            pass
    # Read at full speed, loopback would take hundreds of MB in 3 s; held back, the
    # flooder fills its own send buffer (4 MB at most here) and our small receive buffer.
    assert sent < 8_000_000, f'{sent / 1e6:.1f} MB taken in 3 s'
    assert len(quiet.faces_within(2.0)) >= 10
    assert graph['unity_bridge']._server.stats.garbage > 0
    flooder.close()
    quiet.close()


def test_debug_image_and_diagnostics(graph):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    probe = Node('probe_debug')
    images, statuses = [], []
    probe.create_subscription(Image, 'debug_image', images.append, qos_profile_sensor_data)
    probe.create_subscription(DiagnosticArray, '/diagnostics',
                              lambda m: statuses.extend(m.status), 10)
    def names() -> set:
        return {s.name.split(':')[0] for s in statuses}

    def latency(node: str) -> dict[str, float]:
        """The node's latest latency distribution, once it has samples."""
        for status in reversed(statuses):
            values = {kv.key: kv.value for kv in status.values}
            if status.name.startswith(node) and 'latency_p99_ms' in values:
                return {k: float(v) for k, v in values.items() if k.startswith('latency_')}
        return {}

    spin_until([probe], lambda: images and len(names()) == 3 and latency('perception')
               and latency('unity_bridge'), timeout=15)
    probe.destroy_node()
    assert images and images[0].encoding == 'bgr8' and images[0].width == 640
    assert names() == {'camera', 'perception', 'unity_bridge'}
    perception = next(s for s in statuses if s.name.startswith('perception'))
    assert {'rate_hz', 'dropped'} <= {kv.key for kv in perception.values}
    for node in ('perception', 'unity_bridge'):
        figures = latency(node)
        assert 0 < figures['latency_p50_ms'] <= figures['latency_p99_ms'] \
            <= figures['latency_max_ms'] < 10_000, figures
        assert figures['latency_samples_10s'] >= 5, figures


def test_nodes_and_topic_are_visible_to_another_process(graph):
    script = (
        'import json, time, rclpy\n'
        'from rclpy.node import Node\n'
        'rclpy.init(); n = Node("observer"); deadline = time.monotonic() + 30\n'
        '# Discovery takes a moment, longer on a loaded machine: wait for the graph.\n'
        'seen = lambda: ({"camera", "perception", "unity_bridge"} <= set(n.get_node_names())'
        ' and {"/faces", "/image_raw"} <= set(dict(n.get_topic_names_and_types())))\n'
        'while time.monotonic() < deadline and not seen():\n'
        '    time.sleep(0.2)\n'
        'print(json.dumps({"nodes": n.get_node_names(),'
        ' "topics": dict(n.get_topic_names_and_types())}))\n'
        'n.destroy_node(); rclpy.shutdown()\n')
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy())
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {'camera', 'perception', 'unity_bridge'} <= set(seen['nodes'])
    assert seen['topics']['/faces'] == ['emotion_perception_msgs/msg/FaceExpressionArray']
    assert seen['topics']['/image_raw'] == ['sensor_msgs/msg/Image']


def test_perception_copies_the_header_and_rejects_unsupported_encodings(graph, astronaut):
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from emotion_perception.ros.conversions import array_to_image
    from emotion_perception.ros.nodes.perception import PerceptionNode
    from emotion_perception_msgs.msg import FaceExpressionArray

    perception = PerceptionNode(namespace='enc')
    probe = Node('probe_enc')
    pub = probe.create_publisher(Image, '/enc/image_raw', qos_profile_sensor_data)
    results = []
    probe.create_subscription(FaceExpressionArray, '/enc/faces', results.append, 10)
    bad = Image(height=4, width=4, encoding='16UC1', step=8, data=bytes(32))
    good = array_to_image(cv2.resize(astronaut, (320, 320)), bad.header)
    good.header.stamp.sec, good.header.stamp.nanosec = 1234, 5678
    good.header.frame_id = 'lab_camera'
    spin_until([perception, probe], lambda: perception._rejected, 10,
               each=lambda: pub.publish(bad))
    rejected = perception._rejected
    spin_until([perception, probe], lambda: results, 20, each=lambda: pub.publish(good))
    perception.destroy_node()
    probe.destroy_node()
    assert results, 'perception stopped after an unsupported encoding'
    msg = results[0]
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1234, 5678)
    assert msg.header.frame_id == 'lab_camera' and (msg.image_width, msg.image_height) == (320,
                                                                                             320)
    assert msg.faces[0].expression == 'Happy' and len(msg.faces[0].landmarks) == 136
    assert rejected >= 1


def test_parameters_change_at_run_time_and_bad_values_are_refused(graph):
    from rclpy.parameter import Parameter

    perception = graph['perception']
    ok = perception.set_parameters([Parameter('min_neighbors', value=4),
                                    Parameter('smoothing', value=0.3)])
    assert all(r.successful for r in ok)
    assert perception._pipeline.config.detector.min_neighbors == 4
    assert perception._pipeline.config.tracker.smoothing == 0.3
    bad = perception.set_parameters([Parameter('smoothing', value=1.5)])
    assert not bad[0].successful
    assert perception._pipeline.config.tracker.smoothing == 0.3


def _run_node(executable: str, *ros_args: str, seconds: float) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([str(BIN / executable), '--ros-args', *ros_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_missing_video_is_one_clear_line_and_the_camera_keeps_retrying():
    proc = _run_node('camera_node', '-p', 'source:=/no/such/video.mp4',
                     '-p', 'retry_period:=0.2', seconds=4)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if 'ERROR' in line]
    assert len(errors) == 1, errors
    assert 'video file not found: /no/such/video.mp4' in errors[0]
    assert proc.returncode == 0, 'still running until Ctrl-C, then a clean exit'


@pytest.mark.parametrize('executable,param,message', [
    ('perception_node', 'smoothing:=5.0', 'smoothing'),
    ('unity_bridge_node', 'port:=70000', 'port'),
    ('camera_node', 'rate:=fast', 'rate'),
    ('camera_node', 'schedule:=Mo 9-18', 'schedule rule'),
    ('camera_node', 'camera_info_url:=/no/such/head.yaml', 'cannot read camera calibration'),
    ('camera_node', 'camera_info_url:=package://robot/head.yaml', 'only file:// URLs'),
    ('unity_bridge_node', 'osc_targets:=localhost', 'OSC target'),
])
def test_a_bad_parameter_value_is_one_clear_error(executable, param, message):
    proc = _run_node(executable, '-p', param, seconds=60)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if 'ERROR' in line]
    assert proc.returncode == 2
    assert len(errors) == 1 and message in errors[0], proc.stderr


def test_camera_publishes_bgr8_from_an_image_folder(tmp_path, astronaut, ros_context):
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from emotion_perception.ros.conversions import image_to_array
    from emotion_perception.ros.nodes.camera import CameraNode

    cv2.imwrite(str(tmp_path / 'a.png'), astronaut)
    camera = CameraNode(namespace='folder', parameter_overrides=[
        Parameter('source', value=str(tmp_path)), Parameter('width', value=0),
        Parameter('height', value=0), Parameter('frame_id', value='folder_cam')])
    probe = Node('probe_folder')
    got = []
    probe.create_subscription(Image, '/folder/image_raw', got.append, qos_profile_sensor_data)
    spin_until([probe], lambda: got, timeout=10)
    camera.destroy_node()
    probe.destroy_node()
    assert got and got[0].encoding == 'bgr8' and got[0].header.frame_id == 'folder_cam'
    assert np.array_equal(image_to_array(got[0]), astronaut)


def test_run_serves_unity_and_stops_cleanly_on_ctrl_c(tmp_path):
    log = tmp_path / 'run.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                                 '--unity-port', '0', '--websocket-port', '-1'], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while 'serving Unity on' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        port = int(text.split('serving Unity on 127.0.0.1:')[1].split()[0])
        client = Client(port)
        assert _first_happy(client)['faceCount'] == 2
        client.close()
        # The camera and the bridge start in parallel, in two processes that share the
        # log: the source line is certain only once faces have arrived, give or take the
        # order in which the two processes' lines reach the file.
        deadline = time.monotonic() + 10
        while 'publishing demo' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert 'publishing demo' in log.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0
    assert 'Traceback' not in log.read_text()


def test_run_with_malformed_yaml_is_one_clear_error(tmp_path):
    bad = tmp_path / 'params.yaml'
    bad.write_text('camera:\n  ros__parameters:\n    source: [demo\n')
    proc = subprocess.run([str(BIN / 'emotion-perception'), 'run', '--params', str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count('\n') == 0 and 'not valid YAML at line' in proc.stderr


def test_frame_numbers_images_as_they_arrive_so_gaps_show_skipped_ones(ros_context, astronaut):
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from emotion_perception.ros.conversions import array_to_image
    from emotion_perception.ros.nodes.perception import PerceptionNode
    from emotion_perception_msgs.msg import FaceExpressionArray

    perception = PerceptionNode(namespace='burst')
    probe = Node('probe_burst')
    pub = probe.create_publisher(Image, '/burst/image_raw', qos_profile_sensor_data)
    results = []
    probe.create_subscription(FaceExpressionArray, '/burst/faces', results.append, 100)
    image = array_to_image(cv2.resize(astronaut, (640, 480)), Header(frame_id='burst'))
    spin_until([perception, probe], lambda: results, 30, each=lambda: pub.publish(image))
    results.clear()
    for _ in range(3):  # bursts faster than perception: it skips to the newest image
        for _ in range(10):
            pub.publish(image)
        spin_until([perception, probe], lambda: False, 1.0)
    spin_until([perception, probe], lambda: False, 1.0)
    perception.destroy_node()
    probe.destroy_node()
    frames = [m.frame for m in results]
    assert frames == sorted(set(frames)), frames
    gaps = sum(b - a - 1 for a, b in zip(frames, frames[1:]))
    assert gaps > 0 and frames[-1] == perception._received - 1, (frames, perception._received)
    assert perception._dropped >= gaps


def test_raw_images_reach_a_subscriber_in_another_process_whole(ros_context):
    """The package's Fast DDS profile: 640x480 bgr8 at 30 fps, none lost across processes.

    Without it (Fast DDS's 512 KiB shared-memory segment) 7 of 300 arrived here.
    """
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    camera = subprocess.Popen([str(BIN / 'camera_node'), '--ros-args', '-r', '__ns:=/whole',
                               '-p', 'source:=demo'], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    probe = Node('probe_whole')
    frames: list[int] = []
    probe.create_subscription(Image, '/whole/image_raw',
                              lambda m: frames.append(len(m.data)),
                              QoSProfile(depth=30, reliability=ReliabilityPolicy.BEST_EFFORT))
    try:
        spin_until([probe], lambda: len(frames) >= 5, timeout=30)
        first = len(frames)
        spin_until([probe], lambda: False, timeout=5.0)
    finally:
        camera.send_signal(signal.SIGINT)
        camera.wait(timeout=30)
        probe.destroy_node()
    received = len(frames) - first
    assert received >= 0.9 * 5 * 30, f'{received} of about 150 raw images in 5 s'
    assert set(frames) == {640 * 480 * 3}


def test_the_dds_profile_gives_way_to_the_users_own_configuration(monkeypatch):
    from emotion_perception.ros.main import DDS_USER_CONFIG, dds_profile

    for name in DDS_USER_CONFIG:  # empty = unset; monkeypatch restores them afterwards
        monkeypatch.setenv(name, '')
    monkeypatch.setenv('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    monkeypatch.delenv('RMW_FASTRTPS_PUBLICATION_MODE', raising=False)
    assert dds_profile() == str(ROOT / 'config' / 'fastdds.xml')
    assert 'RMW_FASTRTPS_PUBLICATION_MODE' not in os.environ  # no images: Fast DDS's default
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', '')  # as a new process starts
    assert dds_profile(asynchronous=True)
    assert os.environ['RMW_FASTRTPS_PUBLICATION_MODE'] == 'ASYNCHRONOUS'
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', '')
    monkeypatch.setenv('RMW_FASTRTPS_PUBLICATION_MODE', 'SYNCHRONOUS')  # the user's choice
    assert dds_profile(asynchronous=True)
    assert os.environ['RMW_FASTRTPS_PUBLICATION_MODE'] == 'SYNCHRONOUS'
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', '/site/dds.xml')
    assert dds_profile() is None and os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] == '/site/dds.xml'
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', '')
    monkeypatch.setenv('FASTDDS_BUILTIN_TRANSPORTS', 'UDPv4')
    assert dds_profile() is None and not os.environ['FASTDDS_DEFAULT_PROFILES_FILE']
    monkeypatch.setenv('FASTDDS_BUILTIN_TRANSPORTS', '')
    monkeypatch.setenv('RMW_IMPLEMENTATION', 'rmw_cyclonedds_cpp')
    assert dds_profile() is None
