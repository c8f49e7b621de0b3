"""What shapes the pipeline: its settings (all may change at run time) and its model files."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from emotion_perception.vision.detection import DetectorConfig
from emotion_perception.vision.model_store import (
    CLASSIFIERS,
    DEFAULT_CLASSIFIER,
    HAAR,
    LANDMARKS,
    verified_path,
)
from emotion_perception.vision.settings import check_ranges, setting
from emotion_perception.vision.tracking import TrackerConfig


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that shapes the pipeline's output; all of it may change at run time."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    #: Search the whole frame every this many frames, on the second core, its faces joining
    #: detect_every - 1 frames later; every frame, new faces are searched where the
    #: picture changed and known faces are followed (1 = search every whole frame, inline,
    #: and nothing else, as the original scripts did).
    detect_every: int = setting(10, 1, 100)
    #: Above this fraction of the frame changed (camera moved, lights), the whole-frame
    #: search starts at once, instead of searches of each changed region.
    max_change: float = setting(0.3, 0.0, 1.0)
    #: Between Haar confirmations a known face is carried by its landmarks; Haar confirms
    #: it every this many frames, a share of the faces each frame, longest unconfirmed
    #: first (1 = Haar every frame, as the original scripts did)...
    confirm_every: int = setting(4, 1, 100)
    #: ...and at once when its look changed more than this allows (normalised
    #: correlation with its look at the last confirmation, 1 = identical).
    min_similarity: float = setting(0.5, -1.0, 1.0)
    #: Known faces whose landmarks dlib fits per frame (about 3 ms each), stalest
    #: first; the others' landmarks are followed by optical flow (0.3 ms), if the face
    #: they carry still looks alike.
    landmark_budget: int = setting(1, 1, 100)
    #: Known faces the classifier scores per frame (about 2 ms each, crop included),
    #: those scored longest ago first; the others keep their smoothed scores until their
    #: turn. New faces are always scored at once. 0 = every face every frame.
    classify_budget: int = setting(2, 0, 100)
    #: Estimate the 68 landmarks (and from them head pose and eye-level alignment).
    landmarks: bool = True
    #: Rotate each face so the eyes are level before classifying it (needs landmarks).
    align: bool = True
    #: Average the scores of each face and its mirror image.
    flip_average: bool = True
    #: The classifier sees the face framed as the whole-frame search would box it (from
    #: its landmarks, follow.HAAR_FRAME), grown by this fraction per side.
    crop_margin: float = setting(0.0, -0.2, 0.5)

    def __post_init__(self) -> None:
        """Reject values the pipeline cannot use, with the reason."""
        check_ranges(self)


@dataclass(frozen=True)
class ModelPaths:
    """Where the three model files are: face detector, landmarks, expression classifier."""

    haar: Path
    landmarks: Path
    emotion: Path

    @classmethod
    def verified(cls, models_dir: Optional[Path] = None,
                 classifier: str = DEFAULT_CLASSIFIER) -> 'ModelPaths':
        """The files, each checked against its sha256; `classifier` names a CLASSIFIERS key."""
        if classifier not in CLASSIFIERS:
            raise ValueError(f'classifier must be one of {", ".join(CLASSIFIERS)}, '
                             f'got {classifier!r}')
        return cls(verified_path(HAAR, models_dir), verified_path(LANDMARKS, models_dir),
                   verified_path(CLASSIFIERS[classifier], models_dir))
