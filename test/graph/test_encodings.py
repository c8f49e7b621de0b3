"""Images as robots' own camera drivers publish them: every common encoding, compressed too.

Each frame is made from a face image with OpenCV's own colour codes (Bayer mosaics by
sampling, as a sensor does), packed into a real sensor_msgs/Image with odd row padding,
and sent through the perception node over real DDS.
"""

import cv2
import numpy as np
import pytest
from encoded_images import LOSSLESS, decoded, encoded

from emotion_perception.io.recording.image_encodings import ENCODINGS

from conftest import spin_until


def test_cv_bridge_and_ours_agree_pixel_for_pixel(face):
    cv_bridge = pytest.importorskip('cv_bridge', reason='cv_bridge (a ROS install) not '
                                    'installed; the comparison runs where it is')
    from sensor_msgs.msg import Image

    bridge = cv_bridge.CvBridge()
    for name in sorted(set(ENCODINGS) - {'uyvy', 'yuyv'}):
        for bigendian in (False, True) if ENCODINGS[name].depth == 16 else (False,):
            fields = encoded(name, face, bigendian)
            desired = 'mono8' if ENCODINGS[name].mono else 'bgr8'
            theirs = bridge.imgmsg_to_cv2(Image(**fields), desired)
            assert np.array_equal(decoded(fields), theirs), (name, bigendian)


@pytest.fixture(scope='module')
def perception(ros_context):
    """A perception node that treats every frame alike: no smoothing, whole-frame searches."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from emotion_perception.ros.nodes.perception import PerceptionNode

    node = PerceptionNode(namespace='enc_all', parameter_overrides=[
        Parameter('smoothing', value=0.0), Parameter('detect_every', value=1)])
    probe = Node('probe_encodings')
    yield node, probe
    node.destroy_node()
    probe.destroy_node()


def _faces_for(perception, topic: str, msg, frame_id: str, msg_type=None) -> list:
    """The faces perception reports for `msg` (published until its answer comes back)."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from emotion_perception_msgs.msg import FaceExpressionArray

    node, probe = perception
    pub = probe.create_publisher(msg_type or Image, topic, qos_profile_sensor_data)
    answers = []
    sub = probe.create_subscription(
        FaceExpressionArray, node.resolve_topic_name('faces'),
        lambda m: answers.append(m) if m.header.frame_id == frame_id else None, 10)
    msg.header.frame_id = frame_id
    spin_until([node, probe], lambda: answers, 30, each=lambda: pub.publish(msg))
    probe.destroy_publisher(pub)
    probe.destroy_subscription(sub)
    assert answers, f'no faces message for {frame_id}'
    return list(answers[-1].faces)


def _iou(a, b) -> float:
    ix = max(0, min(a.x_offset + a.width, b.x_offset + b.width) - max(a.x_offset, b.x_offset))
    iy = max(0, min(a.y_offset + a.height, b.y_offset + b.height) - max(a.y_offset, b.y_offset))
    inter = ix * iy
    return inter / (a.width * a.height + b.width * b.height - inter)


@pytest.fixture(scope='module')
def bgr8_faces(perception, face):
    from sensor_msgs.msg import Image

    faces = _faces_for(perception, '/enc_all/image_raw', Image(**encoded('bgr8', face)),
                       'bgr8')
    assert len(faces) == 1 and faces[0].expression == 'Happy'
    return faces


@pytest.mark.parametrize('name', sorted(set(ENCODINGS) - {'bgr8'}))
def test_perception_over_dds_finds_the_bgr8_faces_in_every_encoding(perception, face,
                                                                    bgr8_faces, name):
    from sensor_msgs.msg import Image

    bigendian = ENCODINGS[name].depth == 16 and 'gb' in name  # some 16-bit ones big-endian
    faces = _faces_for(perception, '/enc_all/image_raw',
                       Image(**encoded(name, face, bigendian)), name)
    assert len(faces) == len(bgr8_faces), name
    for got, want in zip(faces, bgr8_faces):
        assert _iou(got.box, want.box) > (0.99 if name in LOSSLESS else 0.8), name
        assert got.expression == want.expression


@pytest.mark.parametrize('fmt', ['jpeg', 'png'])
def test_compressed_images_from_a_real_publisher_via_image_transport_naming(ros_context, face,
                                                                            bgr8_faces, fmt):
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import CompressedImage

    from emotion_perception.ros.nodes.perception import PerceptionNode

    node = PerceptionNode(namespace='cmp', cli_args=['--ros-args', '-r', 'image_raw:=cam/image'],
                          parameter_overrides=[Parameter('image_transport', value='compressed'),
                                               Parameter('smoothing', value=0.0)])
    probe = Node('probe_compressed')
    ok, data = cv2.imencode('.jpg' if fmt == 'jpeg' else '.png', face)
    msg = CompressedImage(format=fmt, data=data.tobytes())
    try:
        faces = _faces_for((node, probe), '/cmp/cam/image/compressed', msg, fmt,
                           CompressedImage)
    finally:
        node.destroy_node()
        probe.destroy_node()
    assert len(faces) == 1 and _iou(faces[0].box, bgr8_faces[0].box) > 0.8
    assert faces[0].expression == 'Happy'


def test_an_unknown_encoding_is_one_log_line_and_the_node_keeps_serving(perception, face,
                                                                        capfd):
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    node, probe = perception
    pub = probe.create_publisher(Image, '/enc_all/image_raw', qos_profile_sensor_data)
    depth = Image(encoding='32FC1', width=8, height=8, step=32, data=bytes(256))
    before = node._rejected
    spin_until([node, probe], lambda: node._rejected >= before + 5, 10,
               each=lambda: pub.publish(depth))
    probe.destroy_publisher(pub)
    assert node._rejected >= before + 5
    lines = [line for line in capfd.readouterr().err.splitlines() if '32FC1' in line]
    assert len(lines) == 1 and 'ERROR' in lines[0], lines
    from sensor_msgs.msg import Image as Raw

    assert _faces_for(perception, '/enc_all/image_raw', Raw(**encoded('rgb8', face)),
                      'after_unknown')
