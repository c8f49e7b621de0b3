"""Benchmark: what the operator page and OSC cost the graph; how soon the page shows a face.

`emotion-perception run --source demo` (two moving faces, 30 fps) is started; a page
client (a websockets client reading `/live` as the browser does) connects as soon as the
port answers. Printed: the page's weight, the time from the command's start to the first
face on the page, then the graph's CPU (`run`'s two processes, % of one core) and the bytes a
second the page receives, over `--seconds` each: no page open, a page open, a page open
with `--no-preview`. Then OSC on the grid scene (8 drifting faces, 30 fps): the OSC
messages and bytes a second a UDP receiver gets, and the graph's rate (a Unity client's
msg/s) and CPU with and without the OSC target. Run: `make bench` (or
`python benchmarks/bench_page.py`).
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from graph_cpu import cpu_seconds
from pythonosc.osc_bundle import OscBundle
from scenes import GridScene, write_scene
from websockets.sync.client import connect

from emotion_perception.io.outputs.operator_page import PAGE

from bench_graph import first_faces, read_client, wait_for_port

BIN = Path(sys.executable).parent
UNITY_PORT = 5096


def osc_rows(tmp: Path, seconds: float) -> None:
    """The grid scene with and without an OSC target: OSC traffic, graph rate and CPU."""
    video = write_scene(tmp / 'grid.avi', GridScene(640, 480, 8), 600)
    print('| OSC | OSC messages/s | OSC KB/s | Unity msg/s | graph CPU, % of one core |')
    print('| --- | --- | --- | --- | --- |')
    for osc in (False, True):
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(('127.0.0.1', 0))
        sink.settimeout(0.2)
        options = ['--source', str(video), '--unity-port', str(UNITY_PORT)]
        if osc:
            options += ['--osc', f'127.0.0.1:{sink.getsockname()[1]}']
        graph, _, _ = start(tmp / 'osc.log', *options)
        try:
            wait_for_port(UNITY_PORT, 120)
            first_faces(UNITY_PORT, 120)
            time.sleep(5.0)
            counted = {'datagrams': 0, 'bytes': 0, 'messages': 0}
            stop = threading.Event()
            receiver = threading.Thread(target=_receive, args=(sink, stop, counted))
            receiver.start()
            process = psutil.Process(graph.pid)
            before, started, out = cpu_seconds(process), time.monotonic(), {}
            read_client(UNITY_PORT, seconds, out)
            after, elapsed = cpu_seconds(process), time.monotonic() - started
            stop.set()
            receiver.join()
        finally:
            stop_graph(graph)
            sink.close()
        cpu = (after - before) / elapsed * 100
        print(f'| {"on" if osc else "off"} | {counted["messages"] / elapsed:.0f} | '
              f'{counted["bytes"] / elapsed / 1024:.0f} | {out["rate"]:.1f} | {cpu:.0f} |',
              flush=True)


def _receive(sink: socket.socket, stop: threading.Event, counted: dict) -> None:
    """Count datagrams, bytes and the OSC messages inside each bundle."""
    while not stop.is_set():
        try:
            data = sink.recv(65536)
        except TimeoutError:
            continue
        counted['datagrams'] += 1
        counted['bytes'] += len(data)
        counted['messages'] += OscBundle(data).num_contents if OscBundle.dgram_is_bundle(
            data) else 1


def start(log: Path, *options: str) -> tuple[subprocess.Popen, int, float]:
    """The graph, its page port (from its log line) and its start time."""
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '79'),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    started = time.monotonic()
    graph = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                              '--unity-port', '0', '--websocket-port', '-1', '--page-port', '0',
                              *options], env=env, stdout=open(log, 'w'),
                             stderr=subprocess.STDOUT, start_new_session=True)
    # (a later --source or --unity-port replaces these: argparse keeps the last)
    deadline = started + 120
    while not (found := re.search(r'operator page on http://[^:]+:(\d+)', log.read_text())):
        if time.monotonic() > deadline or graph.poll() is not None:
            raise RuntimeError(f'no operator page: {log.read_text()[-500:]}')
        time.sleep(0.05)
    return graph, int(found[1]), started


def first_face(port: int) -> None:
    """Read the page's stream until a frame with a face arrives."""
    with connect(f'ws://127.0.0.1:{port}/live') as ws:
        while True:
            message = ws.recv(timeout=120)
            if isinstance(message, str) and json.loads(message).get('faceCount'):
                return


def cpu_and_bytes(graph: psutil.Process, port: int, seconds: float, page: bool
                  ) -> tuple[float, float]:
    """Graph CPU (% of one core) and page bytes/s over `seconds`."""
    received = 0
    before = cpu_seconds(graph)
    started = time.monotonic()
    if page:
        with connect(f'ws://127.0.0.1:{port}/live') as ws:
            while time.monotonic() - started < seconds:
                try:
                    received += len(ws.recv(timeout=0.5))
                except TimeoutError:
                    pass
    else:
        time.sleep(seconds)
    elapsed = time.monotonic() - started
    return (cpu_seconds(graph) - before) / elapsed * 100, received / elapsed


def stop_graph(graph: subprocess.Popen) -> None:
    """Ctrl-C, as a terminal would."""
    os.killpg(graph.pid, signal.SIGINT)
    graph.wait(timeout=30)


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=20.0)
    args = parser.parse_args()
    print(f'operator page: {len(PAGE.read_bytes()) / 1024:.1f} KB, one file, nothing else '
          f'loaded')
    with tempfile.TemporaryDirectory(prefix='ep-page-') as tmp:
        log = Path(tmp) / 'run.log'
        graph, port, started = start(log)
        try:
            first_face(port)
            print(f'from `run` to the first face on the page: '
                  f'{time.monotonic() - started:.1f} s')
            time.sleep(3.0)
            print('| operator page | graph CPU, % of one core | page receives KB/s |')
            print('| --- | --- | --- |')
            process = psutil.Process(graph.pid)
            for name, page in (('none open', False), ('open, with preview', True)):
                cpu, rate = cpu_and_bytes(process, port, args.seconds, page)
                print(f'| {name} | {cpu:.0f} | {rate / 1024:.0f} |', flush=True)
        finally:
            stop_graph(graph)
        graph, port, _ = start(log, '--no-preview')
        try:
            first_face(port)
            time.sleep(3.0)
            cpu, rate = cpu_and_bytes(psutil.Process(graph.pid), port, args.seconds, True)
            print(f'| open, `--no-preview` | {cpu:.0f} | {rate / 1024:.0f} |')
        finally:
            stop_graph(graph)
        osc_rows(Path(tmp), args.seconds)
    return 0


if __name__ == '__main__':
    sys.exit(main())
