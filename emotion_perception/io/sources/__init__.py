"""Where frames come from: a camera, a video file, an image folder, a bag or the demo scene.

`open_source` picks the kind from what the user typed; each kind lives in a module of its
own (`camera`, `files`, `bag`, `demo`), all offering `base.FrameSource`.
"""

from pathlib import Path

from emotion_perception.io.recording.bags import is_bag
from emotion_perception.io.sources.bag import BagSource
from emotion_perception.io.sources.base import IMAGE_SUFFIXES, FrameSource, SourceError, paced
from emotion_perception.io.sources.camera import CameraSource, camera_index, first_camera
from emotion_perception.io.sources.demo import DemoSource
from emotion_perception.io.sources.files import ImageFolderSource, VideoFileSource

__all__ = ['IMAGE_SUFFIXES', 'BagSource', 'CameraSource', 'DemoSource', 'FrameSource',
           'ImageFolderSource', 'SourceError', 'VideoFileSource', 'camera_index',
           'first_camera', 'open_source', 'paced']


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
    if is_bag(path):
        return BagSource(path, bag_topic, loop, start_offset)
    if path.is_dir():
        return ImageFolderSource(path, fps or 10.0, loop)
    return VideoFileSource(path, loop)
