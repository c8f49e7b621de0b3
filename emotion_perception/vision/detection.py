"""Haar frontal-face detection: searches for new faces, and cheaper ones near known faces.

Whole-frame and changed-region searches run at a bounded working resolution.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from emotion_perception.vision.model_store import ModelError
from emotion_perception.vision.results import Box
from emotion_perception.vision.settings import check_ranges, setting

#: The frontal-face cascade's training window: it cannot find anything smaller.
HAAR_WINDOW = 24


def to_boxes(rects: np.ndarray, scale: float = 1.0, origin: Box = Box(0, 0, 0, 0)) -> list[Box]:
    """Frame boxes from OpenCV (x, y, w, h) rects found on a region resized by `scale`.

    Sorted: OpenCV's cascade collects its finds on several threads, so their order varies
    from run to run, and ties downstream (two finds of one face) must not.
    """
    boxes = [Box(origin.x + int(round(x / scale)), origin.y + int(round(y / scale)),
                 int(round(w / scale)), int(round(h / scale))) for x, y, w, h in rects]
    return sorted(boxes, key=lambda b: (b.y, b.x, b.width, b.height))


@dataclass(frozen=True)
class DetectorConfig:
    """Haar settings; the first three default to the original scripts' values."""

    scale_factor: float = setting(1.1, 1.01, 2.0)
    min_neighbors: int = setting(5, 0, 20)
    min_size: int = setting(30, 1, 1000)
    #: Searches for new faces run on the frame resized to at most this width, so their
    #: cost does not grow with the camera's resolution (a 1280x720 frame is searched at
    #: half size: faces under 2 * min_size pixels are then out of reach).
    search_width: int = setting(640, 160, 4096)
    #: The whole-frame search runs on that working frame resized by this factor again.
    #: Faces smaller than HAAR_WINDOW / detect_scale working pixels are then out of reach.
    detect_scale: float = setting(0.5, 0.1, 1.0)
    #: Search near a known face: the box grown by this fraction of its size on each side...
    roi_margin: float = setting(0.5, 0.0, 2.0)
    #: ...and resized so the known face is about this many pixels wide...
    roi_face_size: int = setting(48, HAAR_WINDOW + 8)
    #: ...and searched with this minNeighbors: a face is expected there, so fewer votes do.
    roi_min_neighbors: int = setting(3, 0)

    def __post_init__(self) -> None:
        """Reject values the cascade cannot use, with the reason."""
        check_ranges(self)


class FaceDetector:
    """OpenCV's Haar cascade, run on a downscaled frame or on a region near a known face."""

    def __init__(self, cascade_path: Path, config: DetectorConfig = DetectorConfig()) -> None:
        try:
            self._cascade = cv2.CascadeClassifier(str(cascade_path))
        except (cv2.error, SystemError) as exc:
            raise ModelError(f'{cascade_path} is not a Haar cascade OpenCV can load') from exc
        if self._cascade.empty():
            raise ModelError(f'{cascade_path} is not a Haar cascade OpenCV can load')
        self.config = config

    def working_scale(self, gray: np.ndarray) -> float:
        """The factor that brings `gray` down to the working width for searches."""
        return min(1.0, self.config.search_width / gray.shape[1])

    def detect(self, gray: np.ndarray) -> list[Box]:
        """All faces in a full grayscale frame."""
        cfg = self.config
        scale = cfg.detect_scale * self.working_scale(gray)
        small = gray if scale == 1.0 else cv2.resize(
            gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        min_px = max(1, int(round(cfg.min_size * scale)))
        rects = self._cascade.detectMultiScale(
            small, scaleFactor=cfg.scale_factor, minNeighbors=cfg.min_neighbors,
            minSize=(min_px, min_px))
        return to_boxes(rects, scale)

    def detect_in(self, gray: np.ndarray, region: Box, smallest: float = 0.22) -> list[Box]:
        """Faces inside `region` at least `smallest` of its shorter side (and min_size).

        A face that just came into view makes a changed region about twice its size, so
        it is in that range; the region is searched shrunk until the smallest face sought
        fills Haar's window, which bounds the cost whatever the region's size.
        """
        cfg = self.config
        roi = region.clipped(gray.shape[1], gray.shape[0])
        least = max(cfg.min_size, smallest * min(roi.width, roi.height))
        if min(roi.width, roi.height) < max(least, HAAR_WINDOW):
            return []
        scale = min(1.0, HAAR_WINDOW / least)
        crop = gray[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width]
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        size = max(HAAR_WINDOW, int(least * scale))
        rects = self._cascade.detectMultiScale(
            crop, scaleFactor=cfg.scale_factor, minNeighbors=cfg.min_neighbors,
            minSize=(size, size))
        return to_boxes(rects, scale, origin=roi)

    def search_regions(self, gray: np.ndarray, near: list[Box], regions: list[Box]
                       ) -> list[Box]:
        """The faces found near each box of `near` (detect_near) and inside `regions`."""
        found = [box for box in (self.detect_near(gray, known) for known in near)
                 if box is not None]
        return found + [box for region in regions for box in self.detect_in(gray, region)]

    def detect_near(self, gray: np.ndarray, known: Box) -> Optional[Box]:
        """The face closest to `known` in a region around it, or None.

        Searches a reduced copy of the region first (fast), then, if that finds nothing,
        the region at full resolution, so a face is not lost to the reduction.
        """
        size = max(known.width, known.height)
        if size <= 0:
            return None
        fast = min(1.0, self.config.roi_face_size / size)
        for scale in (fast, 1.0) if fast < 1.0 else (1.0,):
            found = self._search_near(gray, known, scale)
            if found:
                return max(found, key=known.iou)
        return None

    def confirm(self, gray: np.ndarray, expected: Box) -> Optional[Box]:
        """Haar's box for a face expected at `expected` (where its landmarks put it), or None.

        A narrow search, in place and size, on the region reduced (about 1 ms).
        """
        size = max(expected.width, expected.height)
        if size <= 0:
            return None
        found = self._search_near(gray, expected, min(1.0, self.config.roi_face_size / size),
                                  margin=0.25, sizes=(0.75, 1.35))
        return max(found, key=expected.iou) if found else None

    def _search_near(self, gray: np.ndarray, known: Box, scale: float,
                     margin: Optional[float] = None, sizes: tuple[float, float] = (0.6, 1.6)
                     ) -> list[Box]:
        """Faces of `sizes` times `known`'s size around it.

        The region is the box grown by `margin` (default roi_margin), resized by `scale`.
        """
        cfg = self.config
        margin = cfg.roi_margin if margin is None else margin
        roi = known.grown(margin).clipped(gray.shape[1], gray.shape[0])
        if roi.area == 0:
            return []
        crop = gray[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width]
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        size = max(known.width, known.height) * scale
        lo = max(HAAR_WINDOW, int(size * sizes[0]), int(cfg.min_size * scale))
        hi = max(lo + 1, int(size * sizes[1]))
        rects = self._cascade.detectMultiScale(
            crop, scaleFactor=cfg.scale_factor, minNeighbors=cfg.roi_min_neighbors,
            minSize=(lo, lo), maxSize=(hi, hi))
        return to_boxes(rects, scale, origin=roi)


class ChangeDetector:
    """Where the picture changed since the previous frame, from a low-resolution difference.

    New faces enter a scene by moving; searching only where something changed (and no
    face is known) finds them in their first frame without a full-frame search.
    """

    def __init__(self, scale: float = 0.25, threshold: int = 20) -> None:
        self.scale, self.threshold = scale, threshold
        self._previous: Optional[np.ndarray] = None

    def regions(self, gray: np.ndarray) -> Optional[list[Box]]:
        """Boxes (full-resolution pixels) around changed areas; None without a previous frame."""
        small = cv2.resize(gray, None, fx=self.scale, fy=self.scale,
                           interpolation=cv2.INTER_AREA)
        previous, self._previous = self._previous, small
        if previous is None or previous.shape != small.shape:
            return None
        changed = (cv2.absdiff(small, previous) > self.threshold).astype(np.uint8)
        changed = cv2.dilate(changed, np.ones((3, 3), np.uint8), iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        return to_boxes([row[:4] for row in stats[1:count] if row[4] >= 4], self.scale)


def unexplained_change(changes: list[Box], faces: list[Box]) -> int:
    """Changed area (pixels) not explained by known faces moving: outside their boxes.

    Faces that move change their own surroundings every frame; only change elsewhere
    (the lights, a cut, the camera moving) means the picture as a whole changed.
    """
    total = 0
    for region in changes:
        inside = max((region.intersection(f) for f in faces), default=0)
        total += region.area - inside
    return total


def covered(region: Box, searched: list[Box]) -> bool:
    """Whether a changed region's centre lies in an area already searched for faces."""
    cx, cy = region.center
    return any(s.x <= cx <= s.x + s.width and s.y <= cy <= s.y + s.height for s in searched)


def unseen(box: Box, faces: list[Box]) -> bool:
    """Whether a search's box is none of `faces` (overlap), nor holds one's centre."""
    return not any(box.iou(f) > 0.3 or covered(f, [box]) for f in faces)
