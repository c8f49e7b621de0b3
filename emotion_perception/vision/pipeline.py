"""The perception core: frame in, tracked faces with expressions out. No ROS here."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from emotion_perception.vision.classifier import ExpressionClassifier
from emotion_perception.vision.detection import ChangeDetector, DetectorConfig, FaceDetector
from emotion_perception.vision.expressions import valence_arousal
from emotion_perception.vision.landmarks import LandmarkEstimator, aligned_crop, head_pose
from emotion_perception.vision.model_store import EMOTION, HAAR, LANDMARKS, verified_path
from emotion_perception.vision.results import Box, Face, FrameResult
from emotion_perception.vision.tracking import Tracker, TrackerConfig


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that shapes the pipeline's output; all of it may change at run time."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    #: Search the whole frame every this many frames; in between, near known faces and
    #: where the picture changed.
    detect_every: int = 5
    #: Above this fraction of the frame changed (camera moved, lights), search it all.
    max_change: float = 0.3
    #: Estimate the 68 landmarks (and from them head pose and eye-level alignment).
    landmarks: bool = True
    #: Rotate each face so the eyes are level before classifying it (needs landmarks).
    align: bool = True
    #: Average the scores of each face and its mirror image.
    flip_average: bool = True
    #: The classifier sees the face box grown by this fraction per side: FER2013's crops,
    #: which the model learnt from, are a little looser than Haar's boxes.
    crop_margin: float = 0.05

    def __post_init__(self) -> None:
        """Reject values the pipeline cannot use, with the reason."""
        if self.detect_every < 1:
            raise ValueError(f'detect_every must be >= 1, got {self.detect_every}')
        if not -0.2 <= self.crop_margin <= 0.5:
            raise ValueError(f'crop_margin must be in [-0.2, 0.5], got {self.crop_margin}')
        if not 0.0 <= self.max_change <= 1.0:
            raise ValueError(f'max_change must be in [0, 1], got {self.max_change}')


@dataclass(frozen=True)
class ModelPaths:
    """Where the three model files are."""

    haar: Path
    landmarks: Path
    emotion: Path

    @classmethod
    def verified(cls, models_dir: Optional[Path] = None) -> 'ModelPaths':
        """The default files, each checked against its sha256."""
        return cls(verified_path(HAAR, models_dir), verified_path(LANDMARKS, models_dir),
                   verified_path(EMOTION, models_dir))


def to_gray(image: np.ndarray) -> np.ndarray:
    """8-bit grayscale from gray, BGR or BGRA input; ValueError for anything else."""
    if image.dtype != np.uint8:
        raise ValueError(f'expected an 8-bit image, got dtype {image.dtype}')
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f'expected a gray, BGR or BGRA image, got shape {image.shape}')


def _covered(region: Box, searched: list[Box]) -> bool:
    """Whether a changed region's centre lies in an area already searched for faces."""
    cx, cy = region.center
    return any(s.x <= cx <= s.x + s.width and s.y <= cy <= s.y + s.height for s in searched)


def _distinct(boxes: list[Box], max_iou: float = 0.5) -> list[Box]:
    """Drop boxes that mostly repeat an earlier one (two tracks finding one face)."""
    kept: list[Box] = []
    for box in boxes:
        if all(box.iou(k) <= max_iou for k in kept):
            kept.append(box)
    return kept


class FacePipeline:
    """Haar detection (full frame or near known faces), dlib landmarks, CNN, tracking."""

    def __init__(self, config: PipelineConfig = PipelineConfig(),
                 models: Optional[ModelPaths] = None) -> None:
        models = models or ModelPaths.verified()
        self.config = config
        self._detector = FaceDetector(models.haar, config.detector)
        self._landmarks = LandmarkEstimator(models.landmarks)
        self._classifier = ExpressionClassifier(models.emotion, config.flip_average)
        self._tracker = Tracker(config.tracker)
        self._changes = ChangeDetector()
        self._frame = 0

    def reconfigure(self, config: PipelineConfig) -> None:
        """Apply new settings from the next frame on; tracks and ids are kept."""
        self.config = config
        self._detector.config = config.detector
        self._tracker.config = config.tracker
        self._classifier.flip_average = config.flip_average

    def _find_faces(self, gray: np.ndarray, full_search: bool) -> list[Box]:
        """Boxes of this frame's faces, clipped to the frame."""
        changes = self._changes.regions(gray)
        height, width = gray.shape
        changed_area = sum(r.area for r in changes or [])
        if full_search or changes is None or changed_area > self.config.max_change * gray.size:
            boxes = self._detector.detect(gray)
        else:
            searched = [t.box.grown(self.config.detector.roi_margin)
                        for t in self._tracker.tracks]
            near = [self._detector.detect_near(gray, t.box) for t in self._tracker.tracks]
            fresh = [b for region in changes if not _covered(region, searched)
                     for b in self._detector.detect_in(gray, region.grown(0.5))]
            boxes = _distinct([b for b in near if b is not None] + fresh)
        clipped = (b.clipped(width, height) for b in boxes)
        return [b for b in clipped if b.width > 1 and b.height > 1]

    def process(self, image: np.ndarray, stamp: float = 0.0) -> FrameResult:
        """Detect, track and classify the faces of one frame."""
        cfg = self.config
        frame = self._frame
        self._frame += 1
        if image.size == 0:
            return FrameResult(frame, stamp, image.shape[1] if image.ndim > 1 else 0,
                               image.shape[0], [])
        gray = to_gray(image)
        height, width = gray.shape
        full_search = frame % cfg.detect_every == 0 or not self._tracker.tracks
        tracks = self._tracker.update(self._find_faces(gray, full_search))
        tracks += self._tracker.held()
        boxes = [t.box for t in tracks]
        points = [self._landmarks.landmarks(gray, b) for b in boxes] if cfg.landmarks else []
        crop_boxes = [b.grown(cfg.crop_margin) for b in boxes]
        if cfg.landmarks and cfg.align:
            crops = [aligned_crop(gray, b, p) for b, p in zip(crop_boxes, points)]
        else:
            crops = [gray[c.y:c.y + c.height, c.x:c.x + c.width]
                     for c in (b.clipped(width, height) for b in crop_boxes)]
        raw = self._classifier.scores(crops)
        faces = []
        for i, (box, track) in enumerate(zip(boxes, tracks)):
            scores = track.smooth(raw[i], cfg.tracker.smoothing)
            valence, arousal = valence_arousal(scores)
            pts = points[i] if points else None
            faces.append(Face(
                id=track.id, box=box, scores=tuple(float(s) for s in scores),
                valence=valence, arousal=arousal, landmarks=pts,
                head_pose=head_pose(pts, width, height) if pts is not None else None))
        return FrameResult(frame, stamp, width, height, faces)
