"""Facial expression perception for robots and Unity installations."""

import os

# FFmpeg (inside OpenCV) prints its own lines for unreadable videos; our sources report
# those as one clear error instead. Set before any submodule imports cv2.
os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')
