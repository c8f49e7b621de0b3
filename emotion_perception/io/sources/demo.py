"""The built-in `demo` source: real faces moving over a background, no camera needed.

The faces are NASA's public-domain astronaut portrait (Eileen Collins) that ships with
scikit-image, so the whole graph runs, and can be tested, on a machine without a camera.
"""

import math
from typing import Optional

import cv2
import numpy as np

#: Square around the astronaut's face in the 512x512 portrait: x, y, side (with margin).
FACE_CROP = (146, 38, 156)


def astronaut_face(side: int) -> np.ndarray:
    """The astronaut's face and some margin, BGR, resized to side x side pixels."""
    from skimage import data

    x, y, s = FACE_CROP
    face = cv2.cvtColor(data.astronaut()[y:y + s, x:x + s], cv2.COLOR_RGB2BGR)
    return cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)


def _background(width: int, height: int) -> np.ndarray:
    """A soft diagonal gradient: plain enough never to look like a face."""
    gx = np.linspace(40, 120, width, dtype=np.float32)[None, :]
    gy = np.linspace(0, 60, height, dtype=np.float32)[:, None]
    plane = (gx + gy).astype(np.uint8)
    return cv2.merge([plane, (plane * 0.8).astype(np.uint8), (plane * 0.6).astype(np.uint8)])


class DemoScene:
    """`faces` copies of the face, each drifting on its own ellipse in its own column."""

    def __init__(self, width: int = 640, height: int = 480, faces: int = 2,
                 fps: float = 30.0) -> None:
        if faces < 1 or width < 64 or height < 64:
            raise ValueError(f'demo needs >= 1 face and >= 64x64 pixels, got {faces} faces, '
                             f'{width}x{height}')
        self.width, self.height, self.fps, self.faces = width, height, fps, faces
        self._side = max(48, min(int(0.3 * height), int(0.7 * width / faces)))
        self._face = astronaut_face(self._side)
        self._background = _background(width, height)

    def positions(self, index: int) -> list[tuple[int, int]]:
        """Top-left corner of each face copy in frame `index`."""
        t = index / self.fps
        column = self.width / self.faces
        spare_x = max(0.0, (column - self._side) / 2 - 2)
        spare_y = max(0.0, (self.height - self._side) / 2 - 2)
        corners = []
        for k in range(self.faces):
            phase = 2.0 * math.pi * k / self.faces
            cx = column * (k + 0.5) + 0.8 * spare_x * math.sin(0.7 * t + phase)
            cy = self.height / 2 + 0.8 * spare_y * math.sin(0.5 * t + 2 * phase)
            corners.append((int(cx - self._side / 2), int(cy - self._side / 2)))
        return corners

    def render(self, index: int) -> np.ndarray:
        """Frame `index` as a BGR image."""
        frame = self._background.copy()
        s = self._side
        for x, y in self.positions(index):
            frame[y:y + s, x:x + s] = self._face
        return frame


class DemoSource:
    """The demo scene as an endless source."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0,
                 faces: int = 2) -> None:
        self.description = f'demo ({faces} moving astronaut faces)'
        self.fps = fps
        self.frame_count = None
        self._scene = DemoScene(width or 640, height or 480, faces, fps)
        self._index = 0

    def read(self) -> Optional[np.ndarray]:
        """Next frame of the scene."""
        frame = self._scene.render(self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        """Nothing to release."""
