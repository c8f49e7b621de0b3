"""`process`: the perception core over a whole source, as fast as it goes, into `.jsonl`."""

import queue
import sys
import threading
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional

import numpy as np

from emotion_perception.io.schema import dumps_line, frame_to_json
from emotion_perception.io.sources import FrameSource
from emotion_perception.vision.pipeline import FacePipeline

_END = object()


def read_ahead(source: FrameSource, depth: int = 4) -> Iterator[np.ndarray]:
    """Decode frames on a second thread (OpenCV releases the GIL) while the first computes."""
    frames: queue.Queue = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []
    stop = threading.Event()

    def decode() -> None:
        try:
            while not stop.is_set() and (frame := source.read()) is not None:
                frames.put(frame)
        except BaseException as exc:  # handed over to the consumer below
            failure.append(exc)
        finally:
            frames.put(_END)

    thread = threading.Thread(target=decode, daemon=True, name='decode')
    thread.start()
    try:
        while (frame := frames.get()) is not _END:
            yield frame
    finally:
        stop.set()
        while thread.is_alive():
            try:
                frames.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
    if failure:
        raise failure[0]


def process_source(pipeline: FacePipeline, source: FrameSource, out: BinaryIO,
                   max_frames: Optional[int] = None,
                   progress: Callable[[int], None] = lambda n: None) -> int:
    """Write one JSON line per frame; returns the number of frames processed."""
    fps = source.fps or 30.0
    count = 0
    for frame in read_ahead(source):
        result = pipeline.process(frame, stamp=count / fps)
        out.write(dumps_line(frame_to_json(result)))
        count += 1
        progress(1)
        if max_frames is not None and count >= max_frames:
            break
    return count


def open_output(path: Path) -> BinaryIO:
    """The output file ('-' for standard output), its folder created if needed."""
    if str(path) == '-':
        return sys.stdout.buffer
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, 'wb')
