"""Searches for new faces, run beside the per-frame work and collected a fixed lag later.

A whole-frame Haar search costs 10x a frame's tracking; run inline it makes every Nth
frame late. Here it runs on a worker thread (OpenCV releases the GIL, so it uses the
other core) while the next frames are tracked, and its faces join the tracker exactly
`lag` frames after the frame searched. The lag is fixed, never "whenever it is done", so
the same input gives the same output whatever the machine's load; if the search is not
finished by then, collecting waits for it.

The whole-frame search's worker runs at the lowest priority (nice 19): it takes the CPU
the per-frame work, the camera and the bridge leave, instead of slowing them every tenth
frame. It cannot be starved: when a search is due, collecting waits for it, and the core
is then its own. The searches near new or lost faces and in the regions where the
picture changed run the same way at normal priority with lag 0: started before the
frame's known faces are followed, collected after, in the same frame.
"""

import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Optional

import cv2
import numpy as np

from emotion_perception.vision.results import Box


def _lowest_priority() -> None:
    """Lower the calling thread to nice 19 where threads have priorities of their own.

    Linux schedules threads one by one and takes a thread id for a process id here;
    elsewhere a thread id may be another process's id, so the search keeps the process's.
    """
    if sys.platform.startswith('linux'):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def without_faces(gray: np.ndarray, faces: list[Box]) -> np.ndarray:
    """A copy of `gray` with each known face filled flat, for the whole-frame search.

    Haar rejects a flat window in its first stage, so the search skips the faces it would
    only find again (about a fifth of its cost with 8 faces of 110 px at 640x480).
    """
    copy = gray.copy()
    height, width = gray.shape
    for face in faces:
        c = face.clipped(width, height)
        if c.area:
            area = copy[c.y:c.y + c.height, c.x:c.x + c.width]
            area[...] = int(area.mean())
    return copy


def set_opencv_threads(searching_beside: bool) -> None:
    """One OpenCV thread while the whole-frame search runs beside the frames, else all.

    OpenCV's worker pool would run half of that search at normal priority, on the core
    the rest of the graph needs. With detect_every 1 the whole frame is searched inline,
    and all cores help.
    """
    cv2.setNumThreads(1 if searching_beside else -1)


class LaggedSearch:
    """One search in flight at a time, its result due `lag` frames later."""

    def __init__(self, search: Callable[..., list[Box]], lag: int,
                 lowest_priority: bool = True, name: str = 'face-search') -> None:
        self._search = search
        self.lag = lag
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name,
            initializer=_lowest_priority if lowest_priority else None)
        self._pending: Optional[tuple[int, Future]] = None

    @property
    def busy(self) -> bool:
        """Whether a search was started and not yet collected."""
        return self._pending is not None

    def start(self, frame: int, gray: np.ndarray, *args: object) -> None:
        """Search `gray` (frame number `frame`); with lag 0 the result is due at once.

        The search reads `gray` while the caller goes on: hand it an array no one writes.
        `args` go to the search after `gray`.
        """
        if self._pending is not None:
            raise RuntimeError('a search is already in flight')
        self._pending = (frame, self._pool.submit(self._search, gray, *args))

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
