"""OSC out: the bridge's bundles, read by two independent receivers.

A real unity_bridge node gets scripted `faces` messages over DDS and sends OSC to a
python-osc server, to liblo's `oscdump` (another implementation, Debian's liblo-tools), and
to a port where nothing listens, which must cost one log line and nothing else.
"""

import re
import shutil
import socket
import subprocess
import threading
import time

import pytest
from made_faces import made_face

from emotion_perception.io.outputs.osc import ADDRESSES
from emotion_perception.vision.results import FrameResult

from conftest import ROOT, optional_toolchain, spin_until

OSCDUMP = shutil.which('oscdump')
#: OSC type tag -> the Python type python-osc decodes it to.
PY_TYPES = {'i': int, 'f': float, 's': str}


def _script() -> list[FrameResult]:
    """Two faces; then 1 changes expression, 2 leaves and 3 takes its slot; then nobody."""
    frames = []
    for i in range(30):
        if i < 10:
            faces = [made_face(1, 3, 50), made_face(2, 4, 300)]
        elif i < 20:
            faces = [made_face(1, 5, 60), made_face(3, 6, 320, pose=False)]
        else:
            faces = []
        frames.append(FrameResult(i, i / 30, 640, 480, faces))
    return frames


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture()
def receivers(ros_context):
    """A python-osc server and (where installed) oscdump, each on its own port."""
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import ThreadingOSCUDPServer

    got: list[tuple[str, tuple]] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: got.append((address, args)))
    server = ThreadingOSCUDPServer(('127.0.0.1', 0), dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dump, dump_port = None, _free_udp_port()
    if OSCDUMP:
        dump = subprocess.Popen([OSCDUMP, '-L', str(dump_port)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        time.sleep(0.3)
    yield got, server.server_address[1], dump, dump_port
    server.shutdown()
    server.server_close()
    if dump:
        dump.kill()


def _bridge_run(targets: str, frames: list[FrameResult]) -> list[str]:
    """A unity_bridge node sending OSC to `targets`, fed `frames` over DDS; its log lines."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from std_msgs.msg import Header

    from emotion_perception.ros.conversions import result_to_msg
    from emotion_perception.ros.nodes.unity_bridge import UnityBridgeNode
    from emotion_perception_msgs.msg import FaceExpressionArray

    bridge = UnityBridgeNode(namespace='osc', parameter_overrides=[
        Parameter('port', value=0), Parameter('websocket_port', value=-1),
        Parameter('osc_targets', value=targets)])
    lines: list[str] = []
    warn = bridge.get_logger().warning
    bridge._osc._throttle._log = lambda message: (lines.append(message), warn(message))
    feeder = Node('osc_feeder', namespace='osc')
    pub = feeder.create_publisher(FaceExpressionArray, 'faces', 10)
    spin_until([bridge, feeder], lambda: pub.get_subscription_count() > 0, 10)
    try:
        for frame in frames:
            pub.publish(result_to_msg(frame, Header()))
            spin_until([bridge, feeder], lambda: False, 0.05)
        spin_until([bridge, feeder], lambda: bridge._osc.stats.bundles >= len(frames), 10)
    finally:
        bridge.destroy_node()
        feeder.destroy_node()
    return lines


def _expected(frames_seen: list[tuple[str, tuple]]) -> None:
    """Every row of ADDRESSES arrived for slot 1 or 2, with its type."""
    types = {}
    for address, args in frames_seen:
        types.setdefault(re.sub(r'^/face/\d+/', '/face/N/', address), set()).update(
            type(a) for a in args)
    for address, kind, _, _ in ADDRESSES:
        if address == '/status':
            continue  # opening hours: test_schedule.py
        assert types.get(address) == {PY_TYPES[kind]}, (address, types.get(address))


def test_every_address_reaches_two_receivers_and_a_dead_target_costs_one_line(receivers):
    got, port, dump, dump_port = receivers
    dead = _free_udp_port()
    frames = _script()
    targets = f'127.0.0.1:{port},127.0.0.1:{dead}' + (f',127.0.0.1:{dump_port}' if dump else '')
    lines = _bridge_run(targets, frames)
    deadline = time.monotonic() + 5
    while sum(a == '/frame' for a, _ in got) < len(frames) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [args[0] for a, args in got if a == '/frame'] == list(range(len(frames)))
    _expected(got)
    events = [(a, args[0]) for a, args in got if a.split('/')[-1] in
              ('appeared', 'changed', 'left')]
    assert events == [('/face/1/appeared', 1), ('/face/2/appeared', 2),  # frame 0
                      ('/face/2/left', 2), ('/face/2/appeared', 3),  # frame 10: slot reused
                      ('/face/1/changed', 'Surprise'),
                      ('/face/1/left', 1), ('/face/2/left', 3)]  # frame 20: nobody
    rooms = [args[0] for a, args in got if a == '/room/dominant']
    assert rooms[0] in ('Happy', 'Sad') and rooms[-1] == 'none'
    assert [args[0] for a, args in got if a == '/face/1/x'][0] == pytest.approx(50 / 640)
    assert len(lines) == 1 and f'127.0.0.1:{dead}' in lines[0], lines
    if dump:
        time.sleep(0.5)
        dump.kill()
        out = dump.communicate(timeout=5)[0]
        dumped = []
        for row in out.splitlines():
            _, address, types, *values = row.split(' ', 3)
            value = values[0].strip('"') if values else ''
            dumped.append((address, (PY_TYPES[types](value),)))
        assert sum(a == '/frame' for a, _ in dumped) == len(frames)
        _expected(dumped)


@optional_toolchain('liblo-tools (oscdump)', OSCDUMP is not None,
                    'apt-get install liblo-tools')
def test_oscdump_is_there_to_check_against():
    assert subprocess.run([OSCDUMP, '-h'], capture_output=True).returncode in (0, 1)


def test_an_unresolvable_target_stops_the_bridge_with_one_line():
    proc = subprocess.run([str(ROOT / '.venv/bin/unity_bridge_node'), '--ros-args', '-p',
                           'port:=0', '-p', 'websocket_port:=-1', '-p',
                           'osc_targets:=no-such-host.invalid:9000'],
                          capture_output=True, text=True, timeout=60)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if 'ERROR' in line]
    assert proc.returncode == 2 and len(errors) == 1 and 'cannot resolve' in errors[0]
