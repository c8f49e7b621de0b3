"""Facial expression perception for robots and Unity installations.

Layers, top to bottom (each imports only those below it; `test/test_layers.py` checks it):
`cli` (the `emotion-perception` command), `ros` (nodes), `io` (sources, sockets, schema,
files) and `vision` (the algorithms, numpy in, dataclasses out).
"""

import os

# FFmpeg (inside OpenCV) prints its own lines for unreadable videos; our sources report
# those as one clear error instead. Set before any submodule imports cv2.
os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')
# OpenCV's V4L2 back end warns `can't open camera by index` at every retry of a missing
# camera; the camera node says that once in its own words.
os.environ.setdefault('OPENCV_LOG_LEVEL', 'ERROR')
