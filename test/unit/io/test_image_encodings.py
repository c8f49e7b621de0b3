"""Every registered sensor_msgs/Image encoding decodes to the picture; others are refused."""

import cv2
import numpy as np
import pytest
from encoded_images import LOSSLESS, decoded, encoded

from emotion_perception.io.recording.image_encodings import ENCODINGS, UnsupportedEncoding


@pytest.mark.parametrize('name', sorted(ENCODINGS))
def test_every_encoding_decodes_to_the_picture(face, name):
    image = decoded(encoded(name, face))
    reference = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY) if ENCODINGS[name].mono else face
    assert image.dtype == np.uint8 and image.shape == reference.shape
    if name in LOSSLESS:
        assert np.array_equal(image, reference)
    else:  # chroma shared by two pixels, or one colour per pixel: close, not equal
        assert np.abs(image.astype(int) - reference).mean() < 6


@pytest.mark.parametrize('name', sorted(n for n in ENCODINGS if ENCODINGS[n].depth == 16))
def test_big_endian_16_bit_reads_as_little_endian(face, name):
    assert np.array_equal(decoded(encoded(name, face, bigendian=True)),
                          decoded(encoded(name, face)))


@pytest.mark.parametrize('name', ['32FC1', '16UC1', 'nv12', ''])
def test_other_encodings_are_refused_by_name(face, name):
    fields = dict(encoding=name, width=4, height=4, step=16, is_bigendian=0, data=bytes(64))
    with pytest.raises(UnsupportedEncoding, match=repr(name)):
        decoded(fields)


def test_a_short_buffer_is_refused(face):
    fields = encoded('rgb8', face)
    fields['data'] = fields['data'][:-1]
    with pytest.raises(ValueError, match='too few'):
        decoded(fields)
