"""Frames packed in every sensor_msgs/Image encoding, as robots' own camera drivers send them.

Each is made from a face image with OpenCV's own colour codes (Bayer mosaics by sampling,
as a sensor does), rows padded by an odd pixel count; shared by the decoding unit tests
and the tests that send them through the perception node.
"""

import cv2
import numpy as np

from emotion_perception.io.recording.image_encodings import ENCODINGS, decode

#: Where each colour sits in a 2x2 Bayer cell, by pattern (BGR channel indices).
BAYER = {'rggb': (2, 1, 1, 0), 'bggr': (0, 1, 1, 2), 'gbrg': (1, 0, 2, 1),
         'grbg': (1, 2, 0, 1)}
#: OpenCV's codes from BGR to each packing this test makes with cvtColor.
FROM_BGR = {'mono': cv2.COLOR_BGR2GRAY, 'rgb': cv2.COLOR_BGR2RGB, 'bgra': cv2.COLOR_BGR2BGRA,
            'rgba': cv2.COLOR_BGR2RGBA, 'yuv422': cv2.COLOR_BGR2YUV_UYVY,
            'uyvy': cv2.COLOR_BGR2YUV_UYVY, 'yuv422_yuy2': cv2.COLOR_BGR2YUV_YUY2,
            'yuyv': cv2.COLOR_BGR2YUV_YUY2}
#: Encodings whose 8-bit picture is the original exactly (no chroma subsampling, no mosaic).
LOSSLESS = {name for name in ENCODINGS if not name.startswith(('bayer', 'yuv', 'uyvy', 'yuyv'))}


def encoded(name: str, bgr: np.ndarray, bigendian: bool = False) -> dict:
    """The Image fields of `bgr` in encoding `name`, rows padded by an odd pixel count."""
    family = name.rstrip('0123456789')
    if family.startswith('bayer_'):
        cell = BAYER[family[6:]]
        pixels = np.empty(bgr.shape[:2], np.uint8)
        for k, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            pixels[dy::2, dx::2] = bgr[dy::2, dx::2, cell[k]]
    elif family == 'bgr':
        pixels = bgr
    else:
        pixels = cv2.cvtColor(bgr, FROM_BGR.get(family, FROM_BGR.get(name)))
    if ENCODINGS[name].depth == 16:
        pixels = pixels.astype(np.uint16) * 257
        pixels = pixels.astype('>u2' if bigendian else '<u2')
    height, width = bgr.shape[:2]
    row = pixels.reshape(height, -1).view(np.uint8)
    padding = 3 * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
    data = np.concatenate([row, np.full((height, padding), 0xAB, np.uint8)], axis=1)
    return dict(encoding=name, width=width, height=height, step=data.shape[1],
                is_bigendian=int(bigendian), data=data.tobytes())


def decoded(fields: dict) -> np.ndarray:
    """The picture our decoder makes of `encoded` fields."""
    return decode(fields['encoding'], fields['width'], fields['height'], fields['step'],
                  fields['data'], bool(fields['is_bigendian']))


