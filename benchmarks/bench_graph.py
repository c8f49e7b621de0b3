"""Benchmark: the whole graph (`emotion-perception run`) serving two Unity clients.

A 30 fps 640x480 video with three moving faces feeds the camera node; two TCP clients read
at once. Prints each client's messages per second and its camera-to-socket latency
(receive time minus the message's `stamp`), and which nodes and topics another ROS 2
process sees on the same domain. Run: `make bench`.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from videos import write_demo_video

CLI = Path(sys.executable).parent / 'emotion-perception'


def read_client(port: int, seconds: float, out: dict) -> None:
    """Read lines for `seconds`; record count and latencies."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=30)
    sock.sendall(b'{"type":"hello"}\n')
    lines = sock.makefile('rb')
    lines.readline()  # hello
    latencies, started = [], time.time()
    while time.time() - started < seconds:
        obj = json.loads(lines.readline())
        latencies.append(time.time() - obj['stamp'])
    out['rate'] = len(latencies) / seconds
    out['latency'] = np.array(latencies) * 1000
    sock.close()


def wait_for_port(port: int, timeout: float) -> None:
    """Block until something listens on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f'nothing listens on port {port} after {timeout} s')


def observe_graph() -> dict:
    """Node names and topic types as a separate ROS 2 process sees them."""
    script = ('import json, time, rclpy\nfrom rclpy.node import Node\n'
              'rclpy.init(); n = Node("bench_observer"); time.sleep(3)\n'
              'print(json.dumps({"nodes": sorted(n.get_node_names()),'
              ' "topics": dict(n.get_topic_names_and_types())}))\n')
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    """Start the graph on a 3-face video, measure two clients, stop it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--port', type=int, default=5099)
    args = parser.parse_args()
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '77'),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    os.environ.update(env)
    with tempfile.TemporaryDirectory(prefix='ep-graph-') as tmp:
        video = write_demo_video(Path(tmp) / 'three_faces.avi', 300, faces=3)
        graph = subprocess.Popen([str(CLI), 'run', '--source', str(video), '--unity-port',
                                  str(args.port), '--websocket-port', '-1'], env=env,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            wait_for_port(args.port, 60)
            time.sleep(3.0)  # let the first frames warm the model up
            results = [{}, {}]
            threads = [threading.Thread(target=read_client, args=(args.port, args.seconds, r))
                       for r in results]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seen = observe_graph()
        finally:
            graph.send_signal(signal.SIGINT)
            graph.wait(timeout=30)
    for i, r in enumerate(results, 1):
        lat = r['latency']
        print(f'client {i}: {r["rate"]:.1f} msg/s, latency p50 {np.percentile(lat, 50):.0f} ms, '
              f'p99 {np.percentile(lat, 99):.0f} ms, max {lat.max():.0f} ms')
    ours = [n for n in seen['nodes'] if n in ('camera', 'perception', 'unity_bridge')]
    print(f'another process sees nodes {ours} and /faces as {seen["topics"].get("/faces")}')
    print(f'graph exit code after Ctrl-C: {graph.returncode}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
