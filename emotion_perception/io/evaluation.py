"""Accuracy of the expression classifier on a folder-per-class face dataset (FER2013 layout)."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from emotion_perception.io.sources import IMAGE_SUFFIXES
from emotion_perception.vision.classifier import ExpressionClassifier
from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.model_store import sha256_of


@dataclass(frozen=True)
class Evaluation:
    """Top-1 accuracy, confusion matrix (rows: truth, columns: prediction), recall."""

    accuracy: float
    confusion: np.ndarray
    count: int
    #: Images left out as duplicates of another set's.
    excluded: int = 0

    @property
    def recall(self) -> dict[str, float]:
        """Per-class recall (NaN-free: 0 for a class without images)."""
        totals = self.confusion.sum(axis=1)
        return {name: float(self.confusion[i, i] / totals[i]) if totals[i] else 0.0
                for i, name in enumerate(EXPRESSIONS)}

    def to_json(self) -> dict:
        """A JSON-ready summary."""
        return {'accuracy': self.accuracy, 'count': self.count, 'excluded': self.excluded,
                'labels': list(EXPRESSIONS),
                'confusion': self.confusion.tolist(), 'recall': self.recall}


def labelled_images(dataset: Path) -> list[tuple[Path, int]]:
    """(image, class index) pairs from sub-folders named after the classes, any case."""
    if not dataset.is_dir():
        raise FileNotFoundError(f'dataset folder not found: {dataset}')
    index = {name.lower(): i for i, name in enumerate(EXPRESSIONS)}
    items = []
    for sub in sorted(p for p in dataset.iterdir() if p.is_dir()):
        if sub.name.lower() not in index:
            continue
        items += [(f, index[sub.name.lower()]) for f in sorted(sub.iterdir())
                  if f.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise FileNotFoundError(f'{dataset} has no images in folders named '
                                f'{", ".join(n.lower() for n in EXPRESSIONS)}')
    return items


def file_digests(folder: Path) -> frozenset[str]:
    """sha256 of every file under a folder (to leave its copies out of a test set)."""
    return frozenset(sha256_of(p) for p in folder.rglob('*') if p.is_file())


def _batches(items: list[tuple[Path, int]], size: int, excluded: set[str]
             ) -> Iterator[list[tuple[np.ndarray, int]]]:
    """Readable images with their labels, `size` at a time; none whose sha256 is excluded."""
    batch = []
    for path, label in items:
        data = path.read_bytes()
        if excluded and hashlib.sha256(data).hexdigest() in excluded:
            continue
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is not None:
            batch.append((image, label))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def evaluate(classifier: ExpressionClassifier, dataset: Path, batch_size: int = 64,
             progress: Callable[[int], None] = lambda n: None,
             excluded: frozenset[str] = frozenset()) -> Evaluation:
    """Classify every image of the dataset as a whole face crop and count the hits.

    Images whose sha256 is in `excluded` are left out (FER2013's PublicTest holds 280
    byte-identical copies of Training images, which a model may have memorised).
    """
    confusion = np.zeros((len(EXPRESSIONS), len(EXPRESSIONS)), dtype=np.int64)
    items = labelled_images(dataset)
    for batch in _batches(items, batch_size, set(excluded)):
        predicted = classifier.scores([image for image, _ in batch]).argmax(axis=1)
        for (_, truth), guess in zip(batch, predicted):
            confusion[truth, guess] += 1
        progress(len(batch))
    count = int(confusion.sum())
    left_out = len(items) - count if excluded else 0
    return Evaluation(float(np.trace(confusion) / count), confusion, count, left_out)
