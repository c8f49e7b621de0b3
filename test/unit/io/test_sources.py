"""Frame sources opened from what a user types: demo, camera index, folder, video."""

import os
import sys
from pathlib import Path

import pytest

from emotion_perception.io.sources import SourceError, camera_index, open_source

from conftest import ROOT

CLI = Path(sys.executable).parent / 'emotion-perception'
FER2013 = Path(os.environ.get('FER2013_DIR', ROOT.parent / 'shared/data/fer2013-publictest'))
#: The shipped model's PublicTest accuracy (models/expression_vgg.md), less a point.
TRAINED_FLOOR = 0.65


def test_sources():
    assert camera_index('/dev/video2') == 2 and camera_index('0') == 0
    assert camera_index('video.mp4') is None
    with pytest.raises(SourceError, match='cannot be opened'):
        open_source('/dev/video97')
    demo = open_source('demo')
    assert demo.read().shape == (480, 640, 3) and demo.fps == 30.0
