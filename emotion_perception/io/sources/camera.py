"""V4L2 cameras: opening one by index or /dev/videoN, and finding the first that works."""

import re
import threading
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from emotion_perception.io.sources.base import SourceError


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
