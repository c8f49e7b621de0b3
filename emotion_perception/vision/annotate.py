"""A frame's faces as overlay shapes, drawn into the debug image or sent as data.

`overlay` decides what is shown (boxes, labels, landmarks, colours); `annotate` burns it
into pixels for `debug_image` and the operator page, and the perception node sends the
same shapes as Foxglove ImageAnnotations, so both views always agree.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from emotion_perception.vision.results import FrameResult

#: Colours as RGB 0..255 (OpenCV draws BGR: reversed there).
GREEN, YELLOW = (80, 220, 80), (255, 220, 0)
BOX_THICKNESS, POINT_SIZE, FONT_SCALE = 2, 2, 0.5
#: OpenCV's Hershey simplex at FONT_SCALE is about this many pixels high.
FONT_PIXELS = 12


@dataclass(frozen=True)
class FaceOverlay:
    """What is drawn for one face: its box corners, a label above it, its landmarks."""

    corners: tuple[tuple[int, int], ...]  # top-left, top-right, bottom-right, bottom-left
    label: str
    label_at: tuple[int, int]  # left end of the text's baseline
    landmarks: np.ndarray  # (N, 2) pixels; N = 0 without landmarks


def overlay(result: FrameResult) -> list[FaceOverlay]:
    """One FaceOverlay per face of the frame."""
    shapes = []
    for face in result.faces:
        b = face.box
        x1, y1 = b.x + b.width, b.y + b.height
        shapes.append(FaceOverlay(
            corners=((b.x, b.y), (x1, b.y), (x1, y1), (b.x, y1)),
            label=f'#{face.id} {face.expression} {face.confidence:.2f}',
            label_at=(b.x, max(FONT_PIXELS, b.y - 6)),
            landmarks=np.zeros((0, 2)) if face.landmarks is None else face.landmarks))
    return shapes


def annotate(image: np.ndarray, result: FrameResult) -> np.ndarray:
    """A BGR copy of `image` with each face's overlay drawn in."""
    if image.ndim == 2:
        canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        canvas = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    else:
        canvas = image.copy()
    green, yellow = GREEN[::-1], YELLOW[::-1]
    for shape in overlay(result):
        cv2.rectangle(canvas, shape.corners[0], shape.corners[2], green, BOX_THICKNESS)
        cv2.putText(canvas, shape.label, shape.label_at, cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE,
                    green, 1, cv2.LINE_AA)
        for x, y in shape.landmarks.astype(int):
            cv2.circle(canvas, (int(x), int(y)), POINT_SIZE // 2, yellow, -1)
    return canvas
