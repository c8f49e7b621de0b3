"""Where frames come from: a camera, a video file, an image folder, a bag or the demo scene."""

import re
import threading
import time
from pathlib import Path
from typing import Optional, Protocol

import cv2
import numpy as np

from emotion_perception.io.demo import DemoScene

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


def camera_index(spec: str) -> Optional[int]:
    """The camera index of '0' or '/dev/video0', else None."""
    match = re.fullmatch(r'(?:/dev/video)?(\d+)', spec.strip())
    return int(match.group(1)) if match else None


class CameraSource:
    """A V4L2 camera; a thread keeps only its newest frame so readers never queue."""

    def __init__(self, index: int, width: int = 0, height: int = 0) -> None:
        self.description = f'camera /dev/video{index}'
        self.fps = None
        self._cap = cv2.VideoCapture(index, cv2.CAP_V4L2)
        if not self._cap.isOpened():
            raise SourceError(f'{self.description} cannot be opened (missing, busy or no '
                              f'permission)')
        if width and height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._latest: Optional[np.ndarray] = None
        self._failed = False
        self._fresh = threading.Condition()
        self._running = True
        self._thread = threading.Thread(target=self._grab, daemon=True, name='camera-grab')
        self._thread.start()

    def _grab(self) -> None:
        """Read frames as the camera delivers them, keeping the newest."""
        while self._running:
            ok, frame = self._cap.read()
            with self._fresh:
                if not ok:
                    self._failed = True
                    self._fresh.notify_all()
                    return
                self._latest = frame
                self._fresh.notify_all()

    def read(self) -> Optional[np.ndarray]:
        """The newest frame not yet returned; SourceError when the camera stops delivering."""
        with self._fresh:
            if self._latest is None and not self._failed:
                self._fresh.wait(timeout=2.0)
            frame, self._latest = self._latest, None
            if frame is None:
                raise SourceError(f'{self.description} stopped delivering frames (unplugged?)')
            return frame

    def close(self) -> None:
        """Stop the grab thread and release the device."""
        self._running = False
        self._thread.join(timeout=2.0)
        self._cap.release()


class VideoFileSource:
    """A video file, optionally looping; a truncated file simply ends early."""

    def __init__(self, path: Path, loop: bool = False) -> None:
        self.description = f'video {path}'
        if not path.is_file():
            raise SourceError(f'video file not found: {path}')
        self._path, self._loop = path, loop
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise SourceError(f'{path} is not a video OpenCV can decode')
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        self._decoded = 0

    def read(self) -> Optional[np.ndarray]:
        """Next frame; at the end, None or (looping) the first frame again.

        A file OpenCV opens but cannot decode a single frame of (a header only, cut at the
        start) is an error, not an end: the camera retries it until it becomes readable.
        """
        ok, frame = self._cap.read()
        if not ok and self._loop and self._decoded:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        if not ok and not self._decoded:
            raise SourceError(f'{self._path} opens but holds no frame that can be decoded '
                              f'(empty or truncated video?)')
        self._decoded += ok
        return frame if ok else None

    def close(self) -> None:
        """Release the file."""
        self._cap.release()


class ImageFolderSource:
    """The images of a folder in name order; unreadable files are skipped and counted."""

    def __init__(self, folder: Path, fps: float = 10.0, loop: bool = False) -> None:
        self.description = f'image folder {folder}'
        self._files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f'image folder {folder} holds no images '
                              f'({", ".join(sorted(IMAGE_SUFFIXES))})')
        self.fps, self._loop, self._next, self.skipped = fps, loop, 0, []
        self.frame_count = len(self._files)

    def read(self) -> Optional[np.ndarray]:
        """Next readable image, or None after the last."""
        while True:
            if self._next >= len(self._files):
                if not self._loop or len(self.skipped) >= len(self._files):
                    return None
                self._next = 0
            path = self._files[self._next]
            self._next += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                return image
            if path not in self.skipped:
                self.skipped.append(path)
            if len(self.skipped) == len(self._files):
                raise SourceError(f'{self.description}: none of its {len(self._files)} '
                                  f'images can be read (emptied or all corrupt?)')

    def close(self) -> None:
        """Nothing to release."""


class DemoSource:
    """The demo scene as an endless source."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0,
                 faces: int = 2) -> None:
        self.description = f'demo ({faces} moving astronaut faces)'
        self.fps = fps
        self.frame_count = None
        self._scene = DemoScene(width or 640, height or 480, faces, fps)
        self._index = 0

    def read(self) -> Optional[np.ndarray]:
        """Next frame of the scene."""
        frame = self._scene.render(self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        """Nothing to release."""


def open_source(spec: str, *, loop: bool = False, width: int = 0, height: int = 0,
                fps: float = 0.0, bag_topic: str = '', start_offset: float = 0.0
                ) -> FrameSource:
    """Open 'demo', a camera index or /dev/videoN, a bag, a video file or an image folder."""
    if spec == 'demo':
        return DemoSource(width, height, fps or 30.0)
    index = camera_index(spec)
    if index is not None:
        return CameraSource(index, width, height)
    path = Path(spec).expanduser()
    from emotion_perception.io.bags import is_bag  # bags build on this module's SourceError

    if is_bag(path):
        from emotion_perception.io.bag_source import BagSource

        return BagSource(path, bag_topic, loop, start_offset)
    if path.is_dir():
        return ImageFolderSource(path, fps or 10.0, loop)
    return VideoFileSource(path, loop)


def first_camera() -> Optional[int]:
    """Index of the first camera that opens and delivers a frame, if any."""
    for dev in sorted(Path('/dev').glob('video*')):
        index = camera_index(str(dev))
        if index is None:
            continue
        cap = cv2.VideoCapture(index, cv2.CAP_V4L2)
        try:
            if cap.isOpened() and cap.read()[0]:
                return index
        finally:
            cap.release()
    return None


def paced(source: FrameSource, fps: float):
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
