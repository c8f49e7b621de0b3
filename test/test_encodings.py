"""Images as robots' own camera drivers publish them: every common encoding, compressed too.

Each frame is made from a face image with OpenCV's own colour codes (Bayer mosaics by
sampling, as a sensor does), packed into a real sensor_msgs/Image with odd row padding,
and sent through the perception node over real DDS.
"""

import cv2
import numpy as np
import pytest

from emotion_perception.io.image_encodings import ENCODINGS, UnsupportedEncoding, decode

from conftest import spin_until

#: Where each colour sits in a 2x2 Bayer cell, by pattern (BGR channel indices).
BAYER = {'rggb': (2, 1, 1, 0), 'bggr': (0, 1, 1, 2), 'gbrg': (1, 0, 2, 1),
         'grbg': (1, 2, 0, 1)}
#: OpenCV's codes from BGR to each packing this test makes with cvtColor.
FROM_BGR = {'mono': cv2.COLOR_BGR2GRAY, 'rgb': cv2.COLOR_BGR2RGB, 'bgra': cv2.COLOR_BGR2BGRA,
            'rgba': cv2.COLOR_BGR2RGBA, 'yuv422': cv2.COLOR_BGR2YUV_UYVY,
            'uyvy': cv2.COLOR_BGR2YUV_UYVY, 'yuv422_yuy2': cv2.COLOR_BGR2YUV_YUY2,
            'yuyv': cv2.COLOR_BGR2YUV_YUY2}
#: Encodings whose 8-bit picture is the original exactly (no chroma subsampling, no mosaic).
LOSSLESS = {name for name in ENCODINGS if not name.startswith(('bayer', 'yuv', 'uyvy', 'yuyv'))}


def encoded(name: str, bgr: np.ndarray, bigendian: bool = False) -> dict:
    """The Image fields of `bgr` in encoding `name`, rows padded by an odd pixel count."""
    family = name.rstrip('0123456789')
    if family.startswith('bayer_'):
        cell = BAYER[family[6:]]
        pixels = np.empty(bgr.shape[:2], np.uint8)
        for k, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            pixels[dy::2, dx::2] = bgr[dy::2, dx::2, cell[k]]
    elif family == 'bgr':
        pixels = bgr
    else:
        pixels = cv2.cvtColor(bgr, FROM_BGR.get(family, FROM_BGR.get(name)))
    if ENCODINGS[name].depth == 16:
        pixels = pixels.astype(np.uint16) * 257
        pixels = pixels.astype('>u2' if bigendian else '<u2')
    height, width = bgr.shape[:2]
    row = pixels.reshape(height, -1).view(np.uint8)
    padding = 3 * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
    data = np.concatenate([row, np.full((height, padding), 0xAB, np.uint8)], axis=1)
    return dict(encoding=name, width=width, height=height, step=data.shape[1],
                is_bigendian=int(bigendian), data=data.tobytes())


@pytest.fixture(scope='module')
def face(astronaut) -> np.ndarray:
    """A 640x480 BGR frame with the astronaut's face, even-sized for 4:2:2 and Bayer."""
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut, (512, 480))
    return frame


def _decode(fields: dict) -> np.ndarray:
    return decode(fields['encoding'], fields['width'], fields['height'], fields['step'],
                  fields['data'], bool(fields['is_bigendian']))


@pytest.mark.parametrize('name', sorted(ENCODINGS))
def test_every_encoding_decodes_to_the_picture(face, name):
    image = _decode(encoded(name, face))
    reference = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY) if ENCODINGS[name].mono else face
    assert image.dtype == np.uint8 and image.shape == reference.shape
    if name in LOSSLESS:
        assert np.array_equal(image, reference)
    else:  # chroma shared by two pixels, or one colour per pixel: close, not equal
        assert np.abs(image.astype(int) - reference).mean() < 6


@pytest.mark.parametrize('name', sorted(n for n in ENCODINGS if ENCODINGS[n].depth == 16))
def test_big_endian_16_bit_reads_as_little_endian(face, name):
    assert np.array_equal(_decode(encoded(name, face, bigendian=True)),
                          _decode(encoded(name, face)))


@pytest.mark.parametrize('name', ['32FC1', '16UC1', 'nv12', ''])
def test_other_encodings_are_refused_by_name(face, name):
    fields = dict(encoding=name, width=4, height=4, step=16, is_bigendian=0, data=bytes(64))
    with pytest.raises(UnsupportedEncoding, match=repr(name)):
        _decode(fields)


def test_a_short_buffer_is_refused(face):
    fields = encoded('rgb8', face)
    fields['data'] = fields['data'][:-1]
    with pytest.raises(ValueError, match='too few'):
        _decode(fields)


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
            assert np.array_equal(_decode(fields), theirs), (name, bigendian)


@pytest.fixture(scope='module')
def perception(ros_context):
    """A perception node that treats every frame alike: no smoothing, whole-frame searches."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from emotion_perception.ros.perception_node import PerceptionNode

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

    from emotion_perception.ros.perception_node import PerceptionNode

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
