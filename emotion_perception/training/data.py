"""FER2013-layout folders read into memory, and the augmentation the network learns from.

Images go through `vision.classifier.preprocess`, the same function that prepares the
pipeline's crops at run time, so the network is trained on what it will be shown.
Augmentation is numpy/OpenCV seeded by (seed, epoch): an epoch is the same whether the
run went straight through or resumed from a checkpoint.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_perception.io.evaluation import labelled_images


@dataclass(frozen=True)
class FaceSet:
    """Grayscale face crops (n, size, size) uint8, their labels, each file's sha256 and name."""

    images: np.ndarray
    labels: np.ndarray
    digests: tuple[str, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        """Number of faces."""
        return len(self.labels)

    def without(self, digests: set[str]) -> 'FaceSet':
        """The faces whose file is not byte-identical to one of `digests`."""
        return self._subset(np.array([d not in digests for d in self.digests], dtype=bool))

    def split(self, percent: float) -> tuple['FaceSet', 'FaceSet']:
        """(the rest, a fixed `percent` of the faces), chosen by file name.

        The held-out part depends only on each file's name (its sha256 modulo 10,000), so
        it is the same slice in every run, sitting and machine, whatever else is loaded.
        """
        held = np.array([int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 10_000
                         < percent * 100 for name in self.names], dtype=bool)
        return self._subset(~held), self._subset(held)

    def _subset(self, keep: np.ndarray) -> 'FaceSet':
        """The faces where keep is true."""
        return FaceSet(self.images[keep], self.labels[keep],
                       tuple(d for d, k in zip(self.digests, keep) if k),
                       tuple(n for n, k in zip(self.names, keep) if k))


def load(folder: Path, size: int, limit_per_class: int = 0) -> FaceSet:
    """Every readable image of a folder-per-class dataset, resized to size x size.

    limit_per_class > 0 takes only the first that many of each class (tests).
    """
    items = labelled_images(folder)
    if limit_per_class > 0:
        taken: dict[int, int] = {}
        kept = []
        for path, label in items:
            if taken.get(label, 0) < limit_per_class:
                taken[label] = taken.get(label, 0) + 1
                kept.append((path, label))
        items = kept
    images, labels, digests, names = [], [], [], []
    for path, label in items:
        data = path.read_bytes()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None:
            continue
        if image.shape != (size, size):
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        images.append(image)
        labels.append(label)
        digests.append(hashlib.sha256(data).hexdigest())
        names.append(path.name)
    if not images:
        raise FileNotFoundError(f'{folder} has no readable images')
    return FaceSet(np.stack(images), np.array(labels, dtype=np.int64), tuple(digests),
                   tuple(names))


@dataclass(frozen=True)
class Augmentation:
    """Random changes a face may undergo without changing its expression."""

    rotation_deg: float = 10.0
    scale: float = 0.1
    shift: float = 0.1
    flip: bool = True
    #: Probability of erasing one random rectangle (2-20 % of the face) with noise.
    erase: float = 0.5
    #: Brightness and contrast changes, as fractions.
    light: float = 0.2

    def to_json(self) -> dict:
        """JSON-ready form (epoch log, model card)."""
        return dict(self.__dict__)


def augmented(images: np.ndarray, aug: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """A randomly changed copy of each (n, s, s) uint8 face."""
    n, size = len(images), images.shape[1]
    out = np.empty_like(images)
    angles = rng.uniform(-aug.rotation_deg, aug.rotation_deg, n)
    scales = rng.uniform(1 - aug.scale, 1 + aug.scale, n)
    shifts = rng.uniform(-aug.shift, aug.shift, (n, 2)) * size
    flips = rng.random(n) < 0.5 if aug.flip else np.zeros(n, bool)
    centre = ((size - 1) / 2, (size - 1) / 2)
    for i in range(n):
        matrix = cv2.getRotationMatrix2D(centre, angles[i], scales[i])
        matrix[:, 2] += shifts[i]
        out[i] = cv2.warpAffine(images[i], matrix, (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    out[flips] = out[flips, :, ::-1]
    gain = rng.uniform(1 - aug.light, 1 + aug.light, (n, 1, 1))
    bias = rng.uniform(-aug.light, aug.light, (n, 1, 1)) * 127.5
    out = np.clip(out * gain + bias, 0, 255).astype(np.uint8)
    for i in np.flatnonzero(rng.random(n) < aug.erase):
        area = rng.uniform(0.02, 0.2) * size * size
        ratio = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
        h = int(min(size, round(np.sqrt(area * ratio))))
        w = int(min(size, round(np.sqrt(area / ratio))))
        y, x = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        out[i, y:y + h, x:x + w] = rng.integers(0, 256, (h, w), dtype=np.uint8)
    return out


def random_windows(images: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """One random side x side window of each (n, s, s) face (a shift the net must not mind)."""
    n, size = len(images), images.shape[1]
    ys, xs = rng.integers(0, size - side + 1, n), rng.integers(0, size - side + 1, n)
    return np.stack([image[y:y + side, x:x + side] for image, y, x in zip(images, ys, xs)])


def five_windows(images: np.ndarray, side: int) -> list[np.ndarray]:
    """Four corner windows and the centre one of each (n, s, s) face, centre last.

    With their mirror images, the ten test-time views the references average (Krizhevsky
    et al. 2012).
    """
    size = images.shape[1]
    far, mid = size - side, (size - side) // 2
    return [images[:, y:y + side, x:x + side]
            for y, x in ((0, 0), (0, far), (far, 0), (far, far), (mid, mid))]
