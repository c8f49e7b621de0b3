"""Camera pixels of any common `sensor_msgs/image_encodings` encoding as 8-bit BGR or gray.

What camera drivers publish for a visible-light or IR picture: 8- and 16-bit mono, RGB/BGR
with or without alpha, the YUV 4:2:2 packings, the four Bayer patterns in 8 and 16 bit,
either byte order, rows padded past their width; and JPEG/PNG `CompressedImage` data.
The conversions are cv_bridge's, step for step (the same OpenCV colour codes, 16 to 8 bit
by x * 255 / 65535), so a ROS install with cv_bridge and a pip-only one see the same
pixels. No ROS here: the node passes the message's fields in.
"""

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np


class UnsupportedEncoding(ValueError):
    """An encoding that is no picture this package can read (depth, float, unknown)."""


@dataclass(frozen=True)
class Encoding:
    """How one encoding is laid out and turned into BGR (or gray for mono)."""

    channels: int
    depth: int  # bits per channel: 8 or 16
    #: cv_bridge's OpenCV colour code to BGR, or None when it is BGR or gray already.
    to_bgr: Optional[int]

    @property
    def mono(self) -> bool:
        """Gray pictures stay gray (one channel)."""
        return self.channels == 1 and self.to_bgr is None


def _family(name8: str, name16: Optional[str], channels: int, code: Optional[int]
            ) -> dict[str, Encoding]:
    table = {name8: Encoding(channels, 8, code)}
    if name16:
        table[name16] = Encoding(channels, 16, code)
    return table


#: Every encoding accepted, by its `sensor_msgs/image_encodings` name.
ENCODINGS: dict[str, Encoding] = {
    **_family('mono8', 'mono16', 1, None),
    **_family('bgr8', 'bgr16', 3, None),
    **_family('rgb8', 'rgb16', 3, cv2.COLOR_RGB2BGR),
    **_family('bgra8', 'bgra16', 4, cv2.COLOR_BGRA2BGR),
    **_family('rgba8', 'rgba16', 4, cv2.COLOR_RGBA2BGR),
    # ROS's `yuv422` is UYVY; `yuv422_yuy2` is YUYV. Newer ROS names both plainly.
    **_family('yuv422', None, 2, cv2.COLOR_YUV2BGR_UYVY),
    **_family('uyvy', None, 2, cv2.COLOR_YUV2BGR_UYVY),
    **_family('yuv422_yuy2', None, 2, cv2.COLOR_YUV2BGR_YUY2),
    **_family('yuyv', None, 2, cv2.COLOR_YUV2BGR_YUY2),
    # OpenCV names a Bayer pattern by its second row's first two pixels (as cv_bridge maps).
    **_family('bayer_rggb8', 'bayer_rggb16', 1, cv2.COLOR_BayerBG2BGR),
    **_family('bayer_bggr8', 'bayer_bggr16', 1, cv2.COLOR_BayerRG2BGR),
    **_family('bayer_gbrg8', 'bayer_gbrg16', 1, cv2.COLOR_BayerGR2BGR),
    **_family('bayer_grbg8', 'bayer_grbg16', 1, cv2.COLOR_BayerGB2BGR),
}


def encoding_of(name: str) -> Encoding:
    """The layout of `name`; UnsupportedEncoding names what is accepted instead."""
    try:
        return ENCODINGS[name]
    except KeyError:
        raise UnsupportedEncoding(
            f'image encoding {name!r} is not a picture this node reads; camera drivers '
            f'publish one of {", ".join(ENCODINGS)}') from None


def pixels(name: str, width: int, height: int, step: int, data, bigendian: bool = False
           ) -> np.ndarray:
    """The message's pixels as an array in its own encoding (a view where possible)."""
    enc = encoding_of(name)
    itemsize = enc.depth // 8
    row = width * enc.channels * itemsize
    if step < row or len(data) < step * height:
        raise ValueError(f'{width}x{height} {name} image has step {step} and {len(data)} '
                         f'bytes; too few')
    dtype = np.dtype(np.uint8 if itemsize == 1 else '>u2' if bigendian else '<u2')
    buffer = np.frombuffer(data, dtype=np.uint8, count=step * height).reshape(height, step)
    rows = buffer[:, :row]
    if itemsize == 2:
        rows = np.ascontiguousarray(rows).view(dtype).astype(np.uint16, copy=False)
    shape = (height, width) if enc.channels == 1 else (height, width, enc.channels)
    return rows.reshape(shape)


def to_8bit_bgr(name: str, image: np.ndarray) -> np.ndarray:
    """cv_bridge's `bgr8` (or `mono8` for mono) of an array in encoding `name`."""
    enc = encoding_of(name)
    if enc.to_bgr is not None:
        image = cv2.cvtColor(image, enc.to_bgr)
    if enc.depth == 16:
        image = cv2.convertScaleAbs(image, alpha=255.0 / 65535.0)
    return image


def decode(name: str, width: int, height: int, step: int, data, bigendian: bool = False
           ) -> np.ndarray:
    """8-bit BGR (gray for mono) from a raw image's fields; ValueError if unusable."""
    return to_8bit_bgr(name, pixels(name, width, height, step, data, bigendian))


def decode_compressed(format_: str, data) -> np.ndarray:
    """8-bit BGR from JPEG or PNG bytes (a CompressedImage); ValueError if undecodable."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if image is None:
        raise ValueError(f'compressed image ({format_ or "no format"}, {buffer.size} bytes) '
                         f'is not a JPEG or PNG OpenCV can decode')
    return image
