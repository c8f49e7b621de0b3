"""A frame's overlay as foxglove_msgs/ImageAnnotations: what debug_image burns in, as data.

Foxglove's Image panel draws these over the live or recorded image at full resolution;
`annotate.overlay` decides the shapes for both, so the two never disagree.
"""

from builtin_interfaces.msg import Time
from foxglove_msgs.msg import Color, ImageAnnotations, Point2, PointsAnnotation, TextAnnotation

from emotion_perception.vision.annotate import (
    BOX_THICKNESS,
    FONT_PIXELS,
    GREEN,
    POINT_SIZE,
    YELLOW,
    overlay,
)
from emotion_perception.vision.results import FrameResult

ANNOTATIONS_TYPE = 'foxglove_msgs/msg/ImageAnnotations'


def _color(rgb: tuple[int, int, int], alpha: float = 1.0) -> Color:
    return Color(r=rgb[0] / 255.0, g=rgb[1] / 255.0, b=rgb[2] / 255.0, a=alpha)


def _points(pairs) -> list[Point2]:
    return [Point2(x=float(x), y=float(y)) for x, y in pairs]


def result_to_annotations(result: FrameResult, stamp: Time) -> ImageAnnotations:
    """Per face: its box (a line loop), its landmarks (points) and its label (text)."""
    green, yellow = _color(GREEN), _color(YELLOW)
    msg = ImageAnnotations()
    for shape in overlay(result):
        msg.points.append(PointsAnnotation(
            timestamp=stamp, type=PointsAnnotation.LINE_LOOP, points=_points(shape.corners),
            outline_color=green, thickness=float(BOX_THICKNESS)))
        if len(shape.landmarks):
            msg.points.append(PointsAnnotation(
                timestamp=stamp, type=PointsAnnotation.POINTS,
                points=_points(shape.landmarks.tolist()), outline_color=yellow,
                thickness=float(POINT_SIZE)))
        msg.texts.append(TextAnnotation(
            timestamp=stamp, position=Point2(x=float(shape.label_at[0]),
                                             y=float(shape.label_at[1])),
            text=shape.label, font_size=float(FONT_PIXELS), text_color=green,
            background_color=_color((0, 0, 0), 0.5)))
    return msg
