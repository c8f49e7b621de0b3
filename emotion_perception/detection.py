"""Haar frontal-face detection: a fast full-frame search and a cheaper search near a known face."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from emotion_perception.model_store import ModelError
from emotion_perception.results import Box

#: The frontal-face cascade's training window: it cannot find anything smaller.
HAAR_WINDOW = 24


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
    #: ...and resized so the known face is about this many pixels wide.
    roi_face_size: int = 48

    def __post_init__(self) -> None:
        """Reject values the cascade cannot use, with the reason."""
        if not self.scale_factor > 1.0:
            raise ValueError(f'scale_factor must be > 1.0, got {self.scale_factor}')
        if self.min_neighbors < 0:
            raise ValueError(f'min_neighbors must be >= 0, got {self.min_neighbors}')
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
        return [Box(int(round(x / scale)), int(round(y / scale)),
                    int(round(w / scale)), int(round(h / scale))) for x, y, w, h in rects]

    def detect_near(self, gray: np.ndarray, known: Box) -> Optional[Box]:
        """The face closest to `known` in a region around it, or None."""
        cfg = self.config
        height, width = gray.shape[:2]
        roi = known.grown(cfg.roi_margin).clipped(width, height)
        size = max(known.width, known.height)
        if roi.area == 0 or size <= 0:
            return None
        scale = min(1.0, cfg.roi_face_size / size)
        crop = gray[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width]
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        lo = max(HAAR_WINDOW, int(size * scale * 0.6), int(cfg.min_size * scale))
        hi = max(lo + 1, int(size * scale * 1.6))
        rects = self._cascade.detectMultiScale(
            crop, scaleFactor=cfg.scale_factor, minNeighbors=cfg.min_neighbors,
            minSize=(lo, lo), maxSize=(hi, hi))
        found = [Box(roi.x + int(round(x / scale)), roi.y + int(round(y / scale)),
                     int(round(w / scale)), int(round(h / scale))) for x, y, w, h in rects]
        return max(found, key=known.iou, default=None)
