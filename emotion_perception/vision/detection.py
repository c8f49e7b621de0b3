"""Haar frontal-face detection: a fast full-frame search and a cheaper search near a known face."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from emotion_perception.vision.model_store import ModelError
from emotion_perception.vision.results import Box

#: The frontal-face cascade's training window: it cannot find anything smaller.
HAAR_WINDOW = 24


def to_boxes(rects: np.ndarray, scale: float = 1.0, origin: Box = Box(0, 0, 0, 0)) -> list[Box]:
    """Frame boxes from OpenCV (x, y, w, h) rects found on a region resized by `scale`."""
    return [Box(origin.x + int(round(x / scale)), origin.y + int(round(y / scale)),
                int(round(w / scale)), int(round(h / scale))) for x, y, w, h in rects]


@dataclass(frozen=True)
class DetectorConfig:
    """Haar settings; the first three default to the original scripts' values."""

    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: int = 30
    #: The full-frame search runs on the frame resized by this factor (1.0 = full size).
    #: Faces smaller than HAAR_WINDOW / detect_scale pixels are then out of reach.
    detect_scale: float = 0.5
    #: Search near a known face: the box grown by this fraction of its size on each side...
    roi_margin: float = 0.5
    #: ...and resized so the known face is about this many pixels wide...
    roi_face_size: int = 48
    #: ...and searched with this minNeighbors: a face is expected there, so fewer votes do.
    roi_min_neighbors: int = 3

    def __post_init__(self) -> None:
        """Reject values the cascade cannot use, with the reason."""
        if not self.scale_factor > 1.0:
            raise ValueError(f'scale_factor must be > 1.0, got {self.scale_factor}')
        if self.min_neighbors < 0 or self.roi_min_neighbors < 0:
            raise ValueError(f'min_neighbors and roi_min_neighbors must be >= 0, got '
                             f'{self.min_neighbors} and {self.roi_min_neighbors}')
        if self.min_size < 1:
            raise ValueError(f'min_size must be >= 1, got {self.min_size}')
        if not 0.1 <= self.detect_scale <= 1.0:
            raise ValueError(f'detect_scale must be in [0.1, 1.0], got {self.detect_scale}')
        if not 0.0 <= self.roi_margin <= 2.0:
            raise ValueError(f'roi_margin must be in [0, 2], got {self.roi_margin}')
        if self.roi_face_size < HAAR_WINDOW + 8:
            raise ValueError(f'roi_face_size must be >= {HAAR_WINDOW + 8}, '
                             f'got {self.roi_face_size}')


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

    def detect(self, gray: np.ndarray) -> list[Box]:
        """All faces in a full grayscale frame."""
        cfg = self.config
        scale = cfg.detect_scale
        small = gray if scale == 1.0 else cv2.resize(
            gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        min_px = max(1, int(round(cfg.min_size * scale)))
        rects = self._cascade.detectMultiScale(
            small, scaleFactor=cfg.scale_factor, minNeighbors=cfg.min_neighbors,
            minSize=(min_px, min_px))
        return to_boxes(rects, scale)

    def detect_in(self, gray: np.ndarray, region: Box) -> list[Box]:
        """All faces inside `region`, searched at full resolution with the seeds' settings."""
        cfg = self.config
        roi = region.clipped(gray.shape[1], gray.shape[0])
        if min(roi.width, roi.height) < max(HAAR_WINDOW, cfg.min_size):
            return []
        rects = self._cascade.detectMultiScale(
            gray[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width],
            scaleFactor=cfg.scale_factor, minNeighbors=cfg.min_neighbors,
            minSize=(cfg.min_size, cfg.min_size))
        return to_boxes(rects, origin=roi)

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

    def _search_near(self, gray: np.ndarray, known: Box, scale: float) -> list[Box]:
        """Faces of about `known`'s size around it, searched on the region resized by `scale`."""
        cfg = self.config
        roi = known.grown(cfg.roi_margin).clipped(gray.shape[1], gray.shape[0])
        if roi.area == 0:
            return []
        crop = gray[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width]
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        size = max(known.width, known.height) * scale
        lo = max(HAAR_WINDOW, int(size * 0.6), int(cfg.min_size * scale))
        hi = max(lo + 1, int(size * 1.6))
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
