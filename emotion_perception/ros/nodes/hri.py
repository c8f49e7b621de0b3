"""hri node: our faces as REP-155 (ROS4HRI) topics under `humans/faces/`.

`humans/faces/tracked` (hri_msgs/IdsList) lists the faces of every frame; each face has
`humans/faces/<id>/roi`, `landmarks`, `expression`, `cropped` and `aligned`, created when
the face appears and destroyed when it leaves. Cropped and aligned images need the camera
picture: the node reads `image_raw` only while one of them has a subscriber. Where tf2_ros
is installed (a ROS install) each face with a head pose also gets its `face_<id>` frame.
"""

import importlib
import sys
from collections import OrderedDict
from dataclasses import dataclass
from types import ModuleType
from typing import Optional

from geometry_msgs.msg import Quaternion, TransformStamped, Vector3
from rclpy.node import Node
from rclpy.publisher import Publisher
from sensor_msgs.msg import CameraInfo, Image

from emotion_perception.io.camera_model import DEFAULT_HORIZONTAL_FOV, CameraModel
from emotion_perception.io.parameters import ParamSpec
from emotion_perception.io.rep155 import (
    HRI_EXPRESSIONS,
    FaceIds,
    face_transform,
    normalized_landmarks,
    normalized_roi,
)
from emotion_perception.ros.conversions import (
    array_to_image,
    camera_model_from_msg,
    image_to_array,
    msg_to_result,
)
from emotion_perception.ros.diagnostics import OK, DiagnosticsReporter, RateMeter, Report
from emotion_perception.ros.image_subscription import ImagesWhileWanted
from emotion_perception.ros.interface import (
    FACES_TOPIC,
    HRI_FACES_NAMESPACE,
    IMAGE_PUBLISHER_QOS,
    IMAGE_SUBSCRIBER_QOS,
    MESSAGE_DEPTH,
    RAW_IMAGE_TOPIC,
    camera_info_topic,
)
from emotion_perception.ros.ros_params import declare
from emotion_perception.ros.setup_errors import reported
from emotion_perception.vision.face_crops import aligned, cropped
from emotion_perception.vision.results import Face
from emotion_perception_msgs.msg import FaceExpressionArray

try:  # a ROS install; not on the package registry
    from tf2_ros import TransformBroadcaster
except ImportError:
    TransformBroadcaster = None

HRI_PARAMETERS = (
    ParamSpec('crop_size', 128, 'Side of the cropped and aligned face images, pixels',
              16, 1024),
    ParamSpec('horizontal_fov', DEFAULT_HORIZONTAL_FOV, 'Camera horizontal field of view, '
              'degrees: places the face_<id> tf frames until a camera_info arrives', 1.0,
              179.0),
)
#: Where REP-155 puts faces (relative: a namespace moves it along with the graph).
#: Images kept while their faces are being computed (about a quarter second at 30 fps).
_PENDING_IMAGES = 8
#: How a ROS install and a pip-only checkout get hri_msgs.
HRI_MSGS_HINT = ('hri_msgs (REP-155) is not installed: on a ROS install `apt install '
                 'ros-$ROS_DISTRO-hri-msgs`; in a checkout `make ros-tools` builds it')


def hri_messages() -> ModuleType:
    """`hri_msgs.msg`; ValueError with how to install it when it is missing."""
    try:
        return importlib.import_module('hri_msgs.msg')
    except ImportError as exc:
        raise ValueError(HRI_MSGS_HINT) from exc


@dataclass
class FaceTopics:
    """The publishers of one face, for as long as it is tracked."""

    id: str
    roi: Publisher
    landmarks: Publisher
    expression: Publisher
    cropped: Publisher
    aligned: Publisher
    #: Filled in place each frame: building its 70 points anew cost 4 ms a frame at 8 faces.
    landmark_msg: object

    def all(self) -> tuple[Publisher, ...]:
        """Every publisher of the face."""
        return self.roi, self.landmarks, self.expression, self.cropped, self.aligned


class HriNode(Node):
    """Publishes each `faces` message again the ROS4HRI way; never waits for images.

    The work stays in the `faces` callback (about 2 ms a frame at 8 faces): handed to a
    thread of its own, its pure-Python bursts fought perception's worker for the GIL and
    the graph fell from 16 to 6 msg/s at 8 faces (benchmarks/bench_ros.py).
    """

    #: Publishes images: its process publishes asynchronously (main.dds_profile).
    PUBLISHES_IMAGES = True

    def __init__(self, **kwargs) -> None:
        super().__init__('hri', **kwargs)
        with reported(self):
            self._hri = hri_messages()
            params = declare(self, HRI_PARAMETERS, read_only=True)
        self._crop_size, self._fov = params['crop_size'], params['horizontal_fov']
        #: The camera's own model, once its camera_info arrives (else horizontal_fov's).
        self._camera: Optional[CameraModel] = None
        self.create_subscription(
            CameraInfo, camera_info_topic(self.resolve_topic_name(RAW_IMAGE_TOPIC)),
            self._on_camera_info, IMAGE_SUBSCRIBER_QOS)
        self._tf = TransformBroadcaster(self) if TransformBroadcaster else None
        self._ids = FaceIds()
        self._faces: dict[int, FaceTopics] = {}
        self._tracked = self.create_publisher(self._hri.IdsList,
                                              f'{HRI_FACES_NAMESPACE}/tracked', MESSAGE_DEPTH)
        self.create_subscription(FaceExpressionArray, FACES_TOPIC, self._on_faces,
                                 MESSAGE_DEPTH)
        self._pending: OrderedDict[tuple[int, int], Image] = OrderedDict()
        self._images = ImagesWhileWanted(self, self._on_image, on_drop=self._pending.clear)
        self.create_timer(0.5, self._follow_image_subscribers)
        self._published = 0
        self._meter = RateMeter()
        DiagnosticsReporter(self, 'REP-155 faces', self._report)
        self.get_logger().info(f'ready: faces -> {self.resolve_topic_name(HRI_FACES_NAMESPACE)}'
                               f'/... (REP-155); face frames on tf: '
                               f'{"yes" if self._tf else "no (tf2_ros not installed)"}')

    def _appear(self, track: int) -> FaceTopics:
        face_id = self._ids(track)
        base = f'{HRI_FACES_NAMESPACE}/{face_id}'
        hri = self._hri
        topics = FaceTopics(
            face_id,
            self.create_publisher(hri.NormalizedRegionOfInterest2D, f'{base}/roi', 1),
            self.create_publisher(hri.FacialLandmarks, f'{base}/landmarks', 1),
            self.create_publisher(hri.Expression, f'{base}/expression', 1),
            self.create_publisher(Image, f'{base}/cropped', IMAGE_PUBLISHER_QOS),
            self.create_publisher(Image, f'{base}/aligned', IMAGE_PUBLISHER_QOS),
            hri.FacialLandmarks())
        self._faces[track] = topics
        return topics

    def _leave(self, track: int) -> None:
        for publisher in self._faces.pop(track).all():
            self.destroy_publisher(publisher)

    def _on_faces(self, msg: FaceExpressionArray) -> None:
        """Per-face topics first, then `tracked`, so a consumer finds the topics it lists."""
        result = msg_to_result(msg)
        frame = self._picture(msg.header.stamp)
        for face in result.faces:
            topics = self._faces.get(face.id) or self._appear(face.id)
            self._publish_face(topics, face, msg, frame)
        for gone in set(self._faces) - {face.id for face in result.faces}:
            self._leave(gone)
        self._tracked.publish(self._hri.IdsList(
            header=msg.header, ids=[self._faces[face.id].id for face in result.faces]))
        if self._tf is not None:
            self._tf.sendTransform([self._frame(face, msg) for face in result.faces
                                    if face.head_pose is not None])
        self._published += 1

    def _on_camera_info(self, msg: CameraInfo) -> None:
        """Keep the camera's model; an uncalibrated one (K all zero) leaves the last."""
        camera = camera_model_from_msg(msg)
        if camera is not None and camera != self._camera:
            if self._camera is None:
                self.get_logger().info(f'face frames placed with {msg.header.frame_id}\'s '
                                       f'camera_info (fx {camera.fx:.1f} px)')
            self._camera = camera

    def _frame(self, face: Face, msg: FaceExpressionArray) -> TransformStamped:
        """REP-155's `face_<id>` in the images' frame: where its eyes put it, as it turns."""
        pose = face.head_pose
        camera = self._camera or CameraModel.from_fov(msg.image_width, msg.image_height,
                                                      self._fov)
        (x, y, z), (qx, qy, qz, qw) = face_transform(
            face.box, pose.yaw, pose.pitch, pose.roll,
            camera.scaled(msg.image_width, msg.image_height), face.landmarks)
        moved = TransformStamped(header=msg.header,
                                 child_frame_id=f'face_{self._faces[face.id].id}')
        moved.transform.translation = Vector3(x=x, y=y, z=z)
        moved.transform.rotation = Quaternion(x=qx, y=qy, z=qz, w=qw)
        return moved

    def _publish_face(self, topics: FaceTopics, face: Face, msg: FaceExpressionArray,
                      frame) -> None:
        hri, header = self._hri, msg.header
        width, height = msg.image_width, msg.image_height
        # Only topics someone reads are filled: a consumer often takes a face's roi alone.
        if topics.roi.get_subscription_count():
            xmin, ymin, xmax, ymax = normalized_roi(face.box, width, height)
            # Haar gives no detection score: a reported face has c = 1.
            topics.roi.publish(hri.NormalizedRegionOfInterest2D(
                header=header, xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax, c=1.0))
        if topics.expression.get_subscription_count():
            topics.expression.publish(hri.Expression(
                header=header, expression=HRI_EXPRESSIONS[face.expression],
                valence=face.valence, arousal=face.arousal, confidence=face.confidence))
        if face.landmarks is not None and topics.landmarks.get_subscription_count():
            marks = topics.landmark_msg
            marks.header, marks.height, marks.width = header, height, width
            for point, (x, y) in zip(marks.landmarks,
                                     normalized_landmarks(face.landmarks, width, height).tolist()):
                point.x, point.y, point.c = x, y, 1.0
            topics.landmarks.publish(marks)
        if frame is None:
            return
        if topics.cropped.get_subscription_count():
            topics.cropped.publish(array_to_image(
                cropped(frame, face.box, self._crop_size), header))
        if face.landmarks is not None and topics.aligned.get_subscription_count():
            topics.aligned.publish(array_to_image(
                aligned(frame, face.landmarks, self._crop_size), header))

    def _picture(self, stamp) -> Optional[object]:
        """The camera picture these faces were found in, decoded; None if not kept."""
        key = (stamp.sec, stamp.nanosec)
        image = self._pending.pop(key, None)
        while self._pending and next(iter(self._pending)) < key:
            self._pending.popitem(last=False)  # older pictures' faces have passed
        if image is None:
            return None
        try:
            return image_to_array(image)
        except ValueError:
            return None  # perception already says which encodings it cannot read

    def _on_image(self, msg: Image) -> None:
        self._pending[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg
        while len(self._pending) > _PENDING_IMAGES:
            self._pending.popitem(last=False)

    def _follow_image_subscribers(self) -> None:
        """Read images only while someone subscribes to a face's cropped or aligned image."""
        wanted = any(t.cropped.get_subscription_count() or t.aligned.get_subscription_count()
                     for t in self._faces.values())
        self._images.follow(wanted)

    def _report(self) -> Report:
        """Diagnostics: frames published, faces and publishers now (flat over days)."""
        return OK, 'publishing' if self._published else 'no faces messages yet', {
            'rate_hz': f'{self._meter.rate(self._published):.1f}',
            'published': self._published, 'faces': len(self._faces),
            'publishers': len(list(self.publishers)), 'tf': 'yes' if self._tf else 'no'}


def main(args: Optional[list[str]] = None) -> int:
    """`ros2 run emotion_perception hri_node`."""
    from emotion_perception.ros.main import node_main

    return node_main(HriNode, args)


if __name__ == '__main__':
    sys.exit(main())
