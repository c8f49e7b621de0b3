"""The parts that keep a frame's cost flat, with the real models.

Landmark following, the lagged whole-frame search, the bounded searches for new faces,
and LiteRT scoring.
"""

import os
import threading
import time

import cv2
import numpy as np
import pytest

from emotion_perception.io.sources.demo import DemoScene, astronaut_face
from emotion_perception.vision.follow import Anchor, flowed, patch, similarity
from emotion_perception.vision.landmarks import LandmarkEstimator
from emotion_perception.vision.pipeline import ModelPaths, PipelineConfig
from emotion_perception.vision.results import Box
from emotion_perception.vision.search import LaggedSearch


def test_lagged_search_is_due_exactly_lag_frames_later_whatever_its_speed():
    release = threading.Event()

    def slow(gray):
        release.wait(5)
        return [Box(1, 2, 3, 4)]

    search = LaggedSearch(slow, lag=3)
    search.start(10, np.zeros((4, 4), np.uint8))
    assert search.busy and search.collect(11) is None and search.collect(12) is None
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    assert search.collect(13) == [Box(1, 2, 3, 4)]  # waits for the search: deterministic
    assert time.monotonic() - started > 0.2
    assert not search.busy and search.collect(14) is None
    search.start(20, np.zeros((4, 4), np.uint8))
    search.discard()
    assert not search.busy and search.collect(30) is None
    search.close()


def test_anchor_carries_a_box_with_its_landmarks():
    points = np.random.default_rng(1).uniform(100, 180, (68, 2)).astype(np.float32)
    box = Box(90, 80, 110, 120)
    anchor = Anchor.of(box, points)
    assert anchor.box(points) == box
    moved = anchor.box(points * 1.5 + np.float32([40, -10]))
    assert moved.width == pytest.approx(165, abs=1) and moved.height == pytest.approx(180, abs=1)
    assert moved.center[0] == pytest.approx(box.center[0] * 1.5 + 40, abs=1)


def test_patch_recognises_the_same_face_in_other_light_and_not_the_wall():
    scene = DemoScene(640, 480, 1)
    frame = cv2.cvtColor(scene.render(0), cv2.COLOR_BGR2GRAY)
    x, y = scene.positions(0)[0]
    side = scene._side
    face = Box(x, y, side, side)
    darker = cv2.convertScaleAbs(frame, alpha=0.6)
    assert similarity(patch(frame, face), patch(darker, face)) > 0.95
    assert similarity(patch(frame, face), patch(frame, Box(x + 3, y + 2, side, side))) > 0.8
    wall = Box(5, 5, side, side) if x > side + 10 else Box(640 - side - 5, 5, side, side)
    assert similarity(patch(frame, face), patch(frame, wall)) < 0.5


def test_optical_flow_follows_landmarks_as_far_as_a_fast_walk_moves_them():
    frames = [cv2.cvtColor(_moving_face(0), cv2.COLOR_BGR2GRAY)]
    # 25 px right and 6 px up in one frame: a person crossing the picture in a second.
    shifted = np.full_like(frames[0], 90)
    shifted[:-6, 25:] = frames[0][6:, :-25]
    fitted = LandmarkEstimator(ModelPaths.verified().landmarks).landmarks(
        frames[0], Box(150, 160, 140, 140))
    # Points whose windows leave the picture are lost: most of them -> None.
    edge = fitted - fitted.min(axis=0) + np.float32([630, 2])
    moved, lost = flowed(frames[0], shifted, [fitted, edge])
    np.testing.assert_allclose(moved, fitted + np.float32([25, -6]), atol=1.0)
    assert lost is None and flowed(frames[0], shifted, []) == []


def _moving_face(index: int, present: bool = True) -> np.ndarray:
    """A textured 640x480 frame with one face drifting 3 px a frame."""
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(40, 200, (480, 640, 3), np.uint8), (7, 7), 0)
    if present:
        face = astronaut_face(140)
        x, y = 150 + 3 * index, 160 + index
        frame[y:y + 140, x:x + 140] = face
    return frame


def test_a_followed_face_keeps_its_id_and_is_gone_the_frame_it_leaves(pipeline_factory):
    pipeline = pipeline_factory()
    try:
        ids, boxes = [], []
        for i in range(12):
            faces = pipeline.process(_moving_face(i)).faces
            assert len(faces) == 1, f'frame {i}: {faces}'
            ids.append(faces[0].id)
            boxes.append(faces[0].box)
        assert len(set(ids)) == 1
        # The box moves with the face (3 px a frame to the right).
        assert boxes[-1].x - boxes[0].x == pytest.approx(33, abs=8)
        assert pipeline.process(_moving_face(12, present=False)).faces == []
    finally:
        pipeline.close()


def test_same_video_same_faces_whatever_the_machine_load(pipeline_factory):
    scene = DemoScene(640, 480, 3)
    frames = [scene.render(i) for i in range(40)]

    def run() -> list:
        pipeline = pipeline_factory()
        try:
            return [[(f.id, f.box) for f in pipeline.process(frame).faces] for frame in frames]
        finally:
            pipeline.close()

    first = run()
    hog = threading.Thread(target=lambda: [np.linalg.svd(np.ones((300, 300)))
                                           for _ in range(60)])
    hog.start()
    second = run()
    hog.join()
    assert first == second
    assert all(len(faces) == 3 for faces in first)


def test_a_1280_wide_camera_is_searched_at_640_and_its_faces_found(pipeline_factory):
    frame = cv2.resize(DemoScene(640, 480, 3).render(5), (1280, 960))
    pipeline = pipeline_factory(PipelineConfig())
    try:
        assert pipeline._detector.working_scale(frame[:, :, 0]) == 0.5
        faces = pipeline.process(frame).faces
    finally:
        pipeline.close()
    assert len(faces) == 3 and min(f.box.width for f in faces) > 100


def test_one_view_per_face_scores_what_the_classifier_gives_that_view(astronaut):
    from emotion_perception.vision.classifier import ExpressionClassifier

    classifier = ExpressionClassifier(ModelPaths.verified().emotion)
    # 144 px = 3 x 48: resizing commutes with mirroring at an integer ratio.
    face = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)[40:184, 150:294]
    faces = [face, face, face]
    both, plain, mirrored = classifier.scores(faces, [None, False, True])
    classifier.flip_average = False
    alone = classifier.scores([face, np.ascontiguousarray(face[:, ::-1])])
    np.testing.assert_allclose(plain, alone[0], atol=1e-6)
    np.testing.assert_allclose(mirrored, alone[1], atol=1e-6)
    np.testing.assert_allclose(both, (alone[0] + alone[1]) / 2, atol=1e-6)
    assert np.abs(alone[0] - alone[1]).max() > 1e-3  # the two views do differ


def test_faces_over_the_landmark_budget_are_followed_by_flow_and_keep_their_ids(
        pipeline_factory):
    scene = DemoScene(640, 480, 4)
    pipeline = pipeline_factory(PipelineConfig(landmark_budget=2))
    fitted = []
    original = pipeline._landmarks.landmarks

    def counted(gray, box):
        fitted.append(box)
        return original(gray, box)

    pipeline._landmarks.landmarks = counted
    try:
        results = [pipeline.process(scene.render(i)).faces for i in range(30)]
    finally:
        pipeline.close()
    assert all(len(faces) == 4 for faces in results)
    assert len({tuple(sorted(f.id for f in faces)) for faces in results}) == 1
    assert all(f.landmarks is not None and f.head_pose is not None
               for faces in results for f in faces)
    # Frame 0 fits all four (new faces); afterwards two a frame, more only when in doubt.
    assert len(fitted) < 4 + 29 * 3
    for faces in results[1:]:
        for face in faces:
            cx = face.landmarks[:, 0].mean()
            assert face.box.x < cx < face.box.x + face.box.width  # carried with the box
    # Followed landmarks stay where dlib would put them.
    last = cv2.cvtColor(scene.render(29), cv2.COLOR_BGR2GRAY)
    for face in results[-1]:
        refit = original(last, face.box)
        assert np.abs(face.landmarks - refit).mean() < 2.0


def test_known_faces_are_confirmed_a_share_a_frame_each_in_its_turn(pipeline_factory):
    scene = DemoScene(640, 480, 4)
    pipeline = pipeline_factory(PipelineConfig(confirm_every=4))
    confirmed: list[list[Box]] = []
    original = pipeline._detector.confirm

    def counted(gray, box):
        confirmed[-1].append(box)
        return original(gray, box)

    pipeline._detector.confirm = counted
    try:
        ids = []
        for i in range(24):
            confirmed.append([])
            ids.append(sorted(f.id for f in pipeline.process(scene.render(i)).faces))
    finally:
        pipeline.close()
    assert all(len(frame) == 4 for frame in ids) and len({tuple(f) for f in ids}) == 1
    # Found together in frame 0, the four are not all confirmed together afterwards:
    # one a frame (ceil(4 / 4)), more only for a face in doubt.
    steady = confirmed[4:]
    assert max(len(frame) for frame in steady) <= 2
    assert sum(len(frame) == 1 for frame in steady) >= len(steady) // 2
    # ...and each face still gets its turn every 4 frames.
    assert sum(len(frame) for frame in steady) >= len(steady)


def test_the_whole_frame_search_skips_known_faces_at_the_lowest_priority(pipeline_factory):
    scene = DemoScene(640, 480, 3)
    pipeline = pipeline_factory(PipelineConfig(detect_every=5))
    searched: list[np.ndarray] = []
    priorities: list[int] = []
    original = pipeline._whole.detect

    def seen(gray):  # the search the pipeline's worker runs
        searched.append(gray)
        priorities.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return original(gray)

    pipeline._search._search = seen
    try:
        faces = [pipeline.process(scene.render(i)).faces for i in range(12)]
    finally:
        pipeline.close()
    assert all(len(f) == 3 for f in faces[1:]) and searched
    for face in faces[10]:
        inside = searched[-1][face.box.y + 4:face.box.y + face.box.height - 4,
                              face.box.x + 4:face.box.x + face.box.width - 4]
        assert inside.min() == inside.max()  # filled flat: Haar finds nothing there
    assert not original(searched[-1])
    assert set(priorities) == {19}


def test_a_face_that_appears_is_searched_beside_the_following_and_joins_that_frame(
        pipeline_factory):
    scene = DemoScene(640, 480, 1)
    newcomer = astronaut_face(100)
    pipeline = pipeline_factory()
    threads: list[str] = []
    original = pipeline._regional.detect_in

    def seen(gray, region, *args):
        threads.append(threading.current_thread().name)
        return original(gray, region, *args)

    pipeline._regional.detect_in = seen
    try:
        counts = []
        for i in range(12):
            frame = scene.render(i)
            if i >= 6:
                frame[20:120, 20:120] = newcomer  # clear of the moving face
            counts.append(len(pipeline.process(frame).faces))
    finally:
        pipeline.close()
    assert counts[:6] == [1] * 6 and counts[6:] == [2] * 6  # found in its first frame
    assert threads and all(name.startswith('region-search') for name in threads)
