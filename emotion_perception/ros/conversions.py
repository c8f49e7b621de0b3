"""Between ROS messages and the core's numpy arrays and dataclasses (no cv_bridge on pip)."""

import array

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point32
from sensor_msgs.msg import Image, RegionOfInterest
from std_msgs.msg import Header

from emotion_perception.vision.results import Box, Face, FrameResult, HeadPose
from emotion_perception_msgs.msg import FaceExpression, FaceExpressionArray

#: Encodings the perception node accepts, and their channel counts.
CHANNELS = {'bgr8': 3, 'rgb8': 3, 'bgra8': 4, 'rgba8': 4, 'mono8': 1}


def image_to_array(msg: Image) -> np.ndarray:
    """An 8-bit gray, BGR or BGRA array viewing the message's data; ValueError if unusable."""
    channels = CHANNELS.get(msg.encoding)
    if channels is None:
        raise ValueError(f'image encoding {msg.encoding!r} is not supported; publish one of '
                         f'{", ".join(CHANNELS)}')
    row = msg.width * channels
    if msg.step < row or len(msg.data) < msg.step * msg.height:
        raise ValueError(f'{msg.width}x{msg.height} {msg.encoding} image has step {msg.step} '
                         f'and {len(msg.data)} bytes; too few')
    data = np.frombuffer(msg.data, dtype=np.uint8, count=msg.step * msg.height)
    array = data.reshape(msg.height, msg.step)[:, :row].reshape(msg.height, msg.width, channels)
    if msg.encoding.startswith('rgb'):
        array = array[:, :, [2, 1, 0, 3][:channels]]
    return array[:, :, 0] if channels == 1 else array


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
            landmarks=[] if face.landmarks is None else
            [Point32(x=float(x), y=float(y)) for x, y in face.landmarks],
            has_head_pose=pose is not None,
            yaw=pose.yaw if pose else 0.0, pitch=pose.pitch if pose else 0.0,
            roll=pose.roll if pose else 0.0,
            valence=face.valence, arousal=face.arousal))
    return msg


def msg_to_result(msg: FaceExpressionArray) -> FrameResult:
    """The core's FrameResult from a FaceExpressionArray (for the JSON schema)."""
    faces = []
    for f in msg.faces:
        points = (np.array([(p.x, p.y) for p in f.landmarks], dtype=np.float32)
                  if f.landmarks else None)
        faces.append(Face(
            id=f.id, box=Box(f.box.x_offset, f.box.y_offset, f.box.width, f.box.height),
            scores=tuple(float(s) for s in f.scores), valence=float(f.valence),
            arousal=float(f.arousal), landmarks=points,
            head_pose=HeadPose(f.yaw, f.pitch, f.roll) if f.has_head_pose else None))
    return FrameResult(msg.frame, stamp_seconds(msg.header.stamp), msg.image_width,
                       msg.image_height, faces)
