"""Benchmark: a client flooding garbage into one of the bridge's ports, against the others.

`emotion-perception run` on a 30 fps video of three moving faces serves a measuring TCP
client (camera-to-socket latency, as bench_graph). For each port in turn (the Unity TCP
port, the Unity WebSocket, the operator page's WebSocket and its HTTP) a flooder sends
random bytes as fast as the server takes them for the window, from a process of its own;
the table shows what the flooder got in and the CPU it used itself, and the measuring
client's rate and p50/p99 against the quiet window. A process that only spins one core
is the control: what any local load costs the graph on this machine.
Run: `make bench` (or `python benchmarks/bench_flood.py --seconds 15`).
"""

import argparse
import functools
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from bench_page import stop_graph
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from bench_graph import first_faces, read_client, wait_for_port
from videos import write_demo_video

BIN = Path(sys.executable).parent
CHUNK = 64 * 1024


def flood_tcp(port: int, stop: threading.Event, sent: list) -> None:
    """Random bytes with a newline now and then, as fast as the port takes them."""
    garbage = np.random.default_rng(0).integers(0, 256, CHUNK, dtype=np.uint8).tobytes()
    with socket.create_connection(('127.0.0.1', port)) as sock:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                sent[0] += sock.send(garbage)
            except TimeoutError:
                continue
            except OSError:
                return


def flood_http(port: int, stop: threading.Event, sent: list) -> None:
    """Connection after connection of bytes that are not HTTP."""
    garbage = b'\x16\x03\x01' + os.urandom(4096)
    while not stop.is_set():
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
                sent[0] += sock.send(garbage)
        except OSError:
            time.sleep(0.01)


def spin(stop: threading.Event, sent: list) -> None:
    """No port at all: one core kept busy, the control for what any local load costs."""
    while not stop.is_set():
        sum(range(10_000))


def flood_websocket(url: str, stop: threading.Event, sent: list) -> None:
    """Garbage messages (not requests, just under the size limit), reconnecting if closed."""
    garbage = os.urandom(1000)
    while not stop.is_set():
        try:
            with connect(url, max_size=None, open_timeout=5) as ws:
                while not stop.is_set():
                    ws.send(garbage)
                    sent[0] += len(garbage)
        except (OSError, WebSocketException):
            time.sleep(0.01)


def _flooding(flood, stop, total, cpu) -> None:
    """In the flooder's own process: flood until `stop`; report bytes sent and its CPU."""
    sent, started = [0], time.monotonic()
    done = threading.Event()
    worker = threading.Thread(target=flood, args=(done, sent))
    worker.start()
    stop.wait()
    done.set()
    worker.join()
    total.value = sent[0]
    cpu.value = time.process_time() / (time.monotonic() - started) * 100


def measured(port: int, seconds: float, flood=None) -> dict:
    """The measuring client's figures over `seconds`, with `flood(stop, sent)` running.

    The flooder runs in a process of its own: in this one it would hold the GIL the
    measuring thread needs, and charge its own cost to the graph.
    """
    stop, total, out = multiprocessing.Event(), multiprocessing.Value('q', 0), {}
    cpu = multiprocessing.Value('d', 0.0)
    flooder = multiprocessing.Process(target=_flooding, args=(flood, stop, total, cpu)) \
        if flood else None
    if flooder:
        flooder.start()
        time.sleep(1.0)
    read_client(port, seconds, out)
    stop.set()
    if flooder:
        flooder.join()
    out['sent'], out['cpu'] = total.value, cpu.value
    return out


def main() -> int:
    """Start the graph, measure quiet and under each flood, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=15.0)
    parser.add_argument('--port', type=int, default=5097)
    args = parser.parse_args()
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '78'),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    tcp, websocket = args.port, args.port + 1
    with tempfile.TemporaryDirectory(prefix='ep-flood-') as tmp:
        video = write_demo_video(Path(tmp) / 'faces.avi', 300)
        log = Path(tmp) / 'run.log'
        graph = subprocess.Popen(
            [str(BIN / 'emotion-perception'), 'run', '--source', str(video), '--unity-port',
             str(tcp), '--websocket-port', str(websocket), '--page-port', '0'], env=env,
            stdout=open(log, 'w'), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(tcp, 120)
            first_faces(tcp, 120)
            page = int(re.search(r'operator page on http://[^:]+:(\d+)', log.read_text())[1])
            time.sleep(5.0)
            floods = (
                ('none', None),
                ('(no port: a process spinning one core)', spin),
                ('Unity TCP port', functools.partial(flood_tcp, tcp)),
                ('Unity WebSocket', functools.partial(flood_websocket,
                                                      f'ws://127.0.0.1:{websocket}')),
                ('operator page WebSocket', functools.partial(flood_websocket,
                                                              f'ws://127.0.0.1:{page}/live')),
                ('operator page HTTP', functools.partial(flood_http, page)))
            print('| garbage into | MB the flooder got in | flooder CPU % | msg/s | p50 ms | '
                  'p99 ms | p99 rise ms |')
            print('| --- | --- | --- | --- | --- | --- | --- |')
            quiet = None
            for name, flood in floods:
                out = measured(tcp, args.seconds, flood)
                p50, p99 = np.percentile(out['latency'], [50, 99])
                quiet = p99 if quiet is None else quiet
                print(f'| {name} | {out["sent"] / 1e6:.1f} | {out["cpu"]:.0f} | '
                      f'{out["rate"]:.1f} | {p50:.0f} | {p99:.0f} | {p99 - quiet:+.0f} |',
                      flush=True)
        finally:
            stop_graph(graph)
    return 0


if __name__ == '__main__':
    sys.exit(main())
