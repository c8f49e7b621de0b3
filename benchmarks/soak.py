"""Soak: the whole graph for N minutes with the clients an installation meets.

`emotion-perception run` on a looping 30 fps video of three moving faces serves, all at
once: a measuring client that reads everything, a client that reconnects every 2 s, a
slow reader (1 line/s, push mode), a client that never reads. Every window (5 min) prints
the measuring client's rate and camera-to-socket latency p50/p99 and the graph's resident
memory; at the end the memory slope (least squares over per-minute samples) and the bytes
of log written (stderr and ~/.ros/log). Run: `make soak` (30 min) or
`python benchmarks/soak.py --minutes 2`.
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

from bench_graph import wait_for_port
from videos import write_demo_video

CLI = Path(sys.executable).parent / 'emotion-perception'


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return float('nan')


def measure(port: int, stop: threading.Event, rows: list) -> None:
    """Read every line; record (receive time, latency ms)."""
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        sock.sendall(b'{"type":"hello"}\n')
        lines = sock.makefile('rb')
        lines.readline()
        while not stop.is_set() and (line := lines.readline()):
            obj = json.loads(line)
            now = time.time()
            rows.append((time.monotonic(), (now - obj['stamp']) * 1000))


def churn(port: int, stop: threading.Event, counts: dict) -> None:
    """Connect, read the hello and one frame, hang up; every 2 s."""
    while not stop.wait(2.0):
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
                sock.sendall(b'{"type":"hello"}\n')
                stream = sock.makefile('rb')
                stream.readline()
                stream.readline()
                counts['cycles'] += 1
        except OSError:
            counts['failures'] += 1


def slow(port: int, stop: threading.Event) -> None:
    """Read one line a second, never asking for the newest."""
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        sock.sendall(b'{"type":"hello"}\n')
        stream = sock.makefile('rb')
        while not stop.wait(1.0):
            stream.readline()


def main() -> int:
    """Run the soak and print its table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--minutes', type=float, default=30.0)
    parser.add_argument('--window', type=float, default=5.0, help='minutes per row')
    parser.add_argument('--port', type=int, default=5098)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='ep-soak-') as tmp:
        tmp = Path(tmp)
        video = write_demo_video(tmp / 'three_faces.avi', 300, faces=3)
        env = dict(os.environ, ROS_LOG_DIR=str(tmp / 'ros-log'),
                   ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '78'))
        stderr = tmp / 'stderr.log'
        graph = subprocess.Popen([str(CLI), 'run', '--source', str(video), '--unity-port',
                                  str(args.port), '--websocket-port', '-1'], env=env,
                                 stdout=subprocess.DEVNULL,
                                 stderr=open(stderr, 'w'))
        stop, rows, counts = threading.Event(), [], {'cycles': 0, 'failures': 0}
        try:
            wait_for_port(args.port, 60)
            time.sleep(5.0)
            never = socket.create_connection(('127.0.0.1', args.port))
            threads = [threading.Thread(target=measure, args=(args.port, stop, rows)),
                       threading.Thread(target=churn, args=(args.port, stop, counts)),
                       threading.Thread(target=slow, args=(args.port, stop))]
            for t in threads:
                t.daemon = True
                t.start()
            started, memory = time.monotonic(), []
            print(f'soak: {args.minutes:.0f} min; window rows every {args.window:.0f} min',
                  flush=True)
            print(f'{"minutes":>8} {"msg/s":>7} {"p50 ms":>7} {"p99 ms":>7} {"RSS MB":>7} '
                  f'{"churn":>6}', flush=True)
            window_start = started
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(60.0)
                now = time.monotonic()
                memory.append(((now - started) / 60, rss_mb(graph.pid)))
                if now - window_start >= args.window * 60 - 1:
                    lat = np.array([ms for t, ms in rows if window_start <= t < now])
                    print(f'{(now - started) / 60:8.0f} {len(lat) / (now - window_start):7.1f} '
                          f'{np.percentile(lat, 50):7.0f} {np.percentile(lat, 99):7.0f} '
                          f'{memory[-1][1]:7.0f} {counts["cycles"]:6d}', flush=True)
                    window_start = now
            never.close()
        finally:
            stop.set()
            graph.send_signal(signal.SIGINT)
            code = graph.wait(timeout=30)
        minutes, mb = np.array(memory).T
        slope = np.polyfit(minutes, mb, 1)[0] if len(minutes) > 1 else float('nan')
        logs = stderr.stat().st_size + sum(f.stat().st_size
                                           for f in (tmp / 'ros-log').rglob('*') if f.is_file())
        print(f'RSS slope {slope:+.3f} MB/min; {counts["cycles"]} reconnects '
              f'({counts["failures"]} failed); log bytes written {logs} '
              f'({logs / args.minutes:.0f} B/min); exit code {code}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
