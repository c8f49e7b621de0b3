"""`ros2 launch emotion_perception bringup.launch.py` for real, as a ROS user runs it.

Both packages are built with colcon into an install space exactly as the README tells ROS
users; the upstream `ros2` command (../shared/ros-tools, `make ros-tools`) stands in for
a ROS install. Checked with the real `ros2` CLI and real TCP clients.
"""

import collections
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN, ROOT, optional_toolchain, write_demo_video

pytestmark = optional_toolchain(
    'ROS 2 launch and CLI tools', (BIN / 'ros2').is_file()
    and importlib.util.find_spec('launch_ros') is not None, 'make ros-tools')


@pytest.fixture(scope='module')
def ros_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a shell that sourced a workspace built as the README says."""
    ws = tmp_path_factory.mktemp('ros2_ws')
    (ws / 'src').mkdir()
    (ws / 'src' / 'emotion_perception').symlink_to(ROOT)
    venv = str(BIN.parent)
    # The venv plays the part of /opt/ros/kilted: its wheels install the ament index there.
    underlay = dict(os.environ, PATH=f'{BIN}:{os.environ["PATH"]}', AMENT_PREFIX_PATH=venv,
                    CMAKE_PREFIX_PATH=venv)
    build = subprocess.run(
        [str(BIN / 'colcon'), 'build', '--paths', 'src/emotion_perception',
         'src/emotion_perception/emotion_perception_msgs',
         '--cmake-args', '-DBUILD_TESTING=OFF', f'-DPython3_EXECUTABLE={BIN / "python"}'],
        cwd=ws, env=underlay, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    sourced = subprocess.run(['bash', '-c', 'source install/setup.bash && env -0'], cwd=ws,
                             env=underlay, capture_output=True, check=True, timeout=60)
    env = dict(item.split('=', 1) for item in sourced.stdout.decode().split('\0') if '=' in item)
    yield env
    subprocess.run([str(BIN / 'ros2'), 'daemon', 'stop'], env=env, capture_output=True,
                   timeout=30)


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> Path:
    """Six seconds of the demo scene (two moving astronaut faces) at 30 fps."""
    return write_demo_video(tmp_path_factory.mktemp('video') / 'faces.avi', 180)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Launch:
    """`ros2 launch` in its own process group, as a terminal runs it; output collected."""

    def __init__(self, env: dict[str, str], *arguments: str) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / 'ros2'), 'launch', 'emotion_perception', 'bringup.launch.py',
             'websocket_port:=0', *arguments], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return ''.join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60.0, count: int = 1) -> re.Match:
        """The `count`-th match of `pattern` in the output; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matches = list(re.finditer(pattern, self.output))
            if len(matches) >= count:
                return matches[count - 1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f'no {pattern!r} within {timeout} s:\n{self.output}')

    def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl-C as a terminal sends it (to the whole group); the launch's exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        """The exit code once the launch has ended; killed (and failed) after `timeout`."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise
        self._reader.join(timeout=5)
        return code


def ros2(env: dict[str, str], *args: str) -> str:
    """Run the real `ros2` command; its standard output."""
    proc = subprocess.run([str(BIN / 'ros2'), *args], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, f'ros2 {" ".join(args)}: {proc.stdout}{proc.stderr}'
    return proc.stdout


def until(check, timeout: float = 30.0):
    """Retry `check()` until it returns a true value (discovery takes a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f'{check} not true within {timeout} s')
        time.sleep(0.5)


def unity_lines(port: int, count: int, timeout: float = 60.0) -> list[dict]:
    """The first `count` JSON lines a Unity client gets on `port` (connecting as it can)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with sock, sock.makefile('rb') as stream:
        sock.sendall(b'{"type":"hello"}\n')
        return [json.loads(stream.readline()) for _ in range(count)]


def typical_face_count(frames: list[dict]) -> int:
    """The face count most frames have (a passing false detection does not change it)."""
    return collections.Counter(f['faceCount'] for f in frames).most_common(1)[0][0]


#: What `ros2 launch` itself (launch 3.7.1) may print on Ctrl-C: it leaves Python's default
#: SIGINT handler in place and catches the KeyboardInterrupt wherever it lands, but one that
#: lands in a weakref callback is only printed as ignored. Unprefixed lines: the launch
#: process, not a node (node lines start with `[name-N]`).
LAUNCH_OWN_INTERRUPT = re.compile(
    r'^Exception ignored in: [^\n]*\n(?:(?!\[)[^\n]*\n)*?KeyboardInterrupt: *\n', re.MULTILINE)


def without_launch_interrupt(output: str) -> str:
    """The output without the launch process's own ignored KeyboardInterrupt."""
    return LAUNCH_OWN_INTERRUPT.sub('', output)


def assert_clean_exit(launch: Launch, code: int) -> None:
    """Launch and every node exited 0, with no traceback or C++ abort on the way."""
    out = without_launch_interrupt(launch.output)
    assert code == 0, out
    assert 'Traceback' not in out and 'terminate called' not in out, out
    for noise in ('oneDNN', 'absl::', 'cpu_feature_guard', '[ WARN'):
        assert noise not in out, f'start-up noise {noise!r} in the launch output:\n{out}'
    started = re.findall(r'\[INFO\] \[(\S+)\]: process started', out)
    for process in started:
        assert f'[INFO] [{process}]: process has finished cleanly' in out, out


@pytest.fixture
def custom_params(tmp_path) -> tuple[Path, int]:
    """A params_file whose values differ from the code's defaults, and its Unity port."""
    port = free_port()
    path = tmp_path / 'site.yaml'
    path.write_text(f'''
camera:
  ros__parameters:
    frame_id: site_camera
    retry_period: 1.5
perception:
  ros__parameters:
    max_missed: 12
    smoothing: 0.25
unity_bridge:
  ros__parameters:
    port: {port}
''')
    return path, port


@pytest.mark.parametrize('namespace', ['', 'robot1'], ids=['no-namespace', 'namespace'])
def test_bringup_with_params_file_remaps_and_clean_ctrl_c(ros_env, video, custom_params,
                                                          namespace):
    params, port = custom_params
    ns = f'/{namespace}' if namespace else ''
    launch = Launch(ros_env, f'source:={video}', f'params_file:={params}',
                    *([f'namespace:={namespace}'] if namespace else []),
                    'image_topic:=cam/image', 'faces_topic:=people/faces', 'debug_image:=true')
    try:
        launch.wait_for(r'ready: \S+ -> \S+')
        assert f'ready: {ns}/cam/image -> {ns}/people/faces' in launch.output
        nodes = until(lambda: {f'{ns}/camera', f'{ns}/perception', f'{ns}/unity_bridge'}
                      <= set(ros2(ros_env, 'node', 'list').split()))
        assert nodes
        topics = until(lambda: f'{ns}/debug_image' in (out := ros2(ros_env, 'topic', 'list',
                                                                   '-t')) and out)
        assert f'{ns}/cam/image [sensor_msgs/msg/Image]' in topics
        assert f'{ns}/people/faces [emotion_perception_msgs/msg/FaceExpressionArray]' in topics
        assert f'{ns}/debug_image [sensor_msgs/msg/Image]' in topics
        names = {line.split()[0] for line in topics.splitlines()}
        assert f'{ns}/image_raw' not in names and f'{ns}/faces' not in names, topics

        def param(node: str, name: str) -> str:
            return ros2(ros_env, 'param', 'get', f'{ns}/{node}', name).strip()
        assert param('camera', 'frame_id') == 'String value is: site_camera'
        assert param('camera', 'retry_period') == 'Double value is: 1.5'
        assert param('perception', 'max_missed') == 'Integer value is: 12'
        assert param('perception', 'smoothing') == 'Double value is: 0.25'
        assert param('unity_bridge', 'port') == f'Integer value is: {port}'

        hello, *frames = unity_lines(port, 30)
        assert hello['type'] == 'hello'
        assert typical_face_count(frames) == 2
        def echo(topic: str, field: str) -> str:
            return ros2(ros_env, 'topic', 'echo', '--once', '--no-lost-messages', '--field',
                        field, f'{ns}/{topic}').split()[0]
        assert echo('people/faces', 'header.frame_id') == 'site_camera'
        assert echo('debug_image', 'encoding') == 'bgr8'

        refused = subprocess.run([str(BIN / 'ros2'), 'param', 'set', f'{ns}/perception',
                                  'min_neighbors', 'many'], env=ros_env, capture_output=True,
                                 text=True, timeout=60)
        assert "min_neighbors must be an integer, got 'many'" in refused.stdout + refused.stderr
        never_reads = socket.create_connection(('127.0.0.1', port))  # attached at Ctrl-C
        time.sleep(1.0)
    finally:
        code = launch.interrupt()
    never_reads.close()
    assert_clean_exit(launch, code)


def test_a_crashed_node_is_respawned(ros_env, video):
    port = free_port()
    launch = Launch(ros_env, f'source:={video}', f'unity_port:={port}', 'respawn_delay:=0.5')
    try:
        pid = int(launch.wait_for(r'\[perception_node-\d+\]: process started with pid '
                                  r'\[(\d+)\]').group(1))
        launch.wait_for('ready: ')
        os.kill(pid, signal.SIGKILL)
        launch.wait_for(r'\[perception_node-\d+\]: process started with pid', count=2)
        launch.wait_for('ready: ', count=2)
        assert typical_face_count(unity_lines(port, 31)[1:]) == 2
    finally:
        code = launch.interrupt()
    assert code == 0 and 'Traceback' not in without_launch_interrupt(launch.output), \
        launch.output


def test_without_respawn_a_crash_stops_the_whole_launch(ros_env, video):
    launch = Launch(ros_env, f'source:={video}', f'unity_port:={free_port()}',
                    'respawn:=false', 'perception:=false')
    try:
        pid = int(launch.wait_for(r'\[camera_node-\d+\]: process started with pid '
                                  r'\[(\d+)\]').group(1))
        launch.wait_for('serving Unity on')
        os.kill(pid, signal.SIGKILL)
        launch.wait(timeout=20)
    finally:
        launch.interrupt()
    assert 'camera exited with code -9; stopping the graph' in launch.output, launch.output
    assert 'process has finished cleanly' in launch.output  # the bridge, stopped with it


def test_a_node_that_cannot_start_stops_the_launch_with_its_reason(ros_env, video):
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        launch = Launch(ros_env, f'source:={video}', f'unity_port:={port}', 'camera:=false',
                        'perception:=false')
        try:
            launch.wait(timeout=60)
        finally:
            launch.interrupt()
    errors = [line for line in launch.lines if '[ERROR]' in line and 'unity_bridge]' in line]
    assert len(errors) == 1 and f'cannot listen on 127.0.0.1:{port}' in errors[0], launch.output
    assert '[unity_bridge]' in errors[0]
    assert 'unity_bridge cannot start with this configuration' in launch.output


def test_record_true_records_the_remapped_namespaced_topics(ros_env, video, tmp_path):
    """Without rosbag2 installed (as here), the package's recorder takes `ros2 bag`'s place.

    `hri:=true` adds the REP-155 node, in the namespace too.
    """
    from emotion_perception.io.recording.bags import Bag

    bag = tmp_path / 'session'
    launch = Launch(ros_env, f'source:={video}', f'unity_port:={free_port()}',
                    'namespace:=robot2', 'image_topic:=cam/image', 'record:=true',
                    f'bag:={bag}', 'hri:=true')
    try:
        launch.wait_for(r'recording /robot2/cam/image/compressed, /robot2/faces, '
                        r'/robot2/image_annotations, /diagnostics')
        launch.wait_for(r'\[robot2.hri\]: ready: faces -> /robot2/humans/faces/')
        launch.wait_for('ready: ')
        time.sleep(6.0)  # 60 images need 10 a second of the 30 (a full run once saw 45 in 4 s)
    finally:
        code = launch.interrupt()
    assert_clean_exit(launch, code)
    counts = {t: i.count for t, i in Bag(bag).topics.items()}
    assert counts['/robot2/cam/image/compressed'] >= 60, counts
    assert counts['/robot2/faces'] >= 30 and counts['/diagnostics'] >= 5, counts
    assert counts['/robot2/image_annotations'] >= 30, counts


def test_show_args_lists_every_argument_with_a_description(ros_env):
    out = ros2(ros_env, 'launch', 'emotion_perception', 'bringup.launch.py', '--show-args')
    for name in ('source', 'params_file', 'unity_host', 'unity_port', 'namespace',
                 'log_level', 'debug_image', 'image_topic', 'faces_topic', 'respawn',
                 'respawn_delay', 'camera', 'perception', 'unity_bridge', 'record', 'bag',
                 'record_raw', 'hri'):
        assert f"'{name}':" in out


LAUNCH_PYTEST_PORT = free_port()


@pytest.fixture
def sourced(ros_env, monkeypatch) -> None:
    """This process as if started from the shell that sourced the install space."""
    for name, value in ros_env.items():
        monkeypatch.setenv(name, value)


if importlib.util.find_spec('launch_pytest') is not None:
    import launch_pytest

    @launch_pytest.fixture
    def bringup(sourced, video):
        """bringup.launch.py from the install space, in a namespace, via launch_pytest."""
        from launch.actions import IncludeLaunchDescription
        from launch.launch_description_sources import PythonLaunchDescriptionSource
        from launch.substitutions import PathJoinSubstitution
        from launch_ros.substitutions import FindPackageShare

        from launch import LaunchDescription

        bringup_file = PathJoinSubstitution([FindPackageShare('emotion_perception'),
                                             'launch', 'bringup.launch.py'])
        arguments = {'source': str(video), 'namespace': 'lp', 'websocket_port': '0',
                     'unity_port': str(LAUNCH_PYTEST_PORT)}
        return LaunchDescription([
            IncludeLaunchDescription(PythonLaunchDescriptionSource(bringup_file),
                                     launch_arguments=arguments.items()),
            launch_pytest.actions.ReadyToTest()])

    @pytest.mark.launch(fixture=bringup)
    def test_faces_reach_a_ros_subscriber_and_unity_under_launch_pytest(ros_context):
        from rclpy.node import Node

        from emotion_perception_msgs.msg import FaceExpressionArray

        from conftest import spin_until

        probe, got = Node('launch_pytest_probe'), []
        probe.create_subscription(FaceExpressionArray, '/lp/faces', got.append, 10)
        spin_until([probe], lambda: any(len(m.faces) == 2 for m in got), timeout=60)
        probe.destroy_node()
        assert any(len(m.faces) == 2 for m in got), f'{len(got)} messages, none with 2 faces'
        frames = [m.frame for m in got]
        assert frames == sorted(frames) and len(set(frames)) == len(frames)
        assert typical_face_count(unity_lines(LAUNCH_PYTEST_PORT, 31)[1:]) == 2
