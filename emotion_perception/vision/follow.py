"""Following a known face from frame to frame by its landmarks instead of a Haar search.

A Haar search near each known face costs about 2.6 ms a face on a 2-core machine; the
68 landmarks, needed anyway for alignment and head pose, cost about as much and already
say where the face went. So between Haar confirmations a face's box is carried by its
landmarks: the box keeps the offset and size it had, relative to the landmarks, when Haar
last confirmed it, so boxes stay Haar boxes by definition. A small normalised patch of
the face, compared with the one taken at that confirmation, tells when the face has gone
(or turned away): then Haar is asked again at once. Between dlib fits (see
PipelineConfig.landmark_budget) the landmarks themselves are followed by optical flow.
"""

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from emotion_perception.vision.results import Box

#: Side of the patch that recognises a face again: small, so shifts of a few pixels and
#: expression changes barely move it, while a face leaving the box changes it completely.
PATCH_SIDE = 16
#: Lucas-Kanade window (pixels) and pyramid levels for following landmarks between dlib
#: fits: together they reach about 30 pixels of motion a frame.
FLOW_WINDOW = (11, 11)
FLOW_LEVELS = 3
#: At most 10 iterations a level, or until a point moves under 0.03 px: the cost is per
#: point, per level and per iteration, and OpenCV's default (30, 0.01) cost about 15 %
#: more for landmarks no closer to dlib's next fit (docs/perception.md).
FLOW_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.03)


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


#: Where the whole-frame search puts a face's box, relative to its 68 landmarks: the mean
#: over 1,080 FER2013 Training faces pasted at 112 px (tools/crop_frame.py). The
#: classifier's crop is taken from it, not from the face's own box: FER2013's crops, which
#: the model learnt from, are about that box (1.016 times its side), while a box confirmed
#: by a search near the face follows the size it was expected at, and on the FER-faces
#: video grew to 1.096 times it (expression right 57.5 % there; 61.6 % with this frame).
HAAR_FRAME = Anchor(0.0013, -0.3417, 3.2574, 3.2574)


def _centre_spread(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid of the points and their RMS distance from it (at least one pixel).

    The RMS distance is the root of the summed variances of x and y: one OpenCV call,
    a quarter of numpy's cost (this runs several times per face and frame).
    """
    centre, std = cv2.meanStdDev(points.reshape(-1, 1, 2))
    return centre.ravel(), max(float(np.sqrt((std * std).sum())), 1.0)


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


def flowed(previous: np.ndarray, gray: np.ndarray, faces: list[np.ndarray],
           min_consistent: float = 0.8) -> list[Optional[np.ndarray]]:
    """Each face's landmarks moved from `previous` to `gray` by pyramidal Lucas-Kanade flow.

    One call for all faces: about 0.3 ms a face, against 2.7 ms for dlib, plus 0.5 ms
    for the image pyramids; it follows motion up to about 30 pixels a frame. A face
    moves about rigidly between two frames, so a point the flow lost, or moved away from
    the face's rigid motion (a similarity transform fitted with RANSAC) by more than a
    tenth of the landmarks' spread, goes where that motion takes it. A face with fewer
    than `min_consistent` of its points consistent gives None.
    """
    if not faces:
        return []
    start = np.concatenate(faces).reshape(-1, 1, 2).astype(np.float32)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, start, None,
                                                winSize=FLOW_WINDOW, maxLevel=FLOW_LEVELS,
                                                criteria=FLOW_CRITERIA)
    bounds = np.cumsum([len(f) for f in faces])[:-1]
    return [_rigidly_consistent(before, after.reshape(-1, 2), ok.reshape(-1) == 1,
                                min_consistent)
            for before, after, ok in zip(faces, np.split(moved, bounds),
                                         np.split(status, bounds))]


def _rigidly_consistent(before: np.ndarray, after: np.ndarray, ok: np.ndarray,
                        min_consistent: float) -> Optional[np.ndarray]:
    """`after`, with points off the face's rigid motion put where that motion takes them."""
    if ok.sum() < max(3, min_consistent * len(ok)):
        return None
    tolerance = 0.1 * _centre_spread(before)[1]
    rigid, _ = cv2.estimateAffinePartial2D(before[ok], after[ok],
                                           ransacReprojThreshold=tolerance)
    if rigid is None:
        return None
    predicted = before @ rigid[:, :2].T + rigid[:, 2]
    good = ok & (np.linalg.norm(after - predicted, axis=1) <= tolerance)
    if good.mean() < min_consistent:
        return None
    return np.where(good[:, np.newaxis], after, predicted).astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two patches: 1 same picture, about 0 unrelated."""
    return float(np.dot(a, b))
