"""The camera node's `camera_info`: its calibration file's model, else its field of view's.

Published with every image, stamped as it, beside it (interface.camera_info_topic), so
REP-155 consumers and image_proc-style tools can place what the image shows. Which
model is in use is said once, with where it comes from.
"""

from typing import Optional

from rclpy.node import Node
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from emotion_perception.io.camera_model import CameraModel, calibration_path
from emotion_perception.ros.conversions import camera_info_msg
from emotion_perception.ros.interface import (
    IMAGE_PUBLISHER_QOS,
    RAW_IMAGE_TOPIC,
    camera_info_topic,
)


class CameraInfoPublisher:
    """camera_info for each published image, scaled to its size."""

    def __init__(self, node: Node, url: str, horizontal_fov: float) -> None:
        path = calibration_path(url)
        #: The calibration, at the size it was made; None: the field of view's pinhole.
        self._calibration = CameraModel.from_calibration(path) if path else None
        self._fov = horizontal_fov
        self._model: Optional[CameraModel] = None
        self._logger = node.get_logger()
        self._pub = node.create_publisher(
            CameraInfo, camera_info_topic(node.resolve_topic_name(RAW_IMAGE_TOPIC)),
            IMAGE_PUBLISHER_QOS)

    def publish(self, header: Header, width: int, height: int) -> None:
        """The model of a width x height image, with the image's header."""
        if self._model is None or (self._model.width, self._model.height) != (width, height):
            self._model = (self._calibration.scaled(width, height) if self._calibration
                           else CameraModel.from_fov(width, height, self._fov))
            self._logger.info(f'{self._pub.topic_name} from {self._model.origin}'
                              + ('' if self._calibration else
                                 ' (no camera_info_url given: distances are estimates)')
                              + f', {width}x{height}, fx {self._model.fx:.1f} px')
        self._pub.publish(camera_info_msg(self._model, header))
