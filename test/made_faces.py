"""Faces made by hand, with every field set, for tests of what the outputs send."""

from emotion_perception.vision.results import Box, Face, HeadPose


def made_face(tid: int, expression: int, x: int, pose: bool = True) -> Face:
    """Face `tid` at x, sure of one expression, with a head pose unless `pose` is False."""
    scores = [0.02] * 7
    scores[expression] = 0.88
    return Face(tid, Box(x, 100, 120, 120), tuple(scores), 0.5, 0.3, None,
                HeadPose(10.0, -5.0, 2.0) if pose else None)
