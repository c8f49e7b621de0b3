"""Frame sources opened from what a user types: demo, camera index, folder, video, bag."""

import cv2
import numpy as np
import pytest

from emotion_perception.io.recording.bags import BagError
from emotion_perception.io.sources import (
    ImageFolderSource,
    SourceError,
    camera_index,
    open_source,
)


def test_sources():
    assert camera_index('/dev/video2') == 2 and camera_index('0') == 0
    assert camera_index('video.mp4') is None
    with pytest.raises(SourceError, match='cannot be opened'):
        open_source('/dev/video97')
    demo = open_source('demo')
    assert demo.read().shape == (480, 640, 3) and demo.fps == 30.0


def test_an_image_folder_is_read_in_name_order_skipping_what_cannot_be_read(tmp_path):
    for name, value in (('b.png', 20), ('a.png', 10), ('c.jpg', 30)):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), value, np.uint8))
    (tmp_path / 'broken.png').write_bytes(b'not a picture')
    (tmp_path / 'notes.txt').write_text('ignored: not an image suffix')
    source = open_source(str(tmp_path))
    assert isinstance(source, ImageFolderSource) and source.frame_count == 4
    values = [int(source.read()[0, 0, 0]) for _ in range(3)]
    assert values[:2] == [10, 20] and abs(values[2] - 30) <= 2  # c.jpg is lossy
    assert source.read() is None and [p.name for p in source.skipped] == ['broken.png']


def test_missing_or_empty_inputs_are_source_errors_that_name_them(tmp_path):
    with pytest.raises(SourceError, match='video file not found'):
        open_source(str(tmp_path / 'none.mp4'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(SourceError, match='holds no images'):
        open_source(str(tmp_path / 'empty'))


def test_a_damaged_bag_is_a_source_error_caused_by_the_bags_own(tmp_path):
    damaged = tmp_path / 'cut.mcap'
    damaged.write_bytes(b'\x89MCAP0\r\n' + b'\x00' * 40)
    with pytest.raises(SourceError) as raised:
        open_source(str(damaged))
    assert isinstance(raised.value.__cause__, BagError)
