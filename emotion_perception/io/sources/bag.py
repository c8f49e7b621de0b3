"""A bag's image topic as a frame source, with its recorded timing, stamps and frame_id."""

import time
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np

from emotion_perception.io.recording.bags import Bag, BagError, BagImage, decode_image
from emotion_perception.io.sources.base import SourceError


class BagSource:
    """The images of one topic of a bag, in recorded order.

    Images that cannot be decoded (an unknown encoding, a cut message) are skipped and
    counted, the first reason kept for the log; a bag none of whose images decode is an
    error. `last` is the image just read, with its recorded stamp and frame_id. Every
    error is a SourceError, as from any source: the bag's own BagError is its cause.
    """

    def __init__(self, path: Path, topic: str = '', loop: bool = False,
                 start_offset: float = 0.0) -> None:
        try:
            self._bag = Bag(path)
        except BagError as exc:
            raise SourceError(str(exc)) from exc
        try:
            self.topic = self._bag.image_topic(topic)
        except BagError as exc:
            self._bag.close()
            raise SourceError(str(exc)) from exc
        info = self._bag.topics[self.topic]
        self.description = f'bag {path} ({self.topic}, {info.count} images' + (
            f'; read up to its last complete chunk: {self._bag.cut}' if self._bag.cut else '') + ')'
        self.frame_count: Optional[int] = info.count
        self.fps: Optional[float] = None
        self._loop, self._start_offset = loop, start_offset
        self.skipped, self.skip_reason = 0, ''
        self.last: Optional[BagImage] = None
        self._first_time: Optional[int] = None
        self._decoded = 0
        self._messages = self._start()

    def _start(self) -> Iterator:
        """The topic's messages from the start offset on."""
        messages = self._bag.messages({self.topic})
        for message in messages:
            if self._first_time is None:
                self._first_time = message.log_time
            if message.log_time - self._first_time >= self._start_offset * 1e9:
                yield message
                break
        yield from messages

    def read(self) -> Optional[np.ndarray]:
        """Next decodable image, or None at the end (looping: the first one again)."""
        try:
            return self._read()
        except BagError as exc:
            raise SourceError(str(exc)) from exc

    def _read(self) -> Optional[np.ndarray]:
        """read(), with the bag's own errors."""
        while True:
            message = next(self._messages, None)
            if message is None:
                if not self._decoded and (self.skipped or self._first_time is not None):
                    raise SourceError(f'{self.description}: no image can be decoded '
                                   f'({self.skip_reason or "none after the start offset"})')
                if not self._loop:
                    return None
                self._messages = self._start()
                continue
            try:
                self.last = decode_image(message)
            except ValueError as exc:
                self.skipped += 1
                self.skip_reason = self.skip_reason or str(exc)
                continue
            self._decoded += 1
            return self.last.image

    def offset(self) -> float:
        """Seconds from the first recorded image to the last one read."""
        if self.last is None or self._first_time is None:
            return 0.0
        return (self.last.log_time - self._first_time) / 1e9

    def close(self) -> None:
        """Close the bag."""
        self._messages.close()
        self._bag.close()


def replayed(source: BagSource, factor: float = 1.0,
             wait: Callable[[float], object] = time.sleep) -> Iterator[np.ndarray]:
    """Yield the source's images at their recorded timing, `factor` times as fast.

    Deadlines are absolute (first image + recorded offset / factor), so one late wake-up
    does not slow the whole replay; a loop starts the clock again. `wait` sleeps (a stop
    event's wait ends a long gap early).
    """
    start, previous = 0.0, -1.0
    while (frame := source.read()) is not None:
        offset = source.offset()
        if offset < previous or previous < 0:
            start = time.monotonic() - offset / factor
        previous = offset
        delay = start + offset / factor - time.monotonic()
        if delay > 0:
            wait(delay)
        yield frame
