"""OSC out: each frame's faces as one bundle of flat addresses, one value each.

For TouchDesigner (OSC In CHOP/DAT), Max/MSP (`udpreceive`), Ableton and the other tools
installation builders wire sensors into, as FaceOSC does. Faces sit in stable slots,
`/face/1/...` to `/face/N/...`, reused as people come and go, so a patch reads fixed
addresses instead of ever-growing track ids. The address table is in docs/osc.md
(`ADDRESSES` below is the same table; a test checks that every row arrives, typed).

Values, strings and the bundle header are encoded by python-osc's `osc_types` (its
builders parse back every message and bundle they build, 5 ms for an 8-face frame;
written directly, the same bytes cost a tenth of that). Sending is UDP on non-blocking sockets:
it never waits, and a target that does not exist or refuses costs one log line, not the
others' frames.
"""

import errno
import socket
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from pythonosc.parsing import osc_types

from emotion_perception.io.log_throttle import LogThrottle
from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.results import Face, FrameResult

#: Every address sent: (address, OSC type, range, meaning). `N` is a slot, 1..slots.
ADDRESSES: tuple[tuple[str, str, str, str], ...] = (
    ('/frame', 'i', '0 ...', 'frame number of the source'),
    ('/faces/count', 'i', '0 ...', 'faces in the frame (also those beyond the slots)'),
    ('/face/N/present', 'i', '0 or 1', 'whether slot N holds a face; sent for every slot '
                                       'every frame, the rest of /face/N only when 1'),
    ('/face/N/id', 'i', '1 ...', 'track id of the face in slot N (stable while it is seen)'),
    ('/face/N/x', 'f', '0-1', 'left edge of the face box, fraction of the image width'),
    ('/face/N/y', 'f', '0-1', 'top edge, fraction of the image height'),
    ('/face/N/w', 'f', '0-1', 'box width, fraction of the image width'),
    ('/face/N/h', 'f', '0-1', 'box height, fraction of the image height'),
    ('/face/N/cx', 'f', '0-1', 'box centre, fraction of the image width'),
    ('/face/N/cy', 'f', '0-1', 'box centre, fraction of the image height'),
    ('/face/N/expression', 's', 'Angry ... Neutral', 'most likely expression'),
    ('/face/N/expression_index', 'i', '0-6', 'its index: ' + ', '.join(
        f'{i} {name}' for i, name in enumerate(EXPRESSIONS))),
    ('/face/N/confidence', 'f', '0-1', 'probability of that expression'),
    *((f'/face/N/score/{name.lower()}', 'f', '0-1', f'probability of {name}')
      for name in EXPRESSIONS),
    ('/face/N/valence', 'f', '-1 to 1', 'unpleasant to pleasant (Russell\'s circumplex)'),
    ('/face/N/arousal', 'f', '-1 to 1', 'calm to excited'),
    ('/face/N/yaw', 'f', 'degrees, about -90 to 90', 'positive turning to the image\'s '
                                                     'left (sent when landmarks are on)'),
    ('/face/N/pitch', 'f', 'degrees, about -90 to 90', 'positive looking up'),
    ('/face/N/roll', 'f', 'degrees, about -90 to 90', 'positive tilting clockwise in the '
                                                      'image'),
    ('/face/N/appeared', 'i', '1 ...', 'event: a face took slot N (its id), in its first '
                                       'frame'),
    ('/face/N/changed', 's', 'Angry ... Neutral', 'event: the face in slot N changed '
                                                  'expression (the new one)'),
    ('/face/N/left', 'i', '1 ...', 'event: the face in slot N left (its id); the slot is free'),
    ('/room/people', 'i', '0 ...', 'faces in the frame'),
    ('/room/valence', 'f', '-1 to 1', 'mean valence of the faces (0 with nobody)'),
    ('/room/arousal', 'f', '-1 to 1', 'mean arousal of the faces (0 with nobody)'),
    ('/room/dominant', 's', 'Angry ... Neutral, none', 'the most frequent expression '
                                                       '(none with nobody)'),
    ('/status', 's', 'open, paused', 'a message of its own (no bundle): paused outside the '
                                     'opening hours (every 2 s while paused), open again'),
)


def parse_targets(text: str) -> list[tuple[str, int]]:
    """'host:port,host:port' -> [(host, port)]; empty -> []; ValueError saying what is wrong."""
    targets = []
    for item in (t.strip() for t in text.split(',')):
        if not item:
            continue
        host, _, port = item.rpartition(':')
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f'OSC target {item!r} must be host:port (port 1-65535)')
        targets.append((host.strip('[]'), int(port)))
    return targets


class FaceSlots:
    """Track ids -> slots 1..count; a face keeps its slot while seen, the lowest free is next."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._slot_of: dict[int, int] = {}

    def update(self, ids: Iterable[int]) -> tuple[dict[int, int], list[tuple[int, int]],
                                                  list[tuple[int, int]]]:
        """Slots of this frame's ids, and the (slot, id) pairs that appeared and left."""
        ids = list(ids)
        present = set(ids)
        left = [(slot, tid) for tid, slot in self._slot_of.items() if tid not in present]
        for _, tid in left:
            del self._slot_of[tid]
        free = sorted(set(range(1, self.count + 1)) - set(self._slot_of.values()))
        appeared = []
        for tid in ids:
            if tid not in self._slot_of and free:
                self._slot_of[tid] = free.pop(0)
                appeared.append((self._slot_of[tid], tid))
        return dict(self._slot_of), sorted(appeared), sorted(left)


_WRITE = {'i': osc_types.write_int, 'f': osc_types.write_float, 's': osc_types.write_string}
#: Bundle header: '#bundle', then the time tag 'immediately'.
_BUNDLE = osc_types.write_string('#bundle') + osc_types.write_date(osc_types.IMMEDIATELY)
_prefixes: dict[tuple[str, str], bytes] = {}


def _message(address: str, value, kind: str) -> bytes:
    """One OSC message with one value of type `kind` (i, f or s)."""
    prefix = _prefixes.get((address, kind))
    if prefix is None:
        prefix = osc_types.write_string(address) + osc_types.write_string(',' + kind)
        _prefixes[address, kind] = prefix
    return prefix + _WRITE[kind](value)


def _bundle(messages: list[bytes]) -> bytes:
    """An OSC bundle to be carried out immediately: each element prefixed by its size."""
    return _BUNDLE + b''.join(osc_types.write_int(len(m)) + m for m in messages)


def _face_messages(slot: int, face: Face, width: int, height: int) -> list[tuple[str, object, str]]:
    """The per-face rows of ADDRESSES for the face in `slot`."""
    p, box = f'/face/{slot}', face.box
    rows = [(f'{p}/present', 1, 'i'), (f'{p}/id', face.id, 'i'),
            (f'{p}/x', box.x / width, 'f'), (f'{p}/y', box.y / height, 'f'),
            (f'{p}/w', box.width / width, 'f'), (f'{p}/h', box.height / height, 'f'),
            (f'{p}/cx', (box.x + box.width / 2) / width, 'f'),
            (f'{p}/cy', (box.y + box.height / 2) / height, 'f'),
            (f'{p}/expression', face.expression, 's'),
            (f'{p}/expression_index', face.expression_idx, 'i'),
            (f'{p}/confidence', face.confidence, 'f')]
    rows += [(f'{p}/score/{name.lower()}', float(score), 'f')
             for name, score in zip(EXPRESSIONS, face.scores)]
    rows += [(f'{p}/valence', face.valence, 'f'), (f'{p}/arousal', face.arousal, 'f')]
    if face.head_pose is not None:
        pose = face.head_pose
        rows += [(f'{p}/yaw', pose.yaw, 'f'), (f'{p}/pitch', pose.pitch, 'f'),
                 (f'{p}/roll', pose.roll, 'f')]
    return rows


@dataclass
class OscStats:
    """What the sender did, for /diagnostics."""

    bundles: int = 0
    bytes: int = 0
    errors: int = 0


class OscSender:
    """Sends one bundle per frame to every target; never blocks, never raises on a target."""

    def __init__(self, targets: list[tuple[str, int]], slots: int = 8,
                 log: Callable[[str], None] = lambda message: None) -> None:
        self.targets = targets
        self.slots = FaceSlots(slots)
        self.stats = OscStats()
        self._throttle = LogThrottle(log, burst=1)
        self._expressions: dict[int, str] = {}
        self._sockets: list[tuple[str, socket.socket]] = []
        for host, port in targets:
            self._sockets.append((f'{host}:{port}', self._open(host, port)))

    @staticmethod
    def _open(host: str, port: int) -> socket.socket:
        """A non-blocking UDP socket connected to the target (so refusals are reported)."""
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as exc:
            raise ValueError(f'OSC target {host}:{port}: cannot resolve {host} '
                             f'({exc.strerror})') from exc
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        sock.connect(address)
        return sock

    def bundle(self, result: FrameResult) -> bytes:
        """The frame's bundle: faces in their slots, events, the room."""
        faces = result.faces
        slot_of, appeared, left = self.slots.update(f.id for f in faces)
        width, height = max(result.width, 1), max(result.height, 1)
        rows: list[tuple[str, object, str]] = [('/frame', result.frame, 'i'),
                                               ('/faces/count', len(faces), 'i')]
        shown = {slot_of[f.id]: f for f in faces if f.id in slot_of}
        for slot in range(1, self.slots.count + 1):
            if slot in shown:
                rows += _face_messages(slot, shown[slot], width, height)
            else:
                rows.append((f'/face/{slot}/present', 0, 'i'))
        rows += [(f'/face/{slot}/left', tid, 'i') for slot, tid in left]
        rows += [(f'/face/{slot}/appeared', tid, 'i') for slot, tid in appeared]
        for slot, face in shown.items():
            before = self._expressions.get(face.id)
            if before is not None and before != face.expression:
                rows.append((f'/face/{slot}/changed', face.expression, 's'))
        self._expressions = {f.id: f.expression for f in faces}
        rows += self._room(faces)
        return _bundle([_message(address, value, kind) for address, value, kind in rows])

    @staticmethod
    def _room(faces: list[Face]) -> list[tuple[str, object, str]]:
        """How many, how they feel on average, and the most frequent expression."""
        if not faces:
            return [('/room/people', 0, 'i'), ('/room/valence', 0.0, 'f'),
                    ('/room/arousal', 0.0, 'f'), ('/room/dominant', 'none', 's')]
        valence = sum(f.valence for f in faces) / len(faces)
        arousal = sum(f.arousal for f in faces) / len(faces)
        dominant = Counter(f.expression for f in faces).most_common(1)[0][0]
        return [('/room/people', len(faces), 'i'), ('/room/valence', valence, 'f'),
                ('/room/arousal', arousal, 'f'), ('/room/dominant', dominant, 's')]

    def send(self, result: FrameResult) -> None:
        """Send the frame's bundle to every target; a failing one is logged, not raised."""
        if self._sockets:
            self._send(self.bundle(result))
            self.stats.bundles += 1

    def send_status(self, state: str) -> None:
        """Say `open` or `paused` (the opening hours) to every target."""
        if self._sockets:
            self._send(_message('/status', state, 's'))

    def _send(self, data: bytes) -> None:
        """One datagram to every target; a failing one is logged, not raised."""
        for name, sock in self._sockets:
            try:
                sock.send(data)
                self.stats.bytes += len(data)
            except OSError as exc:
                self.stats.errors += 1
                reason = {errno.ECONNREFUSED: 'nothing listens there (port unreachable)',
                          errno.EAGAIN: 'its send buffer is full (dropped a bundle)',
                          errno.EMSGSIZE: f'the bundle ({len(data)} bytes) is too large'
                          }.get(exc.errno, exc.strerror or str(exc))
                self._throttle(f'OSC errors for {name}', f'OSC target {name}: {reason}; '
                                                         f'still sending to it')

    def close(self) -> None:
        """Close the sockets."""
        for _, sock in self._sockets:
            sock.close()
