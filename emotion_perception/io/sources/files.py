"""Files as frame sources: a video, or the images of a folder in name order."""

from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from emotion_perception.io.sources.base import IMAGE_SUFFIXES, SourceError


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
