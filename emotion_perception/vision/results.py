"""Plain data the perception core hands out: boxes, head poses, faces and frames."""

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from emotion_perception.vision.expressions import EXPRESSIONS


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box in pixels (top-left corner, width, height)."""

    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[float, float]:
        """Box centre in pixels."""
        return self.x + self.width / 2.0, self.y + self.height / 2.0

    @property
    def area(self) -> int:
        """Box area in square pixels."""
        return self.width * self.height

    def intersection(self, other: 'Box') -> int:
        """Area shared with another box, square pixels."""
        ix = max(0, min(self.x + self.width, other.x + other.width) - max(self.x, other.x))
        iy = max(0, min(self.y + self.height, other.y + other.height) - max(self.y, other.y))
        return ix * iy

    def iou(self, other: 'Box') -> float:
        """Intersection over union with another box, 0..1."""
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clipped(self, width: int, height: int) -> 'Box':
        """This box cut to an image of the given size (may become empty)."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1 = min(width, self.x + self.width)
        y1 = min(height, self.y + self.height)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def grown(self, fraction: float) -> 'Box':
        """This box enlarged by `fraction` of its size on every side."""
        dx, dy = int(round(self.width * fraction)), int(round(self.height * fraction))
        return Box(self.x - dx, self.y - dy, self.width + 2 * dx, self.height + 2 * dy)


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees (see FaceExpression.msg for the sign conventions)."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class Face:
    """One tracked face in one frame and what it expresses."""

    id: int
    box: Box
    scores: tuple[float, ...]
    valence: float
    arousal: float
    landmarks: Optional[np.ndarray] = None  # (68, 2) float32 pixels, or None
    head_pose: Optional[HeadPose] = None

    @property
    def expression_idx(self) -> int:
        """Index of the most likely expression."""
        scores = self.scores
        return max(range(len(scores)), key=scores.__getitem__)

    @property
    def expression(self) -> str:
        """Name of the most likely expression."""
        return EXPRESSIONS[self.expression_idx]

    @property
    def confidence(self) -> float:
        """Probability of the most likely expression."""
        return float(max(self.scores))


@dataclass(frozen=True)
class FrameResult:
    """All faces of one frame, with the frame's index, time and size."""

    frame: int
    stamp: float
    width: int
    height: int
    faces: list[Face] = field(default_factory=list)
