"""Benchmark: what each camera encoding costs perception to convert, per frame.

The slowest conversions (Bayer demosaicing, YUV 4:2:2, 16-bit scaling) against plain bgr8,
at 640x480 and 1280x720, through the same function the perception node calls
(`image_to_array`: cv_bridge where installed, else emotion_perception.io.recording.image_encodings).
Prints median and p99 over repeated conversions. Run: `make bench`.
"""

import sys
import time
from pathlib import Path

import cv2
import numpy as np
from sensor_msgs.msg import Image

from emotion_perception.ros.conversions import IMAGE_CONVERTER, image_to_array

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'test'))
from test_encodings import encoded  # noqa: E402  (the tests' own encoder)

ENCODINGS = ('bgr8', 'rgb8', 'mono16', 'yuv422', 'yuv422_yuy2', 'bayer_rggb8',
             'bayer_rggb16', 'rgb16')


def cost_ms(msg: Image, repeats: int = 200) -> tuple[float, float]:
    """Median and p99 milliseconds of one conversion."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        image_to_array(msg)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times)), float(np.percentile(times, 99))


def main() -> None:
    """Print one row per encoding and size."""
    from skimage import data

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    print(f'conversion cost per frame ({IMAGE_CONVERTER}), ms median / p99')
    print(f'{"encoding":14} {"640x480":>16} {"1280x720":>16}')
    for name in ENCODINGS:
        cells = []
        for width, height in ((640, 480), (1280, 720)):
            msg = Image(**encoded(name, cv2.resize(face, (width, height))))
            median, p99 = cost_ms(msg)
            cells.append(f'{median:6.2f} / {p99:6.2f}')
        print(f'{name:14} {cells[0]:>16} {cells[1]:>16}')


if __name__ == '__main__':
    main()
