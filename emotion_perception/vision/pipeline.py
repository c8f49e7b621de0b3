"""The perception core: frame in, tracked faces with expressions out. No ROS here.

Its settings and model files are in vision.pipeline_config; finding new faces in
vision.detection and vision.search, following known ones in vision.follow; this module
joins them, frame by frame.

Why one module: a frame's steps share the tracks and the frame's budgets (landmark fits,
confirmations, classifier scores), so the per-frame loop reads best in one place.
"""

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from emotion_perception.vision.classifier import ExpressionClassifier
from emotion_perception.vision.detection import (
    ChangeDetector,
    FaceDetector,
    covered,
    unexplained_change,
    unseen,
)
from emotion_perception.vision.expressions import valence_arousal
from emotion_perception.vision.follow import HAAR_FRAME, Anchor, flowed, patch, similarity
from emotion_perception.vision.landmarks import LandmarkEstimator, aligned_crop, head_pose
from emotion_perception.vision.pipeline_config import ModelPaths, PipelineConfig
from emotion_perception.vision.results import Box, Face, FrameResult
from emotion_perception.vision.search import LaggedSearch, set_opencv_threads, without_faces
from emotion_perception.vision.tracking import Track, Tracker


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


@dataclass
class _Found:
    """A face found in this frame.

    Its box, its landmarks if already known (fitted or followed), and whether the box
    is Haar's (False: carried by landmarks since the last confirmation).
    """

    box: Box
    points: Optional[np.ndarray] = None
    confirmed: bool = True
    #: Landmarks followed by optical flow, not fitted in this frame.
    carried: bool = False


def _distinct(found: list[_Found], max_shared: float = 0.5) -> list[_Found]:
    """Drop finds that mostly repeat an earlier one (followed faces come first and win).

    A repeat is two searches finding one face, or Haar finding a second, smaller "face"
    inside a face: more than `max_shared` of the smaller box inside the other.
    """
    kept: list[_Found] = []
    for f in found:
        if all(f.box.intersection(k.box) <= max_shared * min(f.box.area, k.box.area)
               for k in kept):
            kept.append(f)
    return kept


class FacePipeline:
    """Haar detection, landmark following, dlib landmarks, CNN, tracking.

    Per frame: known faces are followed (vision.follow), new ones searched where the
    picture changed; the whole-frame search runs beside it (vision.search). Each is
    bounded, so a frame's cost stays flat instead of spiking every few frames.
    """

    def __init__(self, config: PipelineConfig = PipelineConfig(),
                 models: Optional[ModelPaths] = None) -> None:
        models = models or ModelPaths.verified()
        set_opencv_threads(config.detect_every > 1)
        self.config = config
        self._detector = FaceDetector(models.haar, config.detector)
        # The whole-frame search runs on another thread: OpenCV's cascade is not
        # thread-safe, so it gets its own.
        self._whole = FaceDetector(models.haar, config.detector)
        self._search = LaggedSearch(self._whole.detect, config.detect_every - 1)
        # Where the picture changed, and near faces just lost or just found by the
        # whole-frame search: searched while the known faces are followed (9-17 ms of
        # Haar a region, which made the frames with new faces late), on its own cascade.
        self._regional = FaceDetector(models.haar, config.detector)
        self._regions = LaggedSearch(self._regional.search_regions, 0,
                                     lowest_priority=False, name='region-search')
        self._landmarks = LandmarkEstimator(models.landmarks)
        self._classifier = ExpressionClassifier(models.emotion, config.flip_average)
        self._tracker = Tracker(config.tracker)
        self._changes = ChangeDetector()
        self._frame = 0
        #: The previous frame's gray image, for optical flow.
        self._previous: Optional[np.ndarray] = None

    def reconfigure(self, config: PipelineConfig) -> None:
        """Apply new settings from the next frame on; tracks and ids are kept."""
        set_opencv_threads(config.detect_every > 1)
        self.config = config
        self._detector.config = self._whole.config = self._regional.config = config.detector
        self._search.lag = config.detect_every - 1
        self._tracker.config = config.tracker
        self._classifier.flip_average = config.flip_average

    def close(self) -> None:
        """Stop the searches' threads (a search in flight finishes first)."""
        self._search.close()
        self._regions.close()

    def _flows(self, gray: np.ndarray, tracks: list[Track]) -> dict[int, np.ndarray]:
        """Landmarks followed by optical flow from the previous frame, by track id.

        Flow assumes constant brightness: after a change of light the previous frame is
        first brought to the new brightness.
        """
        previous = self._previous
        ready = [t for t in tracks if t.points is not None and t.anchor is not None]
        if previous is None or previous.shape != gray.shape or not ready:
            return {}
        gain = cv2.mean(gray)[0] / max(cv2.mean(previous)[0], 1.0)
        if abs(gain - 1.0) > 0.05:
            previous = cv2.convertScaleAbs(previous, alpha=gain)
        moved = flowed(previous, gray, [t.points for t in ready])
        return {t.id: p for t, p in zip(ready, moved) if p is not None}

    def _due(self, known: list[Track]) -> set[int]:
        """Ids of the faces Haar confirms this frame, if they still look alike.

        ceil(n / confirm_every) of them, longest unconfirmed first: each face still gets
        its turn every confirm_every frames, but faces found together are not all
        confirmed in the same frame (8 confirmations at once cost about 16 ms).
        """
        share = -(-len(known) // self.config.confirm_every)
        ranked = sorted(known, key=lambda t: (-t.unconfirmed, t.id))
        return {t.id for t in ranked[:share]}

    def _follow(self, gray: np.ndarray, track: Track, flow: Optional[np.ndarray],
                due: bool) -> Optional[_Found]:
        """Where a known face went: by its landmarks, confirmed by Haar when due or in doubt.

        The landmarks are `flow` (followed by optical flow) if given and the face they
        carry still looks alike, else fitted by dlib. A face Haar misses but that still
        looks as it did is followed on, up to max_missed frames: Haar misses hard faces
        now and then.
        """
        cfg = self.config
        if not cfg.landmarks or track.anchor is None:
            box = self._detector.detect_near(gray, track.box)
            return _Found(box) if box is not None else None
        points, box, alike = flow, None, False
        if flow is not None:
            box = track.anchor.box(flow)
            alike = self._alike(gray, box, track)
        if not alike:
            points = self._landmarks.landmarks(gray, track.box)
            box = track.anchor.box(points)
            alike = self._alike(gray, box, track)
        carried = points is flow
        if alike and not due:
            return _Found(box, points, confirmed=False, carried=carried)
        near = self._detector.confirm(gray, box)
        if near is not None:
            return (_Found(near, points, carried=carried) if near.iou(box) > 0.7
                    else _Found(near))
        if alike and track.unconfirmed < cfg.tracker.max_missed:
            return _Found(box, points, confirmed=False, carried=carried)
        return None

    def _alike(self, gray: np.ndarray, box: Box, track: Track) -> bool:
        """Whether the face in `box` still looks as the track did at its last confirmation."""
        return similarity(patch(gray, box), track.reference) >= self.config.min_similarity

    def _find_faces(self, gray: np.ndarray, frame: int) -> list[_Found]:
        """This frame's faces: followed, found where the picture changed, or fallen due.

        Known faces are followed. Meanwhile, on another thread, new faces are searched
        where the picture changed, faces lost lately where they were, and the whole-frame
        search's new faces near where it found them; those join before the frame ends.
        When most of the picture changed (the lights, a cut, the camera moved) known
        faces are still followed and the whole-frame search starts at once, instead of
        searching every changed region. A first picture (or one of a new size, or with
        no face known) is searched whole at once, inline, and so is every frame with
        detect_every 1.
        """
        cfg = self.config
        changes = self._changes.regions(gray)
        known = [t for t in self._tracker.tracks if t.missed == 0]
        searched = [t.box.grown(cfg.detector.roi_margin) for t in known]
        changed_most = changes is None or \
            unexplained_change(changes, searched) > cfg.max_change * gray.size
        if changes is None or (changed_most and not known) or cfg.detect_every == 1:
            self._search.discard()
            return self._kept(gray, [_Found(b) for b in self._detector.detect(gray)])
        if changed_most:
            # Never restarted while one is in flight: a scene that keeps changing would
            # otherwise discard every search before its faces are due, and lose faces
            # for good. Its boxes are confirmed in the frame they join anyway.
            if not self._search.busy:
                self._search.start(frame, gray)
            changes = []
        # A face missed lately is looked for again where it was, if something moved there
        # (anywhere, when most of the picture changed).
        near = [t.box for t in self._tracker.tracks if t.missed and
                (changed_most or any(t.box.iou(c) > 0.0 for c in changes))]
        near += [b for b in self._search.collect(frame) or []
                 if unseen(b, [t.box for t in known])]
        regions = [r.grown(0.5) for r in changes if not covered(r, searched)]
        if near or regions:
            self._regions.start(frame, gray, near, regions)
        # dlib fits the faces followed by flow longest; ties by id (reproducible).
        order = sorted(known, key=lambda t: (-t.carried, t.id))
        flows = self._flows(gray, order[cfg.landmark_budget:]) if cfg.landmarks else {}
        due = self._due(known)
        found = [f for f in (self._follow(gray, t, flows.get(t.id), t.id in due)
                             for t in known) if f is not None]
        found += [_Found(b) for b in self._regions.collect(frame) or []
                  if unseen(b, [f.box for f in found])]
        if not self._search.busy and (frame % cfg.detect_every == 0 or not known):
            self._search.start(frame, without_faces(gray, [f.box for f in found]))
        return self._kept(gray, found)

    @staticmethod
    def _kept(gray: np.ndarray, found: list[_Found]) -> list[_Found]:
        """Finds clipped to the frame, without empty boxes or repeats."""
        height, width = gray.shape
        for f in found:
            f.box = f.box.clipped(width, height)
        return _distinct([f for f in found if f.box.width > 1 and f.box.height > 1])

    def _settle(self, gray: np.ndarray, found: list[_Found], tracks: list[Track]
                ) -> list[Optional[np.ndarray]]:
        """Each face's landmarks, and each track's anchor and look where Haar confirmed it."""
        points = []
        for f, track in zip(found, tracks):
            pts = f.points
            if pts is None and self.config.landmarks:
                pts = self._landmarks.landmarks(gray, f.box)
            if f.confirmed:
                track.anchor = Anchor.of(f.box, pts) if pts is not None else None
                track.reference = patch(gray, f.box)
                track.unconfirmed = 0
            else:
                track.unconfirmed += 1
            track.points = pts
            track.carried = track.carried + 1 if f.carried else 0
            points.append(pts)
        return points

    def process(self, image: np.ndarray, stamp: float = 0.0) -> FrameResult:
        """Detect, track and classify the faces of one frame."""
        cfg = self.config
        frame = self._frame
        self._frame += 1
        if image.size == 0:
            return FrameResult(frame, stamp, image.shape[1] if image.ndim > 1 else 0,
                               image.shape[0], [])
        gray = to_gray(image)
        if np.may_share_memory(gray, image):
            # Kept for the next frame's optical flow and read by the searches beside:
            # the caller may reuse a gray input's buffer.
            gray = gray.copy()
        height, width = gray.shape
        found = self._find_faces(gray, frame)
        self._previous = gray
        tracks = self._tracker.update([f.box for f in found])
        found_points = self._settle(gray, found, tracks)
        held = self._tracker.held()
        tracks += held
        boxes = [t.box for t in tracks]
        # A held face is reported where it was last seen, with its last landmarks.
        points = found_points + [t.points for t in held]
        scored = self._to_score(tracks)
        raw = self._classifier.scores([self._crop(gray, boxes[i], points[i]) for i in scored],
                                      self._views([tracks[i] for i in scored]))
        for i, scores in zip(scored, raw):
            tracks[i].smooth(scores, cfg.tracker.smoothing)
            tracks[i].scored = frame
            tracks[i].views += 1
        faces = []
        for i, (box, track) in enumerate(zip(boxes, tracks)):
            scores = track.scores
            valence, arousal = valence_arousal(scores)
            pts = points[i]
            if pts is None:
                track.pose = None
            elif track.pose is None or not (track.carried or track.missed):
                # Landmarks followed by flow (or held) keep their pose until the next fit.
                track.pose = head_pose(pts, width, height)
            faces.append(Face(
                id=track.id, box=box, scores=tuple(float(s) for s in scores),
                valence=valence, arousal=arousal, landmarks=pts, head_pose=track.pose))
        return FrameResult(frame, stamp, width, height, faces)

    def _crop(self, gray: np.ndarray, box: Box, points: Optional[np.ndarray]) -> np.ndarray:
        """What the classifier sees: the face framed by its landmarks (else its box)."""
        framed = box if points is None else HAAR_FRAME.box(points)
        grown = framed.grown(self.config.crop_margin)
        if self.config.align and points is not None:
            return aligned_crop(gray, grown, points)
        c = grown.clipped(gray.shape[1], gray.shape[0])
        return gray[c.y:c.y + c.height, c.x:c.x + c.width]

    def _to_score(self, tracks: list[Track]) -> list[int]:
        """Who is scored this frame: new faces, then classify_budget others, stalest first."""
        budget = self.config.classify_budget
        if not budget:
            return list(range(len(tracks)))
        new = [i for i, t in enumerate(tracks) if t.scores is None]
        known = sorted((i for i, t in enumerate(tracks) if t.scores is not None),
                       key=lambda i: tracks[i].scored)
        return sorted(new + known[:max(0, budget - len(new))])

    def _views(self, tracks: list[Track]) -> list[Optional[bool]]:
        """Which view of each face the classifier scores (see ExpressionClassifier.scores).

        A face seen before, whose scores are smoothed over frames anyway, is scored as
        it is and mirrored by turns: the running average then blends both views, as flip
        averaging does, at half the cost. A new face gets both.
        """
        if self.config.tracker.smoothing == 0.0:
            return [None] * len(tracks)
        return [None if t.scores is None else bool(t.views % 2) for t in tracks]
