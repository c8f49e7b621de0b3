"""Following a known face from frame to frame by its landmarks instead of a Haar search.

A Haar search near each known face costs about 2.6 ms a face on a 2-core machine; the
68 landmarks, needed anyway for alignment and head pose, cost about as much and already
say where the face went. So between Haar confirmations a face's box is carried by its
landmarks: the box keeps the offset and size it had, relative to the landmarks, when Haar
last confirmed it, so boxes stay Haar boxes by definition. A small normalised patch of
the face, compared with the one taken at that confirmation, tells when the face has gone
(or turned away): then Haar is asked again at once.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from emotion_perception.vision.results import Box

#: Side of the patch that recognises a face again: small, so shifts of a few pixels and
#: expression changes barely move it, while a face leaving the box changes it completely.
PATCH_SIDE = 16


@dataclass(frozen=True)
class Anchor:
    """A Haar box relative to its landmarks: centre offset and width, in landmark spreads."""

    dx: float
    dy: float
    width: float
    height: float

    @classmethod
    def of(cls, box: Box, points: np.ndarray) -> 'Anchor':
        """The anchor that maps `points` back onto `box`."""
        centre, spread = _centre_spread(points)
        cx, cy = box.center
        return cls((cx - centre[0]) / spread, (cy - centre[1]) / spread,
                   box.width / spread, box.height / spread)

    def box(self, points: np.ndarray) -> Box:
        """The box these landmarks carry."""
        centre, spread = _centre_spread(points)
        width, height = self.width * spread, self.height * spread
        return Box(int(round(centre[0] + self.dx * spread - width / 2)),
                   int(round(centre[1] + self.dy * spread - height / 2)),
                   int(round(width)), int(round(height)))


def _centre_spread(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid of the points and their RMS distance from it (at least one pixel)."""
    centre = points.mean(axis=0)
    spread = float(np.sqrt(((points - centre) ** 2).sum(axis=1).mean()))
    return centre, max(spread, 1.0)


def patch(gray: np.ndarray, box: Box) -> np.ndarray:
    """The face in `box` as a small zero-mean, unit-norm vector (lighting cancels out)."""
    roi = box.clipped(gray.shape[1], gray.shape[0])
    if roi.width < 2 or roi.height < 2:
        return np.zeros(PATCH_SIDE * PATCH_SIDE, np.float32)
    small = cv2.resize(gray[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width],
                       (PATCH_SIDE, PATCH_SIDE), interpolation=cv2.INTER_AREA)
    vector = small.astype(np.float32).ravel()
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-6 else vector


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two patches: 1 same picture, about 0 unrelated."""
    return float(np.dot(a, b))
