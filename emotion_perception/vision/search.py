"""The whole-frame search, run beside the per-frame work and collected a fixed lag later.

A whole-frame Haar search costs 10x a frame's tracking; run inline it makes every Nth
frame late. Here it runs on a worker thread (OpenCV releases the GIL, so it uses the
other core) while the next frames are tracked, and its faces join the tracker exactly
`lag` frames after the frame searched. The lag is fixed, never "whenever it is done", so
the same input gives the same output whatever the machine's load; if the search is not
finished by then, collecting waits for it.
"""

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Optional

import numpy as np

from emotion_perception.vision.results import Box


class LaggedSearch:
    """One whole-frame search in flight at a time, its result due `lag` frames later."""

    def __init__(self, search: Callable[[np.ndarray], list[Box]], lag: int) -> None:
        self._search = search
        self.lag = lag
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='face-search')
        self._pending: Optional[tuple[int, Future]] = None

    @property
    def busy(self) -> bool:
        """Whether a search was started and not yet collected."""
        return self._pending is not None

    def start(self, frame: int, gray: np.ndarray) -> None:
        """Search `gray` (frame number `frame`); with lag 0 the result is due at once."""
        if self._pending is not None:
            raise RuntimeError('a search is already in flight')
        self._pending = (frame, self._pool.submit(self._search, gray.copy()))

    def collect(self, frame: int) -> Optional[list[Box]]:
        """The faces found by the search due at `frame`, or None if none is due."""
        if self._pending is None or frame < self._pending[0] + self.lag:
            return None
        _, future = self._pending
        self._pending = None
        return future.result()

    def discard(self) -> None:
        """Forget the search in flight: the picture changed too much for its faces to apply.

        A new search queues behind it if it is still running.
        """
        self._pending = None

    def close(self) -> None:
        """Let a search in flight finish and stop the worker."""
        self._pool.shutdown(wait=True)
