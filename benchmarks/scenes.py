"""Hard scenes for the benchmarks: people walking in and out, lights changing, any size.

`Scene`: each of `faces` places in the picture (a grid cell) shows a person for 1-2 s,
empty for 0.2-0.6 s, then a new person: the astronaut's face mirrored or not, at a new
size, tint and path. The whole picture's brightness drifts and, every few seconds, jumps
(lights switched), which makes more than a third of the frame change at once.

`GridScene`: every cell always holds a face that drifts a few pixels a frame, replaced by
another person (look) at the same place every few seconds: people standing in front of
the camera, moving a little, the scene that once lost faces for good.
"""

import math
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_perception.io.sources.demo import astronaut_face


@dataclass(frozen=True)
class Visit:
    """One person in one place: when, at what size, how they move and look."""

    start: int
    end: int
    side: int
    x: float
    y: float
    phase: float
    mirrored: bool
    tint: tuple[float, float, float]


def _background(width: int, height: int, rng: random.Random) -> np.ndarray:
    """A textured wall (skimage's bricks), so searches meet real edges, not a flat field."""
    from skimage import data

    wall = cv2.resize(data.brick(), (width, height), interpolation=cv2.INTER_LINEAR)
    noise = np.array([rng.randint(-6, 6) for _ in range(3)], np.int16)
    return np.clip(cv2.cvtColor(wall, cv2.COLOR_GRAY2BGR).astype(np.int16) + noise,
                   0, 255).astype(np.uint8)


class Scene:
    """A reproducible sequence of frames; `present()` is the ground truth of who is where."""

    #: How far a face swings, as a fraction of the room its cell leaves around it.
    SWING = 0.12

    def __init__(self, width: int, height: int, faces: int = 3, fps: float = 30.0,
                 seed: int = 1, lights: bool = True, speed: float = 1.0) -> None:
        rng = random.Random(seed)
        self.width, self.height, self.fps, self.lights = width, height, fps, lights
        self.speed = speed
        columns = min(faces, 4)
        rows = math.ceil(faces / columns)
        self._cells = [(c * width // columns, r * height // rows, width // columns,
                        height // rows) for r in range(rows) for c in range(columns)][:faces]
        self._background = _background(width, height, rng)
        self._face = astronaut_face(512)
        self._visits = [self._plan(cell, rng) for cell in self._cells]

    def _plan(self, cell: tuple[int, int, int, int], rng: random.Random,
              horizon: int = 100_000) -> list[Visit]:
        """The visits to one cell: 1-2 s present, 0.2-0.6 s away, repeated."""
        cx, cy, cw, ch = cell
        largest = int(min(cw, ch) * 0.62)
        visits, t = [], rng.randint(0, int(0.5 * self.fps))
        while t < horizon:
            length = rng.randint(int(1.0 * self.fps), int(2.0 * self.fps))
            side = rng.randint(max(48, int(largest * 0.6)), max(49, largest))
            visits.append(Visit(t, t + length, side,
                                cx + rng.uniform(0.15, 0.85) * (cw - side),
                                cy + rng.uniform(0.15, 0.85) * (ch - side),
                                rng.uniform(0, 2 * math.pi), rng.random() < 0.5,
                                tuple(rng.uniform(0.85, 1.1) for _ in range(3))))
            t += length + rng.randint(int(0.2 * self.fps), int(0.6 * self.fps))
        return visits

    def present(self, index: int) -> list[tuple[int, int, Visit]]:
        """The top-left corner and visit of every face in frame `index`."""
        out = []
        for cell, visits in zip(self._cells, self._visits):
            v = next((v for v in visits if v.start <= index < v.end), None)
            if v is None:
                continue
            swing = self.SWING * (min(cell[2], cell[3]) - v.side)
            t = (index - v.start) / self.fps * self.speed
            out.append((int(v.x + swing * math.sin(1.3 * t + v.phase)),
                        int(v.y + swing * math.cos(0.9 * t + v.phase)), v))
        return out

    def brightness(self, index: int) -> float:
        """Gain on the whole picture: a slow drift plus a jump every 4 s (lights switched)."""
        if not self.lights:
            return 1.0
        t = index / self.fps
        return (0.9 + 0.15 * math.sin(2 * math.pi * t / 7.0)) * (0.75 if int(t / 4) % 2 else 1.0)

    def render(self, index: int) -> np.ndarray:
        """Frame `index` as a BGR image."""
        frame = self._background.copy()
        for x, y, v in self.present(index):
            face = cv2.resize(self._face, (v.side, v.side), interpolation=cv2.INTER_AREA)
            if v.mirrored:
                face = face[:, ::-1]
            frame[y:y + v.side, x:x + v.side] = np.clip(face * np.array(v.tint), 0, 255)
        gain = self.brightness(index)
        return frame if gain == 1.0 else cv2.convertScaleAbs(frame, alpha=gain)


class GridScene(Scene):
    """Faces always there, drifting 1-3 px a frame, each replaced every `swap` seconds."""

    SWING = 0.4

    def __init__(self, width: int, height: int, faces: int = 8, swap: float = 5.0,
                 seed: int = 2) -> None:
        self.swap = swap
        super().__init__(width, height, faces, seed=seed, lights=False, speed=3.0)

    def _plan(self, cell: tuple[int, int, int, int], rng: random.Random,
              horizon: int = 100_000) -> list[Visit]:
        """Back-to-back visits of `swap` seconds at the cell's centre, the largest size."""
        cx, cy, cw, ch = cell
        side = int(min(cw, ch) * 0.62)
        length = int(self.swap * self.fps)
        return [Visit(t, t + length, side, cx + (cw - side) / 2, cy + (ch - side) / 2,
                      rng.uniform(0, 2 * math.pi), rng.random() < 0.5,
                      tuple(rng.uniform(0.8, 1.15) for _ in range(3)))
                for t in range(-rng.randint(0, length), horizon, length)]


def write_scene(path: Path, scene: Scene, frames: int) -> Path:
    """The scene as an MJPG video (what most USB webcams send), for the camera node."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), scene.fps,
                             (scene.width, scene.height))
    for i in range(frames):
        writer.write(scene.render(i))
    writer.release()
    return path
