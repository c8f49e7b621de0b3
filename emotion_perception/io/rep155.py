"""REP-155 (ROS4HRI) values without ROS: face ids, expressions, landmarks, ROIs, face frames.

The hri node turns these into `hri_msgs`; kept here so that they are tested without them.
"""

import random
from typing import Optional

import numpy as np
from scipy.spatial.transform import Rotation

from emotion_perception.io.camera_model import CameraModel, distance_from_eyes
from emotion_perception.vision.face_crops import eye_centres
from emotion_perception.vision.results import Box

#: Our seven FER labels as hri_msgs/Expression's constants (NEUTRAL, ANGRY, ...).
HRI_EXPRESSIONS = {'Angry': 'angry', 'Disgust': 'disgusted', 'Fear': 'scared',
                   'Happy': 'happy', 'Sad': 'sad', 'Surprise': 'surprised',
                   'Neutral': 'neutral'}
_TAIL = 36 ** 4
_SPACE = 26 * _TAIL  # a letter, then four letters or digits: 43.7 million ids
_STRIDE = 28_629_151  # coprime with 26 and 36, so tracks map one-to-one onto the space


class FaceIds:
    """Short REP-155 face ids from our track numbers: 5 characters, a letter first.

    REP-155 wants short unique strings usable in topic names (a name may not start with a
    digit). Track k becomes the k-th element of a permutation of all 43.7 million such
    strings, shifted by a random offset per run: unique within a run without remembering
    any, unrelated to the last run's (whose ids a consumer may still hold), not guessable
    from the count of visitors.
    """

    def __init__(self, offset: Optional[int] = None) -> None:
        self._offset = random.SystemRandom().randrange(_SPACE) if offset is None else offset

    def __call__(self, track: int) -> str:
        """The id of track number `track`."""
        n = (track * _STRIDE + self._offset) % _SPACE
        head, tail = divmod(n, _TAIL)
        chars = []
        for _ in range(4):
            tail, digit = divmod(tail, 36)
            chars.append('0123456789abcdefghijklmnopqrstuvwxyz'[digit])
        return chr(ord('a') + head) + ''.join(reversed(chars))


def normalized_roi(box: Box, width: int, height: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of the box as fractions of the image, inside [0, 1]."""
    return (min(max(box.x / width, 0.0), 1.0), min(max(box.y / height, 0.0), 1.0),
            min(max((box.x + box.width) / width, 0.0), 1.0),
            min(max((box.y + box.height) / height, 0.0), 1.0))


def normalized_landmarks(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """The 68 dlib points (pixels) as hri_msgs' 70, normalized to [0, 1]: shape (70, 2)."""
    right, left = eye_centres(points)
    full = np.vstack([points, right, left]).astype(np.float64)
    full /= (width, height)
    return np.clip(full, 0.0, 1.0)


#: Width of an adult face (bizygomatic breadth, about 14-15 cm): what places a face at a
#: distance from its box's width in pixels when its landmarks (and so its eyes) are unknown.
FACE_WIDTH_M = 0.15
#: dlib's point at the top of the nose bridge: the sellion, REP-155's face frame origin.
SELLION = 27
#: The face frame of a face looking straight into the camera, in the camera's optical
#: frame (REP-103: z forward, x right, y down): REP-155's face x points out of the face
#: (towards the camera), y to the person's left (image right), z up (image up).
_FACING_CAMERA = Rotation.from_matrix([[0, 1, 0], [0, 0, -1], [-1, 0, 0]])


def face_transform(box: Box, yaw: float, pitch: float, roll: float, camera: CameraModel,
                   landmarks: Optional[np.ndarray] = None
                   ) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
    """REP-155's `face_<id>` frame in the image's optical frame: metres, quaternion xyzw.

    With its 68 landmarks the face sits at its sellion, at the distance its eye spacing
    gives (io.camera_model.distance_from_eyes); without, at its box's centre and the
    distance its box width gives (FACE_WIDTH_M). Its orientation comes from the head pose
    in our message's degrees (yaw to the image's left, pitch up, roll clockwise in the
    image are positive).
    """
    if landmarks is not None:
        right, left = eye_centres(landmarks)
        depth = distance_from_eyes(float(np.linalg.norm(left - right)), camera.fx)
        u, v = landmarks[SELLION]
    else:
        depth = camera.fx * FACE_WIDTH_M / max(box.width, 1)
        u, v = box.center
    position = camera.point_at(float(u), float(v), depth)
    head = Rotation.from_euler('ZYX', [-yaw, -pitch, -roll], degrees=True)  # intrinsic
    x, y, z, w = (_FACING_CAMERA * head).as_quat()
    return position, (float(x), float(y), float(z), float(w))
