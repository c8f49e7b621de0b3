"""The camera publishes camera_info beside its images: its calibration, else its lens's pinhole."""

import pytest

from conftest import spin_until

CALIBRATION = """image_width: 320
image_height: 240
camera_name: head
camera_matrix: {rows: 3, cols: 3, data: [300.0, 0.0, 161.0, 0.0, 302.0, 119.0, 0.0, 0.0, 1.0]}
distortion_model: plumb_bob
distortion_coefficients: {rows: 1, cols: 5, data: [0.1, -0.2, 0.0, 0.0, 0.0]}
"""


def _first_info(namespace: str, remap: list[str], **params):
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from emotion_perception.ros.nodes.camera import CameraNode

    camera = CameraNode(namespace=namespace, cli_args=['--ros-args', *remap],
                        parameter_overrides=[Parameter('source', value='demo'),
                                             *(Parameter(k, value=v) for k, v in params.items())])
    probe = Node(f'probe_{namespace}')
    infos, images = [], []
    info_topic = f'/{namespace}/camera_info' if not remap else '/cam/camera_info'
    image_topic = f'/{namespace}/image_raw' if not remap else '/cam/image'
    probe.create_subscription(CameraInfo, info_topic, infos.append, qos_profile_sensor_data)
    probe.create_subscription(Image, image_topic, images.append, qos_profile_sensor_data)
    spin_until([camera, probe], lambda: infos and images, timeout=15)
    camera.destroy_node()
    probe.destroy_node()
    assert infos and images, (len(infos), len(images))
    return infos[0], images


def test_without_calibration_camera_info_is_the_field_of_views_pinhole(ros_context):
    info, images = _first_info('fov', [], horizontal_fov=90.0)
    assert (info.width, info.height) == (640, 480)
    assert info.k[0] == pytest.approx(320.0) and info.k[4] == pytest.approx(320.0)
    assert (info.k[2], info.k[5]) == (320.0, 240.0)
    assert any(image.header.stamp == info.header.stamp for image in images)
    assert info.header.frame_id == images[0].header.frame_id == 'camera'


def test_a_calibration_file_is_published_scaled_beside_a_remapped_image_topic(tmp_path,
                                                                           ros_context):
    path = tmp_path / 'head.yaml'
    path.write_text(CALIBRATION)
    info, _ = _first_info('calibrated', ['-r', 'image_raw:=/cam/image'],
                          camera_info_url=f'file://{path}')
    assert (info.width, info.height) == (640, 480)  # the stream's size, not the file's
    assert list(info.k) == pytest.approx([600.0, 0, 322.0, 0, 604.0, 238.0, 0, 0, 1])
    assert list(info.d) == pytest.approx([0.1, -0.2, 0, 0, 0])
    assert info.distortion_model == 'plumb_bob'
