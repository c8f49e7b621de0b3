"""Benchmark: what robot integrators' outputs cost (#21): REP-155 topics, image QoS, overlays.

`emotion-perception run` on a looping video, measured from this process as a ROS consumer:
1. REP-155: the graph's `faces` rate and CPU (`run`'s two processes, % of one core) without and
   with `--hri`, at 3 faces (demo) and 8 drifting faces (grid); with `--hri`, a ROS4HRI
   consumer subscribes to `humans/faces/tracked` and every face's roi, landmarks and
   expression, and the rates it receives are printed (per face for the per-face topics).
2. Image QoS: the `faces` rate with no extra subscriber, with a default-QoS (reliable)
   image subscriber in another process, and with that subscriber stopped (SIGSTOP); the
   last row again with Fast DDS's synchronous publishing, which the graph does not use.
3. Overlays: a 30 s `run --record`: bag MB per minute, and the image_annotations' share.
Needs hri_msgs (`make ros-tools`) for part 1's --hri rows. Run: `make bench`.
"""

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('ROS_DOMAIN_ID', '83')
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'

import psutil  # noqa: E402
import rclpy  # noqa: E402
from graph_cpu import cpu_seconds  # noqa: E402
from rclpy.node import Node  # noqa: E402
from scenes import GridScene, write_scene  # noqa: E402

from emotion_perception.io.recording.bags import Bag  # noqa: E402
from emotion_perception_msgs.msg import FaceExpressionArray  # noqa: E402

from videos import write_demo_video  # noqa: E402

BIN = Path(sys.executable).parent
PROBES = Path(__file__).resolve().parents[1] / 'test' / 'probes.py'
HAS_HRI = importlib.util.find_spec('hri_msgs') is not None


class Consumer:
    """Counts `faces` and, if asked, REP-155 topics the way a ROS4HRI node reads them."""

    def __init__(self, node: Node, hri: bool) -> None:
        self.node, self.counts = node, {'faces': 0, 'tracked': 0, 'face_frames': 0}
        self.per_face: dict[str, int] = {'roi': 0, 'landmarks': 0, 'expression': 0}
        self.faces_seen: set[str] = set()
        self._subs = [node.create_subscription(FaceExpressionArray, '/faces',
                                               lambda m: self._count('faces'), 10)]
        if hri:
            from hri_msgs.msg import IdsList
            self._subs.append(node.create_subscription(IdsList, '/humans/faces/tracked',
                                                       self._on_tracked, 10))

    def _count(self, key: str) -> None:
        self.counts[key] += 1

    def _on_tracked(self, msg) -> None:
        from hri_msgs.msg import Expression, FacialLandmarks, NormalizedRegionOfInterest2D

        self._count('tracked')
        self.counts['face_frames'] += len(msg.ids)
        kinds = {'roi': NormalizedRegionOfInterest2D, 'landmarks': FacialLandmarks,
                 'expression': Expression}
        for face in set(msg.ids) - self.faces_seen:
            self.faces_seen.add(face)
            for name, kind in kinds.items():
                self._subs.append(self.node.create_subscription(
                    kind, f'/humans/faces/{face}/{name}',
                    lambda m, n=name: self.per_face.__setitem__(n, self.per_face[n] + 1), 10))

    def measure(self, graph: psutil.Process, seconds: float) -> dict[str, float]:
        """Rates over `seconds` and the graph's CPU; per-face topics per tracked face."""
        self.counts = dict.fromkeys(self.counts, 0)
        self.per_face = dict.fromkeys(self.per_face, 0)
        before, started = cpu_seconds(graph), time.monotonic()
        while time.monotonic() - started < seconds:
            rclpy.spin_once(self.node, timeout_sec=0.05)
        elapsed = time.monotonic() - started
        rates = {k: v / elapsed for k, v in self.counts.items() if k != 'face_frames'}
        rates['cpu'] = (cpu_seconds(graph) - before) / elapsed * 100
        return rates

    def close(self) -> None:
        """Unsubscribe from everything."""
        for sub in self._subs:
            self.node.destroy_subscription(sub)


def start(source: Path, *options: str, env: dict = None) -> subprocess.Popen:
    """The graph on `source`, no Unity/page ports to collide with other benchmarks."""
    return subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', str(source),
                             '--unity-port', '0', '--websocket-port', '-1', '--page-port', '-1',
                             *options], env=env or os.environ.copy(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(graph: subprocess.Popen) -> None:
    """Ctrl-C, as a terminal would."""
    os.killpg(graph.pid, signal.SIGINT)
    graph.wait(timeout=30)


def warm(node: Node, seconds: float = 12.0) -> None:
    """Let the graph start and the consumer's subscriptions match."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)


def hri_rows(node: Node, videos: dict[str, Path], seconds: float) -> None:
    """Part 1: the graph without and with --hri, per scene."""
    print('\nREP-155 (run; CPU of both its processes, % of one core)')
    print(f'{"scene":<10} {"hri":<4} {"faces/s":>8} {"CPU %":>6} {"tracked/s":>10} '
          f'{"roi/s/face":>11} {"landmarks/s/face":>17} {"expression/s/face":>18}')
    for scene, video in videos.items():
        for hri in (False, True):
            if hri and not HAS_HRI:
                print(f'{scene:<10} yes  (hri_msgs not installed: make ros-tools)')
                continue
            graph = start(video, *(['--hri'] if hri else []))
            consumer = Consumer(node, hri)
            try:
                warm(node)
                r = consumer.measure(psutil.Process(graph.pid), seconds)
                # A face's messages a second: the share of (face, frame) pairs listed in
                # `tracked` whose message arrived, times the frames a second.
                listed = max(consumer.counts['face_frames'], 1)
                per = {k: v / listed * r['tracked'] for k, v in consumer.per_face.items()}
            finally:
                consumer.close()
                stop(graph)
            extra = (f'{r["tracked"]:>10.1f} {per["roi"]:>11.1f} {per["landmarks"]:>17.1f} '
                     f'{per["expression"]:>18.1f}') if hri else ''
            print(f'{scene:<10} {"yes" if hri else "no":<4} {r["faces"]:>8.1f} '
                  f'{r["cpu"]:>6.0f} {extra}', flush=True)


def qos_rows(node: Node, video: Path, seconds: float) -> None:
    """Part 2: faces/s with a reliable image subscriber reading, then stopped."""
    print('\nImages reliable, KEEP_LAST 1 (run, 3 faces): faces/s with another process '
          'subscribed to image_raw, image_raw/compressed and debug_image')
    print(f'{"publishing":<13} {"image subscriber":<28} {"faces/s":>8} {"CPU %":>6}')
    for mode in ('ASYNCHRONOUS', 'SYNCHRONOUS'):
        env = dict(os.environ, RMW_FASTRTPS_PUBLICATION_MODE=mode)
        graph = start(video, env=env)
        consumer = Consumer(node, hri=False)
        probe = None
        try:
            warm(node)
            cases = ('none', 'reliable, reading', 'reliable, stopped (SIGSTOP)')
            for case in cases if mode == 'ASYNCHRONOUS' else cases[2:]:
                if case != 'none' and probe is None:
                    probe = subprocess.Popen([sys.executable, str(PROBES), 'images', '600'],
                                             stdout=subprocess.PIPE, text=True)
                    probe.stdout.readline()
                    warm(node, 3.0)
                if case.startswith('reliable, stopped'):
                    probe.send_signal(signal.SIGSTOP)
                    warm(node, 1.0)
                r = consumer.measure(psutil.Process(graph.pid), seconds)
                print(f'{mode.lower():<13} {case:<28} {r["faces"]:>8.1f} {r["cpu"]:>6.0f}',
                      flush=True)
        finally:
            if probe is not None:
                probe.send_signal(signal.SIGCONT)
                probe.kill()
                probe.wait()
            consumer.close()
            stop(graph)


def bag_rows(video: Path, work: Path, seconds: float) -> None:
    """Part 3: a recording's size per minute, by topic."""
    bag_path = work / 'session'
    graph = start(video, '--record', str(bag_path))
    time.sleep(seconds + 8)  # start-up, then `seconds` of recording at least
    stop(graph)
    bag = Bag(bag_path)
    sizes: dict[str, int] = {}
    for message in bag.messages():
        sizes[message.topic] = sizes.get(message.topic, 0) + len(message.data)
    minutes = (max(m.log_time for m in bag.messages({'/faces'})) -
               min(m.log_time for m in bag.messages({'/faces'}))) / 60e9
    total = sum(f.stat().st_size for f in bag_path.rglob('*') if f.is_file())
    print(f'\nrun --record, 3 faces: {total / 1e6 / minutes:.1f} MB per minute on disk; '
          'serialized MB per minute by topic:')
    for topic, size in sorted(sizes.items()):
        print(f'  {topic:<24} {size / 1e6 / minutes:>7.2f} MB/min '
              f'({bag.topics[topic].count / minutes / 60:.1f} msg/s)')


def main() -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        videos = {'3 faces': write_demo_video(work / 'demo3.avi', 300, faces=3),
                  '8 faces': write_scene(work / 'grid8.avi', GridScene(640, 480, 8), 600)}
        rclpy.init()
        node = Node('bench_ros')
        try:
            hri_rows(node, videos, args.seconds)
            qos_rows(node, videos['3 faces'], args.seconds)
        finally:
            node.destroy_node()
            rclpy.try_shutdown()
        bag_rows(videos['3 faces'], work, 30.0)
    return 0


if __name__ == '__main__':
    sys.exit(main())
