"""Facial expression perception for robots and Unity installations.

Layers, top to bottom (each imports only those below it; .importlinter checks it):
`cli` (the `emotion-perception` command), `ros` (nodes) and `training`, `io` (sources,
recordings, outputs, files), `vision` (the algorithms, numpy in, dataclasses out) and
`installed` (where the package's files are). docs/architecture.md draws the rooms.
"""

import os

# FFmpeg (inside OpenCV) prints its own lines for unreadable videos; our sources report
# those as one clear error instead. Set before any submodule imports cv2.
os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')
# OpenCV's V4L2 back end warns `can't open camera by index` at every retry of a missing
# camera; the camera node says that once in its own words.
os.environ.setdefault('OPENCV_LOG_LEVEL', 'ERROR')
