"""The camera model: calibration files, the field of view's pinhole, and a face's distance.

The geometry is checked end to end: the astronaut's face, given an adult's eye spacing, is
drawn as a camera of known focal length would see it at 1, 2 and 3 m; the pipeline finds
its landmarks, and REP-155's face frame must put it at that distance.
"""

import cv2
import numpy as np
import pytest

from emotion_perception.io.camera_model import (
    INTERPUPILLARY_M,
    CameraModel,
    calibration_path,
    distance_from_eyes,
)
from emotion_perception.io.rep155 import face_transform
from emotion_perception.io.sources.demo import astronaut_face
from emotion_perception.vision.face_crops import eye_centres
from emotion_perception.vision.pipeline_config import PipelineConfig

#: What camera_calibration writes for a 640x480 camera (camera_calibration_parsers' YAML).
CALIBRATION = """image_width: 640
image_height: 480
camera_name: narrow_stereo
camera_matrix:
  rows: 3
  cols: 3
  data: [612.5, 0.0, 318.2, 0.0, 611.9, 243.7, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0.11, -0.24, 0.001, -0.002, 0.0]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
projection_matrix:
  rows: 3
  cols: 4
  data: [612.5, 0.0, 318.2, 0.0, 0.0, 611.9, 243.7, 0.0, 0.0, 0.0, 1.0, 0.0]
"""


def test_a_calibration_file_is_read_and_scaled_to_the_stream(tmp_path):
    path = tmp_path / 'ost.yaml'
    path.write_text(CALIBRATION)
    camera = CameraModel.from_calibration(path)
    assert (camera.width, camera.fx, camera.fy, camera.cx, camera.cy) == (
        640, 612.5, 611.9, 318.2, 243.7)
    assert camera.distortion == (0.11, -0.24, 0.001, -0.002, 0.0)
    assert calibration_path(f'file://{path}') == path == calibration_path(str(path))
    big = camera.scaled(1280, 960)
    assert (big.fx, big.cx, big.cy) == pytest.approx((1225.0, 636.4, 487.4))
    k, _, p = big.matrices()
    assert k[0] == p[0] == big.fx and k[8] == 1.0 and p[3] == 0.0


@pytest.mark.parametrize('text, reason', [
    ('image_width: [', 'not valid YAML'),
    ('image_width: 640\nimage_height: 480\n', 'lacks image_width, image_height or a 3x3'),
    ('image_width: 640\nimage_height: 480\ncamera_matrix: {data: [1, 2]}\n', '3x3')])
def test_a_bad_calibration_file_is_one_clear_error(tmp_path, text, reason):
    path = tmp_path / 'bad.yaml'
    path.write_text(text)
    with pytest.raises(ValueError, match=reason):
        CameraModel.from_calibration(path)
    with pytest.raises(ValueError, match='cannot read camera calibration'):
        CameraModel.from_calibration(tmp_path / 'missing.yaml')
    with pytest.raises(ValueError, match='only file:// URLs and paths'):
        calibration_path('package://my_robot/calibration/head_camera.yaml')


def test_the_field_of_views_pinhole_and_the_distance_of_a_pair_of_eyes():
    camera = CameraModel.from_fov(640, 480, 60.0)
    assert camera.fx == pytest.approx(554.26, abs=0.01) and (camera.cx, camera.cy) == (320, 240)
    assert camera.point_at(320, 240, 2.0) == (0.0, 0.0, 2.0)
    assert distance_from_eyes(camera.fx * INTERPUPILLARY_M / 1.5, camera.fx) == pytest.approx(1.5)
    with pytest.raises(ValueError, match='horizontal_fov'):
        CameraModel.from_fov(640, 480, 180.0)


@pytest.fixture(scope='module')
def eye_spacing(pipeline_factory):
    """The astronaut's eye spacing, pixels, in a 300 px crop of her face."""
    frame = np.full((480, 640, 3), 100, np.uint8)
    frame[90:390, 170:470] = astronaut_face(300)
    (face,) = pipeline_factory(PipelineConfig(detect_every=1)).process(frame).faces
    right, left = eye_centres(face.landmarks)
    return float(np.linalg.norm(left - right))


@pytest.mark.parametrize('metres', [1.0, 2.0, 3.0])
def test_a_face_of_adult_eye_spacing_is_placed_at_its_distance(pipeline_factory,
                                                               eye_spacing, metres):
    camera = CameraModel.from_fov(1280, 720, 30.0)  # a narrow lens: 3 m is in reach
    side = round(300 * camera.fx * INTERPUPILLARY_M / metres / eye_spacing)
    frame = np.full((720, 1280, 3), 100, np.uint8)
    x, y = 700, 150
    frame[y:y + side, x:x + side] = cv2.resize(astronaut_face(300), (side, side),
                                               interpolation=cv2.INTER_AREA)
    config = PipelineConfig(detect_every=1)
    (face,) = pipeline_factory(config).process(frame).faces
    (px, py, depth), _ = face_transform(face.box, 0.0, 0.0, 0.0, camera, face.landmarks)
    assert depth == pytest.approx(metres, rel=0.15)
    centre = camera.point_at(x + side / 2, y + side / 2, depth)
    assert (px, py) == pytest.approx(centre[:2], abs=0.1 * metres)
