"""Square face images for REP-155's `cropped` and `aligned` topics: numpy in, numpy out."""

import math

import cv2
import numpy as np

from emotion_perception.vision.results import Box

#: Where `aligned` puts the eye centres, as fractions of its side: the image-left eye
#: (the person's right) first. Eyes level, 40 % of the side apart, as in FER-style crops.
ALIGNED_EYES = ((0.3, 0.38), (0.7, 0.38))
#: dlib 68-point indices of the person's right and left eye contours.
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The person's right and left eye centres (pixels) from dlib's 68 points."""
    return landmarks[RIGHT_EYE].mean(axis=0), landmarks[LEFT_EYE].mean(axis=0)


def cropped(frame: np.ndarray, box: Box, size: int = 128, margin: float = 0.2) -> np.ndarray:
    """The box made square and widened by `margin` of its side each way, as size x size.

    Parts outside the frame are black, so a face at the border keeps its place in the crop.
    """
    side = max(box.width, box.height) * (1.0 + 2.0 * margin)
    scale = size / side
    cx, cy = box.center
    warp = np.float32([[scale, 0.0, size / 2.0 - cx * scale],
                       [0.0, scale, size / 2.0 - cy * scale]])
    return cv2.warpAffine(frame, warp, (size, size), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_CONSTANT)


def aligned(frame: np.ndarray, landmarks: np.ndarray, size: int = 128) -> np.ndarray:
    """The face turned and scaled so that its eyes sit level at ALIGNED_EYES, size x size."""
    right, left = eye_centres(landmarks)
    dx, dy = float(left[0] - right[0]), float(left[1] - right[1])
    (rx, ry), (lx, _) = ALIGNED_EYES
    scale = (lx - rx) * size / max(math.hypot(dx, dy), 1e-6)
    angle = math.degrees(math.atan2(dy, dx))  # rotating by it levels the eyes
    warp = cv2.getRotationMatrix2D((float(right[0]), float(right[1])), angle, scale)
    warp[:, 2] += (rx * size - right[0], ry * size - right[1])
    return cv2.warpAffine(frame, warp, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
