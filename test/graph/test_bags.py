"""Record and replay with real bags, read back by the camera node, `process` and rosbags.

Bags are written by rosbags with messages rclpy serialised, in both storage formats, or
recorded from the running graph.
"""

import json
import os
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import Writer
from rosbags.rosbag2.enums import StoragePlugin
from rosbags.typesys import Stores, get_typestore

from emotion_perception.io.recording.bags import Bag
from emotion_perception.io.sources.bag import BagSource, replayed

from conftest import BIN, spin_until, write_demo_video

STORES = get_typestore(Stores.ROS2_KILTED)
FRAMES = 45
FIRST_STAMP = 1_700_000_000


def video_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video, decoded once."""
    cap, frames = cv2.VideoCapture(str(path)), []
    while (frame := cap.read()[1]) is not None:
        frames.append(frame)
    cap.release()
    return frames


def write_bag(path: Path, frames: list[np.ndarray], compressed: bool = False,
              storage: StoragePlugin = StoragePlugin.MCAP, topic: str = '/cam/image',
              encoding: str = 'bgr8', extra: tuple[str, ...] = ()) -> Path:
    """A bag of `frames` at 30 fps, serialised by rclpy, stamped FIRST_STAMP + i s."""
    from builtin_interfaces.msg import Time
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import CompressedImage
    from std_msgs.msg import Header

    from emotion_perception.ros.conversions import array_to_image

    msgtype = 'sensor_msgs/msg/' + ('CompressedImage' if compressed else 'Image')
    with Writer(path, version=8, storage_plugin=storage) as writer:
        conns = [writer.add_connection(t, msgtype, typestore=STORES) for t in (topic, *extra)]
        for i, frame in enumerate(frames):
            header = Header(stamp=Time(sec=FIRST_STAMP + i, nanosec=500), frame_id='bag_cam')
            if compressed:
                msg = CompressedImage(header=header, format='jpeg',
                                      data=cv2.imencode('.jpg', frame)[1].tobytes())
            else:
                msg = array_to_image(frame, header)
                msg.encoding = encoding
            for conn in conns:
                writer.write(conn, 10**18 + i * 33_333_333, serialize_message(msg))
    return path


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> Path:
    return write_demo_video(tmp_path_factory.mktemp('bagvideo') / 'faces.avi', FRAMES)


@pytest.fixture(scope='module')
def frames(video) -> list[np.ndarray]:
    return video_frames(video)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / 'emotion-perception'), *args], capture_output=True,
                          text=True, timeout=timeout)


def faces_of(jsonl: Path) -> list[list[tuple]]:
    """Per frame: (expression, box) of each face, in box order.

    Not the ids: which of two faces found in the same first frame gets id 1 follows the
    detector's output order, which OpenCV's threads may vary from run to run.
    """
    return [sorted((f['expression'], tuple(f['position'].values())) for f in d['faces'])
            for d in map(json.loads, jsonl.read_text().splitlines())]


@pytest.mark.parametrize('storage', [StoragePlugin.MCAP, StoragePlugin.SQLITE3],
                         ids=['mcap', 'sqlite3'])
def test_a_bag_of_a_video_gives_the_same_faces_with_recorded_stamps(tmp_path, video, frames,
                                                                   storage):
    bag = write_bag(tmp_path / 'bag', frames, storage=storage)
    assert cli('process', str(video), '-o', str(tmp_path / 'video.jsonl')).returncode == 0
    done = cli('process', str(bag), '-o', str(tmp_path / 'bag.jsonl'))
    assert done.returncode == 0, done.stderr
    from_video, from_bag = faces_of(tmp_path / 'video.jsonl'), faces_of(tmp_path / 'bag.jsonl')
    assert len(from_bag) == FRAMES and from_bag == from_video
    assert sum(map(len, from_bag)) >= FRAMES * 2  # the faces are really there
    stamps = [json.loads(line)['stamp'] for line in
              (tmp_path / 'bag.jsonl').read_text().splitlines()]
    assert stamps[:2] == pytest.approx([FIRST_STAMP, FIRST_STAMP + 1], abs=1e-5)


def test_the_camera_replays_a_compressed_bag_at_recorded_timing_and_stamps(tmp_path, frames,
                                                                          ros_context):
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image

    from emotion_perception.ros.conversions import image_to_array
    from emotion_perception.ros.nodes.camera import CameraNode

    bag = write_bag(tmp_path / 'jpeg', frames, compressed=True)
    camera = CameraNode(namespace='replay', parameter_overrides=[
        Parameter('source', value=str(bag)), Parameter('loop', value=False),
        Parameter('playback_rate', value=2.0)])
    probe = Node('probe_replay')
    raw, jpeg = [], []
    probe.create_subscription(Image, '/replay/image_raw', lambda m: raw.append(
        (time.monotonic(), m)), qos_profile_sensor_data)
    probe.create_subscription(CompressedImage, '/replay/image_raw/compressed', jpeg.append,
                              qos_profile_sensor_data)
    spin_until([probe], lambda: len(raw) >= FRAMES - 5 or camera._state == 'finished',
               timeout=30)
    spin_until([probe], lambda: False, timeout=0.5)
    camera.destroy_node()
    probe.destroy_node()
    assert len(raw) >= FRAMES - 5, len(raw)
    first = raw[0][1]
    index = first.header.stamp.sec - FIRST_STAMP
    assert first.header.frame_id == 'bag_cam' and first.header.stamp.nanosec == 500
    expected = cv2.imdecode(cv2.imencode('.jpg', frames[index])[1], cv2.IMREAD_COLOR)
    assert np.array_equal(image_to_array(first), expected)
    seconds = raw[-1][0] - raw[0][0]
    recorded = (raw[-1][1].header.stamp.sec - first.header.stamp.sec) / 30 / 2.0
    assert abs(seconds - recorded) < 0.15 * recorded + 0.05, (seconds, recorded)
    # The recorded JPEG goes out as it was, not encoded again.
    assert jpeg and bytes(jpeg[-1].data) == cv2.imencode(
        '.jpg', frames[jpeg[-1].header.stamp.sec - FIRST_STAMP])[1].tobytes()


def test_replay_pacing_follows_rate_and_start_offset(tmp_path, frames):
    source = BagSource(write_bag(tmp_path / 'b', frames[:30]), start_offset=0.49)
    started = time.monotonic()
    count = sum(1 for _ in replayed(source, factor=4.0))
    took = time.monotonic() - started
    assert count == 15 and source.last.stamp == (FIRST_STAMP + 29) * 10**9 + 500
    # Never faster than the rate; slower only by what a loaded machine adds.
    assert 14 / 30 / 4 * 0.9 < took < 14 / 30 / 4 + 0.4, took
    source.close()


def test_record_then_read_back_round_trips_every_face_field(tmp_path, ros_context):
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import RegionOfInterest

    from emotion_perception.ros.nodes.recorder import RecorderNode
    from emotion_perception_msgs.msg import FaceExpression, FaceExpressionArray

    out = tmp_path / 'faces_bag'
    recorder = RecorderNode(namespace='rt', parameter_overrides=[
        Parameter('output', value=str(out)), Parameter('topics', value='faces')])
    talker = Node('talker', namespace='rt')
    pub = talker.create_publisher(FaceExpressionArray, 'faces', 10)
    sent = []
    for i in range(20):
        msg = FaceExpressionArray(image_width=640, image_height=480, frame=i)
        msg.header.stamp.sec, msg.header.frame_id = 100 + i, 'cam'
        msg.faces.append(FaceExpression(
            id=i, box=RegionOfInterest(x_offset=1, y_offset=2, width=3, height=4),
            expression_idx=3, expression='Happy', confidence=0.75,
            scores=[0.1, 0.0, 0.0, 0.75, 0.05, 0.05, 0.05],
            landmarks=[1.5, 2.5] * 68, has_head_pose=True, yaw=1.0, pitch=-2.0,
            roll=3.0, valence=0.5, arousal=-0.25))
        sent.append(msg)
    spin_until([recorder, talker], lambda: talker.count_subscribers('/rt/faces') > 0
               and not recorder._pending, timeout=10)
    for msg in sent:
        pub.publish(msg)
    spin_until([recorder, talker], lambda: recorder._received['/rt/faces'] == 20, timeout=10)
    recorder.destroy_node()
    talker.destroy_node()
    bag = Bag(out)
    got = [deserialize_message(m.data, FaceExpressionArray) for m in bag.messages()]
    assert got == sent
    # Other tools decode it from the definitions in the bag, without this package.
    with AnyReader([out]) as reader:
        conn = reader.connections[0]
        assert conn.msgtype == 'emotion_perception_msgs/msg/FaceExpressionArray'
        first = reader.deserialize(next(reader.messages())[2], conn.msgtype)
    assert first.faces[0].expression == 'Happy' and len(first.faces[0].landmarks) == 136


def test_process_bag_to_bag_keeps_stamps_and_input_topics(tmp_path, frames):
    from rclpy.serialization import deserialize_message

    from emotion_perception_msgs.msg import FaceExpressionArray

    bag = write_bag(tmp_path / 'in', frames[:20], compressed=True)
    done = cli('process', str(bag), '-o', str(tmp_path / 'out.mcap'))
    assert done.returncode == 0, done.stderr
    out = Bag(tmp_path / 'out.mcap')
    assert {t: i.count for t, i in out.topics.items()} == {
        '/faces': 20, '/image_annotations': 20, '/cam/image': 20}
    faces = [deserialize_message(m.data, FaceExpressionArray) for m in out.messages({'/faces'})]
    assert [f.header.stamp.sec for f in faces] == [FIRST_STAMP + i for i in range(20)]
    assert all(f.header.frame_id == 'bag_cam' and len(f.faces) >= 2 for f in faces)
    slim = cli('process', str(bag), '-o', str(tmp_path / 'slim'), '--faces-only')
    assert slim.returncode == 0
    assert sorted(Bag(tmp_path / 'slim').topics) == ['/faces', '/image_annotations']
    assert (tmp_path / 'slim' / 'metadata.yaml').is_file()


def test_overlays_in_a_processed_bag_decode_with_foxglove_s_own_reader(tmp_path, frames):
    """`mcap` with `mcap-ros2-support` (Foxglove's decoder, not the rosbags that wrote it)."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    bag = write_bag(tmp_path / 'in', frames[:10], compressed=True)
    assert cli('process', str(bag), '-o', str(tmp_path / 'out.mcap')).returncode == 0
    by_topic: dict[str, list] = {'/faces': [], '/image_annotations': []}
    with open(tmp_path / 'out.mcap', 'rb') as f:
        for schema, channel, _, msg in make_reader(
                f, decoder_factories=[DecoderFactory()]).iter_decoded_messages(
                topics=list(by_topic)):
            by_topic[channel.topic].append((schema.name, msg))
    assert len(by_topic['/image_annotations']) == 10
    for (_, faces), (name, overlay) in zip(by_topic['/faces'], by_topic['/image_annotations']):
        assert name == 'foxglove_msgs/msg/ImageAnnotations'
        loops = [p for p in overlay.points if p.type == 2]  # LINE_LOOP: the boxes
        dots = [p for p in overlay.points if p.type == 1]  # POINTS: the landmarks
        assert len(loops) == len(overlay.texts) == len(faces.faces) >= 2
        for face, loop, text, landmarks in zip(faces.faces, loops, overlay.texts, dots):
            b = face.box
            assert [(p.x, p.y) for p in loop.points] == [
                (b.x_offset, b.y_offset), (b.x_offset + b.width, b.y_offset),
                (b.x_offset + b.width, b.y_offset + b.height),
                (b.x_offset, b.y_offset + b.height)]
            assert text.text == f'#{face.id} {face.expression} {face.confidence:.2f}'
            assert len(landmarks.points) == 68
            assert loop.timestamp.sec == faces.header.stamp.sec


@pytest.mark.parametrize('case,message', [
    ('missing', 'bag not found'),
    ('garbage', 'is not a readable rosbag2 bag'),
    ('no_images', 'holds no sensor_msgs Image or CompressedImage topic'),
    ('two_topics', 'has 2 image topics, choose one with bag_topic: /cam/image, /cam/other'),
    ('bad_encoding', "image encoding '32FC1' is not a picture"),
    ('not_an_image', 'holds diagnostic_msgs/msg/DiagnosticArray, not sensor_msgs'),
])
def test_bad_bags_are_one_line_and_exit_2(tmp_path, frames, case, message):
    path = tmp_path / 'bag'
    args = []
    if case == 'missing':
        path = tmp_path / 'gone.mcap'
    elif case == 'garbage':
        path = tmp_path / 'bag.mcap'
        path.write_bytes(os.urandom(5000))
    elif case in ('no_images', 'not_an_image'):
        with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
            writer.add_connection('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray',
                                  typestore=STORES)
        args = ['--bag-topic', '/diagnostics'] if case == 'not_an_image' else []
    elif case == 'two_topics':
        write_bag(path, frames[:2], extra=('/cam/other',))
    elif case == 'bad_encoding':
        write_bag(path, frames[:2], encoding='32FC1')
    done = cli('process', str(path), '-o', str(tmp_path / 'x.jsonl'), *args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr


def test_a_recorder_killed_with_sigkill_leaves_a_bag_replay_reads(tmp_path, video):
    out = tmp_path / 'killed'
    proc = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', str(video),
                             '--unity-port', '0', '--websocket-port', '-1', '--record',
                             str(out), '--record-raw'], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while sum(f.stat().st_size for f in out.glob('*.mcap')) < 8 << 20:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait()
    assert not (out / 'metadata.yaml').exists()
    with pytest.raises(Exception, match='magic'):
        with AnyReader([out / 'killed.mcap']):
            pass
    source = BagSource(out, '/image_raw')
    assert 'no metadata.yaml' in source.description
    count = 0
    while source.read() is not None:
        count += 1
    assert count >= 5 and source.last.image.shape == (480, 640, 3)
    done = cli('process', str(out), '-o', str(tmp_path / 'k.jsonl'), '--bag-topic', 'image_raw')
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / 'k.jsonl').read_text().splitlines()) == count


def test_a_full_disk_stops_the_recording_in_one_line_and_the_graph_serves_on(tmp_path):
    """RLIMIT_FSIZE makes writes past 4 MB fail (EFBIG) as a full disk fails them."""
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    proc = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                             '--unity-port', '0', '--websocket-port', '-1', '--record',
                             str(tmp_path / 'full'), '--record-raw'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=small_files, restore_signals=False)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any('recording stopped' in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stderr.readline())
        port = int(next(line for line in lines if 'serving Unity on' in line)
                   .split('127.0.0.1:')[1].split()[0])
        with socket.create_connection(('127.0.0.1', port)) as sock, \
                sock.makefile('rb') as stream:
            sock.sendall(b'{"type":"hello"}\n')
            got = [json.loads(stream.readline()) for _ in range(31)]
        assert sum(1 for g in got if g.get('type') == 'faces') == 30
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[1]
    errors = [line for line in lines + rest.splitlines() if 'ERROR' in line]
    assert len(errors) == 1 and 'File too large' in errors[0], errors
    assert proc.returncode == 0


def test_a_bag_source_that_cannot_be_read_is_one_line_in_a_running_camera(tmp_path):
    proc = subprocess.Popen([str(BIN / 'camera_node'), '--ros-args', '-p',
                             f'source:={tmp_path / "gone.mcap"}', '-p', 'retry_period:=0.2'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=30)[0]
    errors = [line for line in out.splitlines() if 'ERROR' in line]
    assert len(errors) == 1 and 'bag not found' in errors[0], out
    assert proc.returncode == 0

