"""OSC bundles as the bridge builds them: slots, targets, the documented address table, size."""

import shutil

import pytest
from made_faces import made_face

from emotion_perception.io.outputs.osc import ADDRESSES, FaceSlots, OscSender, parse_targets
from emotion_perception.vision.results import FrameResult

from conftest import ROOT

OSCDUMP = shutil.which('oscdump')
#: OSC type tag -> the Python type python-osc decodes it to.
PY_TYPES = {'i': int, 'f': float, 's': str}


def test_slots_are_kept_and_the_lowest_free_one_is_reused():
    slots = FaceSlots(3)
    assert slots.update([7, 9]) == ({7: 1, 9: 2}, [(1, 7), (2, 9)], [])
    assert slots.update([9, 11]) == ({9: 2, 11: 1}, [(1, 11)], [(1, 7)])
    assert slots.update([9, 11, 12, 13])[0] == {9: 2, 11: 1, 12: 3}  # 13: no slot left
    assert slots.update([])[2] == [(1, 11), (2, 9), (3, 12)]


@pytest.mark.parametrize('text, message', [('localhost', 'must be host:port'),
                                           ('127.0.0.1:0', 'port 1-65535'),
                                           ('127.0.0.1:x', 'must be host:port')])
def test_bad_targets_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_targets(text)
    assert parse_targets(' 127.0.0.1:9000, [::1]:9001 ,') == [('127.0.0.1', 9000),
                                                               ('::1', 9001)]


def test_the_documented_table_is_the_address_table():
    rows = [line for line in (ROOT / 'docs' / 'osc.md').read_text().splitlines()
            if line.startswith('| `/')]
    assert rows == [f'| `{a}` | {t} | {r} | {m} |' for a, t, r, m in ADDRESSES]


def test_a_frame_is_one_bundle_under_a_datagram_and_cheap():
    sender = OscSender([], slots=8)
    frame = FrameResult(1, 0.0, 640, 480, [made_face(i + 1, i % 7, 60 * i) for i in range(8)])
    data = sender.bundle(frame)
    assert data.startswith(b'#bundle\x00') and len(data) < 8192
