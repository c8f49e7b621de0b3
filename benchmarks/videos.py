"""Test videos with ground truth: moving astronaut faces, and moving FER2013 faces.

Nothing made here is committed: videos are written to a scratch folder at run time, and
the FER2013 images are read from ../shared/data, never copied into the project.
"""

import math
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_perception.io.evaluation import labelled_images
from emotion_perception.io.sources.demo import DemoScene


def write_demo_video(path: Path, frames: int, faces: int = 3, fps: float = 30.0) -> Path:
    """The demo scene with `faces` moving faces as a 640x480 MJPG video."""
    scene = DemoScene(640, 480, faces, fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (640, 480))
    for i in range(frames):
        writer.write(scene.render(i))
    writer.release()
    return path


@dataclass(frozen=True)
class TruthFace:
    """A pasted face: which appearance (segment) it is, where, its true label and image."""

    segment: int
    box: tuple[int, int, int, int]
    label: int
    image: Path


def write_fer_video(path: Path, dataset: Path, frames: int = 900, side: int = 112,
                    on_frames: int = 30, off_frames: int = 12, seed: int = 7,
                    fps: float = 30.0) -> list[list[TruthFace]]:
    """Write a 640x480 video of moving FER2013 faces; return each frame's true faces.

    Six cells each show a random FER2013 face that drifts for `on_frames`, then leaves
    for `off_frames` before the next one appears.
    """
    rng = random.Random(seed)
    pool = labelled_images(dataset)
    rng.shuffle(pool)
    background = cv2.resize(_texture(), (640, 480))
    cells = [(c * 213, r * 240) for r in range(2) for c in range(3)]
    period = on_frames + off_frames
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (640, 480))
    truth: list[list[TruthFace]] = []
    faces: dict[tuple[int, int], tuple[np.ndarray, int]] = {}
    for i in range(frames):
        frame = background.copy()
        now = []
        for k, (cx, cy) in enumerate(cells):
            t = i + k * 7
            n, phase = divmod(t, period)
            if phase >= on_frames:
                continue
            segment = n * len(cells) + k
            if (k, n) not in faces:
                image_path, label = pool[segment % len(pool)]
                gray = cv2.imread(str(image_path), cv2.IMREAD_GRAYSCALE)
                faces[(k, n)] = (cv2.resize(gray, (side, side), interpolation=cv2.INTER_CUBIC),
                                 label, image_path)
            face, label, image_path = faces[(k, n)]
            angle = 2 * math.pi * phase / on_frames + k
            x = int(cx + (213 - side) / 2 + 25 * math.cos(angle))
            y = int(cy + (240 - side) / 2 + 20 * math.sin(angle))
            frame[y:y + side, x:x + side] = face[:, :, None]
            now.append(TruthFace(segment, (x, y, side, side), label, image_path))
        writer.write(frame)
        truth.append(now)
    writer.release()
    return truth


def _texture() -> np.ndarray:
    """A real-world texture (skimage's brick wall) as a BGR background."""
    from skimage import data

    return cv2.cvtColor(data.brick(), cv2.COLOR_GRAY2BGR)
