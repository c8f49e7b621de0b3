"""Camera, perception and bridge on three hosts: network namespaces joined by veth pairs.

Each node runs in a network namespace of its own (a host with its own address), the three
joined through a bridge in a fourth namespace (a switch). DDS discovers across them by
multicast, as on a real network. The addresses are the test's own, in the RFC 2544
benchmarking range; nothing leaves the machine. Fast DDS is held to UDP so that its
shared-memory transport (same kernel) cannot bypass the network being tested.
"""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN, optional_toolchain, write_demo_video

SUFFIX = str(os.getpid() % 100000)
SWITCH = f'ep-sw{SUFFIX}'
HOSTS = {'camera': ('198.18.0.1', 'camera_node'), 'perception': ('198.18.0.2', 'perception_node'),
         'unity_bridge': ('198.18.0.3', 'unity_bridge_node')}


def _can_make_namespaces() -> bool:
    """Root with iproute2, and the kernel lets this sandbox add a namespace."""
    if os.geteuid() != 0 or shutil.which('ip') is None:
        return False
    probe = f'ep-probe{SUFFIX}'
    made = subprocess.run(['ip', 'netns', 'add', probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(['ip', 'netns', 'del', probe], capture_output=True)
    return made


pytestmark = optional_toolchain('network namespaces (root and iproute2)',
                                _can_make_namespaces(), 'apt-get install iproute2, as root')


def ip(*args: str) -> None:
    """Run one `ip` command; fail the test with its message if it fails."""
    proc = subprocess.run(['ip', *args], capture_output=True, text=True)
    assert proc.returncode == 0, f'ip {" ".join(args)}: {proc.stderr}'


def netns(name: str) -> str:
    """The namespace of a node's host."""
    return f'ep-{name[:3]}{SUFFIX}'


@pytest.fixture(scope='module')
def network():
    """Three hosts on one switch; yields the switch-side link name of each host."""
    ip('netns', 'add', SWITCH)
    ip('-n', SWITCH, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', SWITCH, 'link', 'set', 'br0', 'up')
    links = {}
    try:
        for name, (address, _) in HOSTS.items():
            host, inside, outside = netns(name), f'h{name[:3]}{SUFFIX}', f's{name[:3]}{SUFFIX}'
            ip('netns', 'add', host)
            ip('link', 'add', inside, 'netns', host, 'type', 'veth', 'peer', 'name', outside,
               'netns', SWITCH)
            ip('-n', SWITCH, 'link', 'set', outside, 'master', 'br0', 'up')
            ip('-n', host, 'addr', 'add', f'{address}/24', 'dev', inside)
            ip('-n', host, 'link', 'set', 'lo', 'up')
            ip('-n', host, 'link', 'set', inside, 'up', 'multicast', 'on')
            ip('-n', host, 'route', 'add', '224.0.0.0/4', 'dev', inside)
            links[name] = outside
        yield links
    finally:
        for name in HOSTS:
            subprocess.run(['ip', 'netns', 'del', netns(name)], capture_output=True)
        subprocess.run(['ip', 'netns', 'del', SWITCH], capture_output=True)


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> Path:
    """Ten seconds of the demo scene (two moving faces), looped by the camera."""
    return write_demo_video(tmp_path_factory.mktemp('video') / 'faces.avi', 300)


CLIENT = '''
import socket, sys, time, json
for attempt in range(600):
    try:
        sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
        sock.sendall(b'{"type":"hello"}\\n')
        break
    except OSError:
        time.sleep(0.1)
for line in sock.makefile("rb"):
    obj = json.loads(line)
    if obj.get("type") == "faces":
        print(time.monotonic(), obj["faceCount"], flush=True)
'''


class Arrivals:
    """What a Unity client in the bridge's namespace receives: (monotonic time, faces)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc, self.rows = proc, []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            when, faces = line.split()
            self.rows.append((float(when), int(faces)))

    def between(self, start: float, end: float) -> list[tuple[float, int]]:
        """Rows received in [start, end) (monotonic seconds)."""
        return [row for row in self.rows if start <= row[0] < end]

    def first_after(self, start: float, timeout: float) -> float:
        """Time of the first row after `start`; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [t for t, _ in self.rows if t > start]
            if rows:
                return rows[0]
            time.sleep(0.05)
        raise AssertionError(f'nothing within {timeout} s after the link came back')


def test_faces_flow_across_three_hosts_and_recover_after_a_cut(network, video, tmp_path):
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET',
               FASTDDS_BUILTIN_TRANSPORTS='UDPv4')
    # Raw images across a network: best effort, by ROS 2's QoS override (docs/ros.md).
    params = {'camera': ['-p', f'source:={video}', '-p',
                         'qos_overrides./image_raw.publisher.reliability:=best_effort'],
              'perception': [],
              'unity_bridge': ['-p', 'port:=5000']}
    procs, logs = [], {}
    try:
        for name, (_, executable) in HOSTS.items():
            logs[name] = open(tmp_path / f'{name}.log', 'w')
            procs.append(subprocess.Popen(
                ['ip', 'netns', 'exec', netns(name), str(BIN / executable), '--ros-args',
                 *params[name]], env=env, stdout=logs[name], stderr=subprocess.STDOUT))
        client = subprocess.Popen(['ip', 'netns', 'exec', netns('unity_bridge'),
                                   sys.executable, '-c', CLIENT, '5000'], env=env,
                                  stdout=subprocess.PIPE, text=True)
        procs.append(client)
        arrivals = Arrivals(client)
        arrivals.first_after(0.0, timeout=90)
        time.sleep(3.0)  # past start-up

        start = time.monotonic()
        time.sleep(5.0)
        before = arrivals.between(start, start + 5.0)
        rate = len(before) / 5.0
        assert rate >= 10, f'{rate:.1f} msg/s across hosts before the cut'
        assert max(faces for _, faces in before) == 2

        ip('-n', SWITCH, 'link', 'set', network['perception'], 'down')
        cut = time.monotonic()
        time.sleep(5.0)
        ip('-n', SWITCH, 'link', 'set', network['perception'], 'up')
        restored = time.monotonic()
        during = arrivals.between(cut + 0.5, restored)
        assert not during, f'{len(during)} messages while perception was cut off'

        resumed = arrivals.first_after(restored, timeout=30)
        time.sleep(5.0)
        after = arrivals.between(resumed + 1.0, resumed + 5.0)
        assert len(after) / 4.0 >= 0.5 * rate, f'{len(after) / 4.0:.1f} msg/s after the cut'
        print(f'\ncross-host: {rate:.1f} msg/s before the cut, recovery '
              f'{resumed - restored:.2f} s after the link came back, '
              f'{len(after) / 4.0:.1f} msg/s after')
        for name, proc in zip(HOSTS, procs):
            assert proc.poll() is None, f'{name} died:\n{(tmp_path / f"{name}.log").read_text()}'
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs.values():
            log.close()


PROBE = '''
import sys, time, rclpy
rclpy.init()
node = rclpy.create_node("lan_probe")
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    rclpy.spin_once(node, timeout_sec=0.2)
    names = [n for n, _ in node.get_topic_names_and_types()]
    if "/faces" in names and "/image_raw" in names:
        break
print(" ".join(names))
'''


def _lan_client_gets_hello(port: int) -> bool:
    """Whether a Unity client on another host (the perception host) is served."""
    code = ('import socket, sys\n'
            f's = socket.create_connection(("{HOSTS["camera"][0]}", {port}), timeout=10)\n'
            's.sendall(b\'{"type":"hello"}\\n\')\n'
            'sys.stdout.write(s.makefile("rb").readline().decode())')
    out = subprocess.run(['ip', 'netns', 'exec', netns('perception'), sys.executable, '-c',
                          code], capture_output=True, text=True, timeout=30).stdout
    return '"hello"' in out


@pytest.mark.parametrize('opted_in', [False, True], ids=['default', 'opted-in'])
def test_a_default_run_keeps_images_and_faces_on_its_machine(network, tmp_path, opted_in):
    env = {k: v for k, v in os.environ.items() if k != 'ROS_AUTOMATIC_DISCOVERY_RANGE'}
    options = ['--unity-allow', HOSTS['perception'][0], '--discovery', 'subnet'] \
        if opted_in else []
    log = tmp_path / 'run.log'
    museum_pc = subprocess.Popen(
        ['ip', 'netns', 'exec', netns('camera'), str(BIN / 'emotion-perception'), 'run',
         '--source', 'demo', '--unity-host', '0.0.0.0', '--unity-port', '5000', *options],
        env=env, stdout=subprocess.DEVNULL, stderr=open(log, 'w'))
    try:
        deadline = time.monotonic() + 60
        # The bridge serves (and makes /faces known) while the camera is still loading.
        while '[perception]: ready' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        served = _lan_client_gets_hello(5000)
        seen = subprocess.run(['ip', 'netns', 'exec', netns('perception'), sys.executable,
                               '-c', PROBE, '8'], env=dict(env, ROS_AUTOMATIC_DISCOVERY_RANGE=
                                                            'SUBNET'),
                              capture_output=True, text=True, timeout=60).stdout.split()
    finally:
        museum_pc.send_signal(2)
        museum_pc.wait(timeout=30)
    text = log.read_text()
    assert ('/faces' in seen and '/image_raw' in seen) == opted_in, seen
    assert served == opted_in
    refusals = [line for line in text.splitlines() if 'refused Unity client' in line]
    assert len(refusals) == (0 if opted_in else 1), text
    assert ('ROS discovery range SUBNET' if opted_in else 'range LOCALHOST') in text
