"""The camera's pinhole model: from a calibration file, else from a field of view.

A calibration file is the YAML that ROS's camera_calibration writes and
camera_calibration_parsers reads (`image_width`, `image_height`, `camera_name`,
`camera_matrix`, `distortion_model`, `distortion_coefficients`, `rectification_matrix`,
`projection_matrix`). Without one, the model is a centred pinhole of a given horizontal
field of view: good enough to place a face, not to measure with. The model is scaled to
the images it is used with, as a camera may stream at another size than it was calibrated.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

#: A webcam's typical horizontal field of view, degrees; the default without calibration.
DEFAULT_HORIZONTAL_FOV = 60.0
#: Mean adult interpupillary distance, metres (Dodgson 2004: 63.4 mm, standard deviation
#: 3.8 mm over 3,976 adults): a face's distance from its eye spacing in pixels is within
#: about 6 % for two adults in three; children's are smaller, so they are placed farther.
INTERPUPILLARY_M = 0.0634


@dataclass(frozen=True)
class CameraModel:
    """Image size, focal lengths and principal point in pixels, and the lens distortion."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion_model: str = 'plumb_bob'
    distortion: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    #: Where the numbers come from, for the log line (`calibration FILE`, `60° field of view`).
    origin: str = ''

    @classmethod
    def from_fov(cls, width: int, height: int,
                 horizontal_fov: float = DEFAULT_HORIZONTAL_FOV) -> 'CameraModel':
        """A centred pinhole of square pixels with that horizontal field of view (degrees)."""
        if not 1.0 <= horizontal_fov <= 179.0:
            raise ValueError(f'horizontal_fov must be in [1, 179] degrees, got {horizontal_fov}')
        focal = width / 2.0 / math.tan(math.radians(horizontal_fov) / 2.0)
        return cls(width, height, focal, focal, width / 2.0, height / 2.0,
                   origin=f'a {horizontal_fov:g}° horizontal field of view')

    @classmethod
    def from_calibration(cls, path: Path) -> 'CameraModel':
        """The model of a camera_calibration YAML file; ValueError says what is wrong."""
        try:
            data = yaml.safe_load(Path(path).read_text())
        except OSError as exc:
            raise ValueError(f'cannot read camera calibration {path}: {exc.strerror}') from exc
        except yaml.YAMLError as exc:
            raise ValueError(f'camera calibration {path} is not valid YAML') from exc
        try:
            matrix = np.asarray(data['camera_matrix']['data'], float).reshape(3, 3)
            distortion = tuple(float(v) for v in
                               (data.get('distortion_coefficients') or {}).get('data', ()))
            return cls(int(data['image_width']), int(data['image_height']),
                       matrix[0, 0], matrix[1, 1], matrix[0, 2], matrix[1, 2],
                       str(data.get('distortion_model', 'plumb_bob')), distortion,
                       origin=f'calibration {path}')
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f'camera calibration {path} lacks image_width, image_height or '
                             f'a 3x3 camera_matrix ({exc})') from exc

    def scaled(self, width: int, height: int) -> 'CameraModel':
        """The same camera streaming at width x height (intrinsics scale with the image)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        return CameraModel(width, height, self.fx * sx, self.fy * sy, self.cx * sx,
                           self.cy * sy, self.distortion_model, self.distortion, self.origin)

    def point_at(self, u: float, v: float, depth: float) -> tuple[float, float, float]:
        """The point seen at pixel (u, v), `depth` metres ahead, in the optical frame.

        REP-103's optical frame: x right, y down, z forward.
        """
        return (u - self.cx) * depth / self.fx, (v - self.cy) * depth / self.fy, depth

    def matrices(self) -> tuple[list[float], list[float], list[float]]:
        """K, R and P as sensor_msgs/CameraInfo holds them (row-major, unrectified)."""
        k = [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]
        r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        p = [self.fx, 0.0, self.cx, 0.0, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
        return k, r, p


def calibration_path(url: str) -> Optional[Path]:
    """The file of a `camera_info_url` (`file:///path` or a plain path); None for ''.

    `package://` URLs need a ROS install's package index and are refused by name.
    """
    if not url:
        return None
    if url.startswith('file://'):
        return Path(url[len('file://'):])
    if '://' in url:
        raise ValueError(f'camera_info_url {url!r}: only file:// URLs and paths are read')
    return Path(url).expanduser()


def distance_from_eyes(eye_spacing_px: float, focal_px: float,
                       interpupillary_m: float = INTERPUPILLARY_M) -> float:
    """Metres from the camera of a face whose eye centres are that many pixels apart.

    Exact for a face square to the camera; a face turned by yaw shows its eyes closer by
    cos(yaw), so it is placed up to 1/cos(yaw) farther (15 % at 30°).
    """
    return focal_px * interpupillary_m / max(eye_spacing_px, 1e-6)
