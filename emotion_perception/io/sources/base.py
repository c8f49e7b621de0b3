"""What every frame source offers, the error it raises, and reading one at a pace."""

import time
from typing import Iterator, Optional, Protocol

import numpy as np

IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.pgm', '.ppm'}


class SourceError(RuntimeError):
    """A source cannot be opened or read; the message says which and why."""


class FrameSource(Protocol):
    """What every source offers."""

    description: str
    #: Native frame rate, or None when the source has none (camera: as delivered).
    fps: Optional[float]

    def read(self) -> Optional[np.ndarray]:
        """Next BGR frame, or None at the end."""

    def close(self) -> None:
        """Release the device or file."""


def paced(source: FrameSource, fps: float) -> Iterator[np.ndarray]:
    """Yield the source's frames no faster than `fps` (0: as fast as they come)."""
    period = 1.0 / fps if fps > 0 else 0.0
    next_due = time.monotonic()
    while (frame := source.read()) is not None:
        yield frame
        if period:
            next_due += period
            delay = next_due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_due = time.monotonic()
