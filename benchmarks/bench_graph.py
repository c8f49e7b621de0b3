"""Benchmark: the live graph serving two Unity clients, against the original loop.

Scenes from `scenes.py` (people coming and going every 1-2 s, lights switching) as 30 fps
videos feed the camera node; two TCP clients read at once. For each scene and each way of
running (`emotion-perception run`, one process; `ros2 launch`, three processes, when the
ROS tools are installed) it prints the faces per message against the scene's own mean
count (the grid scene always holds 8: a lost face shows there), each client's messages per
second and camera-to-socket latency (receive time minus the message's `stamp`,
p50/p99/max). The original loop's row is its webcam loop on the same video: frames arrive
at 30 fps, it takes the newest when it is free, and its latency is from a frame's arrival
to its faces being ready to send. The `detect_every 1` rows are the graph with the
original's detection (the whole frame searched every frame): the reference for faces/msg.
Run: `make bench` (or `python benchmarks/bench_graph.py --seconds 20`).
"""

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from scenes import GridScene, Scene, write_scene

from emotion_perception.vision.model_store import default_models_dir

from seed_loop import SeedLoop

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PARAMS = ROOT / 'config' / 'params.yaml'
SCENES = (('640x480, 3 faces', lambda: Scene(640, 480, 3)),
          ('1280x720, 3 faces', lambda: Scene(1280, 720, 3)),
          ('640x480, 8 faces', lambda: Scene(640, 480, 8)),
          ('640x480, 8 drifting faces', lambda: GridScene(640, 480, 8)))
#: Frames of each scene's video (the camera loops it).
FRAMES = 600


def read_client(port: int, seconds: float, out: dict) -> None:
    """Read lines for `seconds`; record the count and each line's latency."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=30)
    sock.sendall(b'{"type":"hello"}\n')
    lines = sock.makefile('rb')
    lines.readline()  # hello
    latencies, faces, started = [], [], time.time()
    while time.time() - started < seconds:
        obj = json.loads(lines.readline())
        latencies.append(time.time() - obj['stamp'])
        faces.append(obj['faceCount'])
    out['rate'] = len(latencies) / seconds
    out['latency'] = np.array(latencies) * 1000
    out['faces'] = float(np.mean(faces))
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


def wait_until_free(port: int, timeout: float) -> None:
    """Block until nothing listens on `port` (a stopped graph's last node has let go)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.5)
    raise TimeoutError(f'port {port} still taken after {timeout} s')


def first_faces(port: int, timeout: float) -> None:
    """Block until the graph sends a frame with faces in it."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as sock:
        sock.sendall(b'{"type":"hello"}\n')
        lines = sock.makefile('rb')
        while not json.loads(lines.readline()).get('faces'):
            pass


def two_clients(port: int, seconds: float) -> list[dict]:
    """What two clients reading at once measured."""
    results: list[dict] = [{}, {}]
    threads = [threading.Thread(target=read_client, args=(port, seconds, r)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def measure(command: list[str], env: dict, port: int, seconds: float) -> list[dict]:
    """Start a graph, let it warm up, measure two clients, stop it as a terminal would."""
    graph = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, 120)
        first_faces(port, 120)  # the bridge listens before perception has loaded its models
        time.sleep(5.0)  # the first frames warm the models up
        return two_clients(port, seconds)
    finally:
        os.killpg(graph.pid, signal.SIGINT)
        try:
            graph.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(graph.pid, signal.SIGKILL)
            graph.wait()
        wait_until_free(port, 30)


def seed_live(video: Path, seeds: SeedLoop, seconds: float) -> dict:
    """The original loop on a 30 fps feed of `video`: rate and arrival-to-result latency."""
    cap = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < 300:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    started = time.perf_counter()
    latencies, faces = [], []
    while time.perf_counter() - started < seconds:
        index = int((time.perf_counter() - started) * 30)
        arrived = started + index / 30
        faces.append(len(seeds.process(frames[index % len(frames)])))
        latencies.append(time.perf_counter() - arrived)
    return {'rate': len(latencies) / seconds, 'latency': np.array(latencies) * 1000,
            'faces': float(np.mean(faces))}


def launch_env(work: Path) -> Optional[dict]:
    """A shell environment with both packages built as the README tells ROS users.

    None without the ROS tools (`make ros-tools`).
    """
    if not (BIN / 'ros2').is_file():
        return None
    (work / 'src').mkdir(parents=True)
    (work / 'src' / 'emotion_perception').symlink_to(ROOT)
    venv = str(BIN.parent)
    underlay = dict(os.environ, PATH=f'{BIN}:{os.environ["PATH"]}', AMENT_PREFIX_PATH=venv,
                    CMAKE_PREFIX_PATH=venv)
    subprocess.run([str(BIN / 'colcon'), 'build', '--paths', 'src/emotion_perception',
                    'src/emotion_perception/emotion_perception_msgs', '--cmake-args',
                    '-DBUILD_TESTING=OFF', f'-DPython3_EXECUTABLE={BIN / "python"}'],
                   cwd=work, env=underlay, capture_output=True, check=True, timeout=900)
    sourced = subprocess.run(['bash', '-c', 'source install/setup.bash && env -0'], cwd=work,
                             env=underlay, capture_output=True, check=True, timeout=60)
    return dict(item.split('=', 1) for item in sourced.stdout.decode().split('\0')
                if '=' in item)


def machine() -> str:
    """CPU model, cores and OS: the figures only mean something with these."""
    model = next((line.split(':', 1)[1].strip() for line in
                  Path('/proc/cpuinfo').read_text().splitlines()
                  if line.startswith('model name')), platform.processor() or '?')
    return f'{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}'


def row(scene: str, how: str, clients: list[dict], true_faces: float) -> str:
    """One table row: faces per message, rate (the slower client's), latencies (both)."""
    lat = np.concatenate([c['latency'] for c in clients])
    rate = min(c['rate'] for c in clients)
    faces = min(c['faces'] for c in clients)
    return (f'| {scene} | {how} | {faces:.2f} of {true_faces:.2f} | {rate:.1f} | '
            f'{np.percentile(lat, 50):.0f} | {np.percentile(lat, 99):.0f} | {lat.max():.0f} |')


def main() -> int:
    """Write the scenes, measure each way of running, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--port', type=int, default=5099)
    parser.add_argument('--scene', action='append', choices=[s[0] for s in SCENES],
                        help='measure only this scene (repeatable; default: all)')
    parser.add_argument('--no-launch', action='store_true', help='skip the ros2 launch rows')
    parser.add_argument('--no-reference', action='store_true',
                        help='skip the detect_every 1 rows (the original\'s detection)')
    args = parser.parse_args()
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '77'),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    seeds = SeedLoop(default_models_dir())
    print(f'machine: {machine()}')
    with tempfile.TemporaryDirectory(prefix='ep-graph-') as tmp:
        work = Path(tmp)
        ros = None if args.no_launch else launch_env(work / 'ws')
        if ros is None and not args.no_launch:
            print('SKIPPED ros2 launch rows: no ros2 command (make ros-tools)')
        elif ros is not None:
            ros.update(ROS_DOMAIN_ID=env['ROS_DOMAIN_ID'],
                       ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
        # The reference: the original scripts' detection, a whole-frame search every frame.
        every_frame = work / 'detect_every_1.yaml'
        every_frame.write_text(DEFAULT_PARAMS.read_text().replace(
            'detect_every: 10', 'detect_every: 1', 1))
        print('| scene | how it runs | faces/msg (scene) | msg/s per client | p50 ms | '
              'p99 ms | max ms |')
        print('| --- | --- | --- | --- | --- | --- | --- |')
        for index, (name, make) in enumerate(SCENES):
            if args.scene and name not in args.scene:
                continue
            scene = make()
            video = write_scene(work / f'scene{index}.avi', scene, FRAMES)
            truth = float(np.mean([len(scene.present(i)) for i in range(FRAMES)]))
            print(row(name, 'original loop', [seed_live(video, seeds, args.seconds)], truth),
                  flush=True)
            ways = (('', DEFAULT_PARAMS),) + (() if args.no_reference else
                                              ((', detect_every 1', every_frame),))
            for label, params in ways:
                run = [str(BIN / 'emotion-perception'), 'run', '--source', str(video),
                       '--params', str(params), '--unity-port', str(args.port),
                       '--websocket-port', '-1']
                print(row(name, f'`run`{label}', measure(run, env, args.port, args.seconds),
                          truth), flush=True)
                if ros is not None:
                    launch = [str(BIN / 'ros2'), 'launch', 'emotion_perception',
                              'bringup.launch.py', f'source:={video}', f'params_file:={params}',
                              f'unity_port:={args.port}', 'websocket_port:=-1']
                    print(row(name, f'`ros2 launch`{label}',
                              measure(launch, ros, args.port, args.seconds), truth), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
