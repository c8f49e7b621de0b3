"""`process`: the perception core over a whole source or bag, as fast as it goes."""

import queue
import sys
import threading
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional, TypeVar

from emotion_perception.io.outputs.schema import dumps_line, frame_to_json
from emotion_perception.io.recording.bags import Bag, BagError, BagImage, BagMessage, decode_image
from emotion_perception.io.sources import FrameSource
from emotion_perception.vision.pipeline import FacePipeline
from emotion_perception.vision.results import FrameResult

_END = object()
Item = TypeVar('Item')
#: Where `process_bag` puts each message: with its image and faces if it is an image.
BagSink = Callable[[BagMessage, Optional[BagImage], Optional[FrameResult]], None]


def read_ahead(read: Callable[[], Optional[Item]], depth: int = 4) -> Iterator[Item]:
    """Call `read` (decoding: OpenCV releases the GIL) on a second thread until None."""
    frames: queue.Queue = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []
    stop = threading.Event()

    def decode() -> None:
        try:
            while not stop.is_set() and (frame := read()) is not None:
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
    for frame in read_ahead(source.read):
        result = pipeline.process(frame, stamp=count / fps)
        out.write(dumps_line(frame_to_json(result)))
        count += 1
        progress(1)
        if max_frames is not None and count >= max_frames:
            break
    return count


def process_bag(pipeline: FacePipeline, bag: Bag, topic: str, sink: BagSink,
                everything: bool = True, max_frames: Optional[int] = None,
                progress: Callable[[int], None] = lambda n: None) -> tuple[int, int, str]:
    """Faces of every image of `topic`, stamped as recorded.

    Returns (processed, undecodable, why the first undecodable one was); a bag none of
    whose images decode is a BagError. `everything` passes the bag's other messages to
    `sink` too, in recorded order.
    """
    def decoded(message: BagMessage) -> tuple[BagMessage, Optional[BagImage], str]:
        if message.topic != topic:
            return message, None, ''
        try:
            return message, decode_image(message), ''
        except ValueError as exc:
            return message, None, str(exc)

    messages = bag.messages(None if everything else {topic})
    count = skipped = 0
    reason = ''
    for message, image, error in read_ahead(
            lambda: decoded(m) if (m := next(messages, None)) is not None else None):
        if image is None:
            skipped += bool(error)
            reason = reason or error
            if not error:
                sink(message, None, None)
            continue
        sink(message, image, pipeline.process(image.image, stamp=image.stamp / 1e9))
        count += 1
        progress(1)
        if max_frames is not None and count >= max_frames:
            break
    if skipped and not count:
        raise BagError(f'no image of {topic} can be decoded: {reason}')
    return count, skipped, reason


def jsonl_sink(out: BinaryIO) -> BagSink:
    """A sink writing one JSON line per processed image."""
    def write(message: BagMessage, image: Optional[BagImage],
              result: Optional[FrameResult]) -> None:
        if result is not None:
            out.write(dumps_line(frame_to_json(result)))
    return write


def open_output(path: Path) -> BinaryIO:
    """The output file ('-' for standard output), its folder created if needed."""
    if str(path) == '-':
        return sys.stdout.buffer
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, 'wb')
