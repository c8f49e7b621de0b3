"""Stable face ids across frames, and per-face smoothing of the expression scores."""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from emotion_perception.vision.follow import Anchor
from emotion_perception.vision.results import Box, HeadPose
from emotion_perception.vision.settings import check_ranges, setting


@dataclass(frozen=True)
class TrackerConfig:
    """How faces are matched between frames and how their scores are smoothed."""

    #: A face keeps its id through this many frames in which it is not detected.
    max_missed: int = setting(8, 0, 300)
    #: A detection continues a track when its box overlaps the track's this much (IoU)...
    min_iou: float = setting(0.2, 0.0, 1.0)
    #: ...or its centre lies within this many box widths of the track's centre.
    max_center_shift: float = setting(0.6, 0.0)
    #: Weight of the past in the exponential moving average of scores (0 = off).
    smoothing: float = setting(0.6, 0.0, 0.99)
    #: Keep reporting a face at its last box for this many frames after the detector last
    #: saw it, if it was seen in at least `min_hits_to_hold` frames (bridges dropouts).
    hold_frames: int = setting(0, 0, 30)
    min_hits_to_hold: int = setting(3, 1)

    def __post_init__(self) -> None:
        """Reject values the tracker cannot use, with the reason."""
        check_ranges(self)
        if not 0 <= self.hold_frames <= self.max_missed:
            raise ValueError(f'hold_frames must be in [0, max_missed={self.max_missed}], '
                             f'got {self.hold_frames}')


@dataclass
class Track:
    """One face followed over time."""

    id: int
    box: Box
    missed: int = 0
    hits: int = 1
    scores: Optional[np.ndarray] = None
    #: Where Haar last put the box relative to the landmarks, and how the face looked
    #: then (see vision.follow); None until the first confirmation.
    anchor: Optional[Anchor] = None
    reference: Optional[np.ndarray] = None
    #: Frames the box has been carried by landmarks since Haar last confirmed it.
    unconfirmed: int = 0
    #: The last landmarks, and the frames since dlib last fitted them: between fits
    #: they are followed by optical flow (see PipelineConfig.landmark_budget).
    points: Optional[np.ndarray] = None
    carried: int = 0
    #: The frame the classifier last scored the face, and how often it has (its view
    #: alternates: see FacePipeline._views).
    scored: int = -1
    views: int = 0
    #: The head pose of the last landmarks.
    pose: Optional[HeadPose] = None

    def smooth(self, scores: np.ndarray, weight: float) -> np.ndarray:
        """Blend new scores into the track's running average and return it."""
        if self.scores is None or weight == 0.0:
            self.scores = np.asarray(scores, dtype=np.float32)
        else:
            self.scores = weight * self.scores + (1.0 - weight) * scores
        return self.scores


class Tracker:
    """Greedy matching of detections to tracks by overlap, then by centre distance."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self.tracks: list[Track] = []
        self._next_id = 1

    def _affinity(self, track: Track, box: Box) -> float:
        """How well a detection continues a track: > 0 when it may, higher is better."""
        iou = track.box.iou(box)
        if iou >= self.config.min_iou:
            return 1.0 + iou
        (tx, ty), (bx, by) = track.box.center, box.center
        shift = np.hypot(tx - bx, ty - by) / max(track.box.width, 1)
        size_ratio = box.width / max(track.box.width, 1)
        if shift <= self.config.max_center_shift and 0.6 <= size_ratio <= 1.6:
            return 1.0 - shift / (self.config.max_center_shift + 1e-9)
        return 0.0

    def update(self, boxes: list[Box]) -> list[Track]:
        """Match this frame's boxes to tracks; returns the track of each box, in order."""
        pairs = sorted(((self._affinity(t, b), ti, bi) for ti, t in enumerate(self.tracks)
                        for bi, b in enumerate(boxes)), reverse=True)
        track_of: dict[int, Track] = {}
        used: set[int] = set()
        for affinity, ti, bi in pairs:
            if affinity <= 0.0:
                break
            if ti in used or bi in track_of:
                continue
            used.add(ti)
            track_of[bi] = self.tracks[ti]
        for ti, track in enumerate(self.tracks):
            track.missed = 0 if ti in used else track.missed + 1
            track.hits += ti in used
        for bi, box in enumerate(boxes):
            if bi not in track_of:
                track_of[bi] = Track(id=self._next_id, box=box)
                self._next_id += 1
                self.tracks.append(track_of[bi])
            track_of[bi].box = box
        self.tracks = [t for t in self.tracks if t.missed <= self.config.max_missed]
        return [track_of[bi] for bi in range(len(boxes))]

    def held(self) -> list[Track]:
        """Established tracks missed in the last frame or few, still reported as present."""
        cfg = self.config
        return [t for t in self.tracks
                if 0 < t.missed <= cfg.hold_frames and t.hits >= cfg.min_hits_to_hold]
