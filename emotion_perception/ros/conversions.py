"""Between ROS messages and the core's numpy arrays and dataclasses."""

import array
from typing import Callable, Optional, Union

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header

from emotion_perception.io.camera_model import CameraModel
from emotion_perception.io.recording import image_encodings
from emotion_perception.vision.results import Box, Face, FrameResult, HeadPose
from emotion_perception_msgs.msg import FaceExpression, FaceExpressionArray


def _own_decoder() -> Callable[[Union[Image, CompressedImage]], np.ndarray]:
    """This package's conversions (image_encodings), for machines without cv_bridge."""
    def decode(msg: Union[Image, CompressedImage]) -> np.ndarray:
        if isinstance(msg, CompressedImage):
            return image_encodings.decode_compressed(msg.format, msg.data)
        return image_encodings.decode(msg.encoding, msg.width, msg.height, msg.step,
                                      msg.data, bool(msg.is_bigendian))
    return decode


def _cv_bridge_decoder() -> Optional[Callable[[Union[Image, CompressedImage]], np.ndarray]]:
    """cv_bridge where a ROS install has it, for every encoding it converts; else None."""
    try:
        from cv_bridge import CvBridge, CvBridgeError
    except ImportError:
        return None
    bridge, own = CvBridge(), _own_decoder()
    # cv_bridge has no `uyvy`/`yuyv` names (only yuv422/yuv422_yuy2): ours do those.
    bridged = set(image_encodings.ENCODINGS) - {'uyvy', 'yuyv'}

    def decode(msg: Union[Image, CompressedImage]) -> np.ndarray:
        try:
            if isinstance(msg, CompressedImage):
                return bridge.compressed_imgmsg_to_cv2(msg, 'bgr8')
            if msg.encoding not in bridged:
                return own(msg)
            mono = image_encodings.encoding_of(msg.encoding).mono
            return bridge.imgmsg_to_cv2(msg, 'mono8' if mono else 'bgr8')
        except CvBridgeError as exc:
            raise ValueError(str(exc)) from exc
    return decode


_BRIDGED = _cv_bridge_decoder()
#: The one conversion the nodes call, chosen once: cv_bridge if installed, else ours.
#: Both give 8-bit BGR, or gray for mono encodings; ValueError for unusable images.
image_to_array = _BRIDGED or _own_decoder()
#: Which one that is, for the log.
IMAGE_CONVERTER = 'cv_bridge' if _BRIDGED else 'emotion_perception.io.recording.image_encodings'


def array_to_image(frame: np.ndarray, header: Header) -> Image:
    """A bgr8 (or mono8) Image message from an 8-bit array."""
    msg = Image(header=header, height=frame.shape[0], width=frame.shape[1], is_bigendian=0)
    msg.encoding = 'mono8' if frame.ndim == 2 else 'bgr8'
    msg.step = frame.shape[1] * (1 if frame.ndim == 2 else 3)
    # An array.array('B') skips the generated setter's per-byte check (~50 ms a frame).
    msg.data = array.array('B', np.ascontiguousarray(frame).tobytes())
    return msg


def stamp_seconds(stamp: Time) -> float:
    """A ROS time as float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def time_from_ns(nanoseconds: int) -> Time:
    """A ROS time from integer nanoseconds (a bag's stamps), exactly."""
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def _flat(points: Optional[np.ndarray]) -> array.array:
    """(68, 2) landmarks as the message's flat float32[] (array.array: no per-value checks)."""
    if points is None:
        return array.array('f')
    return array.array('f', np.ascontiguousarray(points, np.float32).tobytes())


def result_to_msg(result: FrameResult, header: Header) -> FaceExpressionArray:
    """A FaceExpressionArray for one frame, its header copied from the source image."""
    msg = FaceExpressionArray(header=header, image_width=result.width,
                              image_height=result.height, frame=result.frame)
    for face in result.faces:
        pose = face.head_pose
        msg.faces.append(FaceExpression(
            id=face.id,
            box=RegionOfInterest(x_offset=face.box.x, y_offset=face.box.y,
                                 width=face.box.width, height=face.box.height),
            expression_idx=face.expression_idx, expression=face.expression,
            confidence=face.confidence, scores=list(face.scores),
            landmarks=_flat(face.landmarks),
            has_head_pose=pose is not None,
            yaw=pose.yaw if pose else 0.0, pitch=pose.pitch if pose else 0.0,
            roll=pose.roll if pose else 0.0,
            valence=face.valence, arousal=face.arousal))
    return msg


def msg_to_result(msg: FaceExpressionArray) -> FrameResult:
    """The core's FrameResult from a FaceExpressionArray (for the JSON schema)."""
    faces = []
    for f in msg.faces:
        points = (np.frombuffer(f.landmarks, np.float32).reshape(-1, 2).copy()
                  if len(f.landmarks) else None)
        faces.append(Face(
            id=f.id, box=Box(f.box.x_offset, f.box.y_offset, f.box.width, f.box.height),
            scores=tuple(float(s) for s in f.scores), valence=float(f.valence),
            arousal=float(f.arousal), landmarks=points,
            head_pose=HeadPose(f.yaw, f.pitch, f.roll) if f.has_head_pose else None))
    return FrameResult(msg.frame, stamp_seconds(msg.header.stamp), msg.image_width,
                       msg.image_height, faces)


def camera_info_msg(camera: CameraModel, header: Header) -> CameraInfo:
    """The model as sensor_msgs/CameraInfo, stamped as the image it goes with."""
    k, r, p = camera.matrices()
    return CameraInfo(header=header, width=camera.width, height=camera.height,
                      distortion_model=camera.distortion_model, d=list(camera.distortion),
                      k=k, r=r, p=p)


def camera_model_from_msg(msg: CameraInfo) -> Optional[CameraModel]:
    """The pinhole model of a CameraInfo; None for an uncalibrated one (K all zero)."""
    if msg.k[0] <= 0 or msg.k[4] <= 0 or not msg.width or not msg.height:
        return None
    return CameraModel(msg.width, msg.height, msg.k[0], msg.k[4], msg.k[2], msg.k[5],
                       msg.distortion_model, tuple(msg.d), origin='camera_info')
