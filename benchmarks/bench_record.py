"""Record and replay figures: what a recording keeps, what it costs, how replay keeps time.

1. The graph (`run --source demo`, 640x480 at 30 fps) recorded by `emotion-perception record`
   in its own process for N seconds, compressed (default) and raw: images published (the
   camera's own count, from the /diagnostics in the bag) vs written, bytes per minute, the
   recorder's CPU (user+system seconds per second of recording).
2. Replay: the compressed bag through the camera node at recorded timing; the rate a
   subscriber sees over the whole bag vs the recorded rate.
3. `process` on the bag vs on the same frames as an MJPG video: frames per second.

Run: `make bench-record` (60 s recordings) or `python benchmarks/bench_record.py --seconds 20`.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from emotion_perception.io.recording.bags import Bag, decode_image

BIN = Path(sys.executable).parent
DOMAIN = str(60 + os.getpid() % 40)


def environment() -> dict[str, str]:
    """A domain of our own, localhost discovery as `run` has by default."""
    return dict(os.environ, ROS_DOMAIN_ID=DOMAIN, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')


def published_and_written(bag: Bag, image_topic: str) -> tuple[int, int]:
    """Images published and images written, over the same stretch of time.

    Published: the camera's own counter, between its first and last status in the bag.
    """
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.serialization import deserialize_message

    counts = []
    for message in bag.messages({'/diagnostics'}):
        for status in deserialize_message(message.data, DiagnosticArray).status:
            if status.name.endswith('camera: image source'):
                counts += [(message.log_time, int(v.value)) for v in status.values
                           if v.key == 'published']
    if len(counts) < 2:
        return 0, 0
    (start, first), (end, last) = counts[0], counts[-1]
    written = sum(1 for m in bag.messages({image_topic}) if start < m.log_time <= end)
    return last - first, written


def record(folder: Path, seconds: float, raw: bool) -> dict[str, float]:
    """Record the running graph; counts, size and CPU."""
    out = folder / ('raw' if raw else 'compressed')
    started = time.monotonic()
    proc = subprocess.Popen([str(BIN / 'emotion-perception'), 'record', str(out),
                             '--duration', str(seconds)] + (['--raw'] if raw else []),
                            env=environment(), stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    bag = Bag(out)
    image_topic = '/image_raw' if raw else '/image_raw/compressed'
    written = bag.topics.get(image_topic)
    span = (max(m.log_time for m in bag.messages({image_topic})) -
            min(m.log_time for m in bag.messages({image_topic}))) / 1e9 if written else 0.0
    size = sum(f.stat().st_size for f in out.iterdir())
    published, in_window = published_and_written(bag, image_topic)
    return {'published': published, 'written': in_window, 'total': written.count if written else 0,
            'faces': bag.topics['/faces'].count if '/faces' in bag.topics else 0,
            'span': span, 'mb_per_min': size / 1e6 / max(span, 1e-9) * 60,
            'cpu': (usage.ru_utime + usage.ru_stime) / max(wall, 1e-9), 'path': out}


def replay_rate(bag_path: Path) -> tuple[float, float, int, int]:
    """(recorded rate, replayed rate, recorded images, images received) of a whole bag."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage

    bag = Bag(bag_path)
    times = [m.log_time for m in bag.messages({'/image_raw/compressed'})]
    recorded = (len(times) - 1) / ((times[-1] - times[0]) / 1e9)
    os.environ.update(environment())
    rclpy.init()
    node = rclpy.create_node('replay_probe')
    arrivals: list[float] = []
    node.create_subscription(CompressedImage, '/image_raw/compressed',
                             lambda m: arrivals.append(time.monotonic()), qos_profile_sensor_data)
    camera = subprocess.Popen([str(BIN / 'camera_node'), '--ros-args', '-p',
                               f'source:={bag_path}', '-p', 'loop:=false'],
                              env=environment(), stderr=subprocess.DEVNULL)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    deadline = time.monotonic() + len(times) / recorded + 60
    while time.monotonic() < deadline and camera.poll() is None:
        executor.spin_once(timeout_sec=0.1)
        if arrivals and time.monotonic() - arrivals[-1] > 3.0:
            break
    camera.send_signal(signal.SIGINT)
    camera.wait(timeout=30)
    node.destroy_node()
    rclpy.shutdown()
    replayed = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0
    return recorded, replayed, len(times), len(arrivals)


def process_fps(source: Path, folder: Path) -> float:
    """`process` frames per second, as it reports them."""
    done = subprocess.run([str(BIN / 'emotion-perception'), 'process', str(source), '-o',
                           str(folder / f'{source.name}.jsonl')], capture_output=True,
                          text=True, check=True)
    return float(re.search(r'\(([\d.]+) fps\)', done.stderr).group(1))


def as_video(bag_path: Path, path: Path) -> Path:
    """The bag's images as an MJPG video (the same frames, for `process`)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 30.0, (640, 480))
    for message in Bag(bag_path).messages({'/image_raw/compressed'}):
        writer.write(decode_image(message).image)
    writer.release()
    return path


def main() -> None:
    """Start the graph, record twice, replay, process; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=60.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix='bench_record_'))
    log = folder / 'graph.log'
    graph = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                              '--unity-port', '0', '--websocket-port', '-1'],
                             env=environment(), stderr=open(log, 'w'))
    while 'serving Unity' not in log.read_text():
        time.sleep(0.2)
    print(f'recording `run --source demo` (640x480, 30 fps, 2 faces) for {args.seconds:.0f} s '
          f'each, recorder in its own process; {os.cpu_count()} CPUs')
    print('published/written/lost: images between the first and the last camera status in '
          'the bag; total: all images in the bag')
    print(f'{"images":11} {"published":>9} {"written":>8} {"lost":>6} {"total":>6} '
          f'{"faces":>6} {"MB/min":>8} {"recorder CPU":>13}')
    rows = {}
    try:
        for raw in (False, True):
            row = rows[raw] = record(folder, args.seconds, raw)
            lost = max(row['published'] - row['written'], 0)
            print(f'{"raw bgr8" if raw else "JPEG q90":11} {row["published"]:9d} '
                  f'{row["written"]:8d} {lost:6d} {row["total"]:6d} {row["faces"]:6d} '
                  f'{row["mb_per_min"]:8.1f} '
                  f'{row["cpu"] * 100:12.0f}%')
    finally:
        graph.send_signal(signal.SIGINT)
        graph.wait(timeout=30)
    bag = rows[False]['path']
    recorded, replayed, count, got = replay_rate(bag)
    print(f'\nreplay of the JPEG bag by camera_node: recorded {recorded:.2f} images/s, '
          f'replayed {replayed:.2f} images/s ({(replayed / recorded - 1) * 100:+.2f} %), '
          f'{got} of {count} received')
    video = as_video(bag, folder / 'same_frames.avi')
    print(f'process: bag {process_fps(bag, folder):.1f} fps, the same frames as MJPG video '
          f'{process_fps(video, folder):.1f} fps')


if __name__ == '__main__':
    main()
