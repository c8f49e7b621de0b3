"""Draw a frame's faces onto the image, for the debug image topic."""

import cv2
import numpy as np

from emotion_perception.vision.results import FrameResult

GREEN, YELLOW = (80, 220, 80), (0, 220, 255)


def annotate(image: np.ndarray, result: FrameResult) -> np.ndarray:
    """A BGR copy of `image` with each face's box, id, label, confidence and landmarks."""
    if image.ndim == 2:
        canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        canvas = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    else:
        canvas = image.copy()
    for face in result.faces:
        b = face.box
        cv2.rectangle(canvas, (b.x, b.y), (b.x + b.width, b.y + b.height), GREEN, 2)
        label = f'#{face.id} {face.expression} {face.confidence:.2f}'
        cv2.putText(canvas, label, (b.x, max(12, b.y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    GREEN, 1, cv2.LINE_AA)
        if face.landmarks is not None:
            for x, y in face.landmarks.astype(int):
                cv2.circle(canvas, (int(x), int(y)), 1, YELLOW, -1)
    return canvas
