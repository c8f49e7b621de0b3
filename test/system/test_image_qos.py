"""Images that every viewer can show: reliable and best-effort subscribers both get them.

The graph runs as `emotion-perception run` in a domain of its own; the subscribers are other
processes with rclpy's default QoS (reliable), as rqt, RViz or a robot's own node would be.
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import BIN, ROOT

PROBES = ROOT / 'test' / 'probes.py'


@pytest.fixture(scope='module')
def graph_env(tmp_path_factory):
    """`emotion-perception run --source demo`, in a domain apart from the in-process tests."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 111))
    log = tmp_path_factory.mktemp('qos') / 'run.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                                 '--unity-port', '0', '--websocket-port', '-1',
                                 '--page-port', '-1'], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    yield env
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert 'Traceback' not in log.read_text()


def _probe_images(env: dict, seconds: float) -> dict[str, int]:
    probe = subprocess.run([sys.executable, str(PROBES), 'images', str(seconds)], env=env,
                           capture_output=True, text=True, timeout=seconds + 60)
    return json.loads(probe.stdout.splitlines()[-1])


def test_a_default_qos_subscriber_in_another_process_gets_every_image_topic(graph_env):
    counts = _probe_images(graph_env, 8)
    # About 30 a second each once matched; the debug image starts when it is asked for.
    assert all(n >= 30 for n in counts.values()), counts


def test_a_stopped_reliable_subscriber_does_not_stop_the_images(graph_env):
    stalled = subprocess.Popen([sys.executable, str(PROBES), 'images', '120'], env=graph_env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert stalled.stdout.readline().strip() == 'ready'
        _probe_images(graph_env, 2)  # both matched and receiving
        stalled.send_signal(signal.SIGSTOP)
        counts = _probe_images(graph_env, 6)
    finally:
        stalled.send_signal(signal.SIGCONT)
        stalled.kill()
        stalled.wait()
    # The camera's images and perception's debug image keep flowing to the others; the
    # rate itself is measured by `make bench` (benchmarks/bench_qos.py).
    assert all(n >= 30 for n in counts.values()), counts
