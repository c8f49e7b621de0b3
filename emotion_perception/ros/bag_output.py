"""`process IN --output OUT.mcap`: faces and their overlays as messages in a new bag.

The messages are the perception node's own (`result_to_msg`, `result_to_annotations`),
serialized by rclpy, so a bag made offline and one recorded from the graph hold the same.
"""

import shutil
from pathlib import Path
from typing import Optional

from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from emotion_perception.io.recording.bags import Bag, BagError, BagImage, BagMessage, BagWriter
from emotion_perception.ros.conversions import result_to_msg, time_from_ns
from emotion_perception.ros.image_annotations import ANNOTATIONS_TYPE, result_to_annotations
from emotion_perception.ros.interface import ANNOTATIONS_TOPIC
from emotion_perception.ros.message_types import package_msg_files
from emotion_perception.vision.results import FrameResult

FACES_TYPE = 'emotion_perception_msgs/msg/FaceExpressionArray'


class FacesBag:
    """A bag sink: faces and their overlays stamped as each source image, and the input.

    The overlays go beside the faces topic: `/faces` -> `/image_annotations`.
    """

    def __init__(self, path: Path, source: Bag, faces_topic: str = '/faces',
                 copy_input: bool = True) -> None:
        self.path = path
        # OUT.mcap is one bare MCAP file; any other name a rosbag2 folder.
        self._folder = path.with_name(path.name + '.partial') if path.suffix == '.mcap' \
            else path
        if self._folder != path and path.exists():
            raise BagError(f'{path} exists already, not overwriting')
        self._writer = BagWriter(self._folder)
        self._writer.define(package_msg_files('emotion_perception_msgs'))
        self._writer.define(package_msg_files('foxglove_msgs'))
        self._faces_topic, self._copy = faces_topic, copy_input
        self._annotations_topic = faces_topic.rpartition('/')[0] + '/' + ANNOTATIONS_TOPIC
        self._writer.add_topic(faces_topic, FACES_TYPE)
        self._writer.add_topic(self._annotations_topic, ANNOTATIONS_TYPE)
        if copy_input:
            for topic, info in source.topics.items():
                if topic not in (faces_topic, self._annotations_topic):
                    self._writer.add_topic(topic, info.msgtype, info.msgdef)

    def __call__(self, message: BagMessage, image: Optional[BagImage],
                 result: Optional[FrameResult]) -> None:
        """Copy the input message (if kept) and write the faces of an image."""
        if self._copy and message.topic not in (self._faces_topic, self._annotations_topic):
            self._writer.write(message.topic, message.log_time, message.data)
        if image is not None and result is not None:
            header = Header(stamp=time_from_ns(image.stamp), frame_id=image.frame_id)
            self._writer.write(self._faces_topic, message.log_time,
                               serialize_message(result_to_msg(result, header)))
            self._writer.write(self._annotations_topic, message.log_time,
                               serialize_message(result_to_annotations(result, header.stamp)))

    @property
    def written(self) -> dict[str, int]:
        """Messages written per topic."""
        return self._writer.written

    def close(self) -> None:
        """Summary and metadata.yaml; for OUT.mcap, the file moved out of its folder."""
        self._writer.close()
        if self._folder != self.path:
            next(self._folder.glob('*.mcap')).rename(self.path)
            shutil.rmtree(self._folder)
