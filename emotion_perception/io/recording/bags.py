"""rosbag2 bags in and out without rosbag2_py: `rosbags` for whole bags, `mcap` for cut ones.

A bag is a rosbag2 folder (metadata.yaml with .mcap or .db3 files), a bare `.mcap` or `.db3`
file, or what a killed recorder leaves: a folder without metadata.yaml, or an MCAP file
without its summary and end magic. `rosbags` refuses the last ("File end magic is
invalid"); `mcap`'s StreamReader reads such a file front to back, up to its last complete
chunk. Messages stay serialized (CDR) here; only images are decoded, to numpy.

Why one module: reading whole bags (rosbags), cut ones (mcap) and writing share one
notion of a bag's topics, types and image decoding.
"""

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from rosbags.interfaces import MessageDefinitionFormat
from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import StoragePlugin
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from emotion_perception.io.recording import image_encodings

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE = 'sensor_msgs/msg/CompressedImage'
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
STORAGE_SUFFIXES = {'.mcap': StoragePlugin.MCAP, '.db3': StoragePlugin.SQLITE3}
_MCAP_MAGIC = b'\x89MCAP0\r\n'
#: rosbag2 metadata version written: read by ros2 bag since Iron (Kilted writes 9).
METADATA_VERSION = 8


class BagError(RuntimeError):
    """A bag that cannot be read or written as asked; the message says which and why."""


@dataclass(frozen=True)
class TopicInfo:
    """A topic of a bag: its type, its definition (ros2msg text, may be empty), its count."""

    msgtype: str
    msgdef: str
    count: int


@dataclass(frozen=True)
class BagMessage:
    """One serialized message and when it was recorded (ns since the epoch)."""

    topic: str
    msgtype: str
    log_time: int
    data: bytes


@dataclass(frozen=True)
class BagImage:
    """A decoded image of a bag: BGR (or gray) pixels and the header it was recorded with."""

    log_time: int
    stamp: int  # header stamp, ns
    frame_id: str
    image: np.ndarray
    #: (format, bytes) of a CompressedImage, to pass on without encoding again.
    compressed: Optional[tuple[str, bytes]] = None


def is_bag(path: Path) -> bool:
    """Whether `path` looks like a bag (rather than a video file or an image folder)."""
    if path.is_dir():
        return (path / 'metadata.yaml').is_file() or any(
            p.suffix in STORAGE_SUFFIXES for p in path.iterdir())
    return path.suffix in STORAGE_SUFFIXES


def is_image_type(msgtype: str) -> bool:
    """sensor_msgs Image or CompressedImage."""
    return msgtype in IMAGE_TYPES


class Bag:
    """An open bag for reading: its topics, then its messages in recorded order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: Why the bag is read as a cut one (no summary), or '' for a whole bag.
        self.cut = ''
        self._reader: Optional[Reader] = None
        self._mcap: Optional[Path] = None
        if not path.exists():
            raise BagError(f'bag not found: {path}')
        try:
            self._open()
        except (OSError, ValueError, struct.error) as exc:
            raise BagError(f'{path} is not a readable rosbag2 bag: {exc}') from None
        if self._mcap is not None:
            self.topics = self._scan_cut_mcap(self._mcap)
        self.message_count = sum(t.count for t in self.topics.values())

    def _open(self) -> None:
        """Open with rosbags; fall back to streaming an MCAP file that has no summary."""
        path = self.path
        if path.is_dir() and not (path / 'metadata.yaml').is_file():
            self._mcap = _mcap_file(path)
            if self._mcap is None:
                raise BagError(f'{path} is no rosbag2 bag: no metadata.yaml and no .mcap file')
            self.cut = 'no metadata.yaml (recorder stopped abruptly?)'
            return
        try:
            self._reader = Reader(path)
            self._reader.open()
        except Exception as exc:  # rosbags raises its own errors and plain ones
            mcap = _mcap_file(path)
            if mcap is None or not _starts_as_mcap(mcap):
                raise BagError(f'{path} is not a readable rosbag2 bag: {exc}') from None
            self._reader, self._mcap = None, mcap
            self.cut = f'no summary ({exc})'.replace('.)', ')')
            return
        self.topics = {
            name: TopicInfo(info.msgtype or '', info.msgdef.data if
                            info.msgdef.format == MessageDefinitionFormat.MSG else '',
                            info.msgcount)
            for name, info in self._reader.topics.items()}

    def _scan_cut_mcap(self, path: Path) -> dict[str, TopicInfo]:
        """Topics and counts of an MCAP file without summary: one pass over its chunks."""
        counts: dict[str, int] = {}
        channels: dict[str, tuple[str, str]] = {}
        for message in self._stream(path, channels):
            counts[message.topic] = counts.get(message.topic, 0) + 1
        return {topic: TopicInfo(msgtype, msgdef, counts.get(topic, 0))
                for topic, (msgtype, msgdef) in channels.items()}

    def _stream(self, path: Path, channels: dict[str, tuple[str, str]]
                ) -> Iterator[BagMessage]:
        """Messages of an MCAP file front to back, stopping quietly at a cut."""
        from mcap.exceptions import McapError
        from mcap.records import Channel, Message, Schema
        from mcap.stream_reader import StreamReader

        schemas: dict[int, Schema] = {}
        by_id: dict[int, tuple[str, str, str]] = {}
        with open(path, 'rb') as stream:
            records = StreamReader(stream, record_size_limit=1 << 30).records
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    return
                except (McapError, EOFError, ValueError, struct.error, MemoryError):
                    return  # the cut: a record written in part
                if isinstance(record, Schema):
                    schemas[record.id] = record
                elif isinstance(record, Channel):
                    schema = schemas.get(record.schema_id)
                    msgtype = schema.name if schema else ''
                    msgdef = schema.data.decode() if schema and schema.encoding == 'ros2msg' \
                        else ''
                    by_id[record.id] = (record.topic, msgtype, msgdef)
                    channels[record.topic] = (msgtype, msgdef)
                elif isinstance(record, Message) and record.channel_id in by_id:
                    topic, msgtype, _ = by_id[record.channel_id]
                    yield BagMessage(topic, msgtype, record.log_time, bytes(record.data))

    def messages(self, topics: Optional[set[str]] = None) -> Iterator[BagMessage]:
        """The messages of `topics` (all when None) in recorded order."""
        if self._mcap is not None:
            for message in self._stream(self._mcap, {}):
                if topics is None or message.topic in topics:
                    yield message
            return
        assert self._reader is not None
        wanted = [c for c in self._reader.connections if topics is None or c.topic in topics]
        try:
            for conn, log_time, data in self._reader.messages(connections=wanted):
                yield BagMessage(conn.topic, conn.msgtype, log_time, bytes(data))
        except Exception as exc:  # a corrupt chunk or database page mid-bag
            raise BagError(f'{self.path}: reading stopped: {exc}') from None

    def image_topic(self, wanted: str = '') -> str:
        """`wanted`, else the bag's only image topic; BagError names the choices."""
        images = sorted(t for t, info in self.topics.items() if is_image_type(info.msgtype))
        if wanted:
            name = wanted if wanted in self.topics else '/' + wanted.lstrip('/')
            if name not in self.topics:
                raise BagError(f'{self.path} has no topic {wanted}; its image topics: '
                               f'{", ".join(images) or "none"}')
            if not is_image_type(self.topics[name].msgtype):
                raise BagError(f'topic {name} of {self.path} holds '
                               f'{self.topics[name].msgtype or "an undefined type"}, not '
                               f'sensor_msgs Image or CompressedImage')
            return name
        if len(images) == 1:
            return images[0]
        if not images:
            listed = ', '.join(f'{t} ({i.msgtype})' for t, i in sorted(self.topics.items()))
            raise BagError(f'{self.path} holds no sensor_msgs Image or CompressedImage topic '
                           f'(it has: {listed or "no topics"})')
        raise BagError(f'{self.path} has {len(images)} image topics, choose one with '
                       f'bag_topic: {", ".join(images)}')

    def close(self) -> None:
        """Close the files."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _mcap_file(path: Path) -> Optional[Path]:
    """The MCAP file a bag path names: itself, or the first one in its folder."""
    if path.is_dir():
        return next(iter(sorted(path.glob('*.mcap'))), None)
    return path if path.suffix == '.mcap' else None


def _starts_as_mcap(path: Path) -> bool:
    with open(path, 'rb') as stream:
        return stream.read(len(_MCAP_MAGIC)) == _MCAP_MAGIC


_TYPESTORE = get_typestore(Stores.ROS2_KILTED)


def decode_image(message: BagMessage) -> BagImage:
    """Pixels and header of an Image or CompressedImage; ValueError if unusable."""
    try:
        msg = _TYPESTORE.deserialize_cdr(message.data, message.msgtype)
    except Exception as exc:  # a message cut or not of its declared type
        raise ValueError(f'{message.msgtype} message on {message.topic} cannot be '
                         f'deserialized: {exc}') from None
    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
    if message.msgtype == COMPRESSED_IMAGE:
        data = msg.data.tobytes()
        image = image_encodings.decode_compressed(msg.format, data)
        return BagImage(message.log_time, stamp, msg.header.frame_id, image, (msg.format, data))
    image = image_encodings.decode(msg.encoding, msg.width, msg.height, msg.step, msg.data,
                                   bool(msg.is_bigendian))
    return BagImage(message.log_time, stamp, msg.header.frame_id, image)


class BagWriter:
    """Writes a rosbag2 bag (MCAP by default) with message definitions embedded.

    Definitions come from the ROS 2 Kilted type store, from the bag being copied, or from
    .msg files given by the caller (a package's own messages), so other tools decode every
    topic without this package. OSError (disk full, not writable) surfaces as BagError.
    """

    def __init__(self, path: Path, storage: str = 'mcap') -> None:
        self.path = path
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        self._store = get_typestore(Stores.ROS2_KILTED)
        self._connections: dict[str, object] = {}
        self.written: dict[str, int] = {}
        try:
            self._writer = Writer(path, version=METADATA_VERSION, storage_plugin=plugin)
            self._writer.open()
        except Exception as exc:  # WriterError (exists), OSError (permissions)
            raise BagError(f'cannot write bag {path}: {exc}') from None

    def knows(self, msgtype: str) -> bool:
        """Whether the definition of `msgtype` is at hand."""
        return msgtype in self._store.fielddefs

    def define(self, msg_files: dict[str, str]) -> None:
        """Learn message types from .msg texts ({'pkg/msg/Name': text}), all in one go."""
        types: dict = {}
        for msgtype, text in msg_files.items():
            types.update(get_types_from_msg(text, msgtype))
        self._store.register(types)

    def add_topic(self, topic: str, msgtype: str, msgdef: str = '') -> None:
        """Declare a topic; `msgdef` (ros2msg text with dependencies) overrides the store."""
        if topic in self._connections:
            return
        try:
            if msgdef:
                store = get_typestore(Stores.EMPTY)
                store.register(get_types_from_msg(msgdef, msgtype))
                digest = store.hash_rihs01(msgtype) if msgtype in store.fielddefs else ''
                self._connections[topic] = self._writer.add_connection(
                    topic, msgtype, msgdef=msgdef, rihs01=digest or 'RIHS01_' + '0' * 64)
            else:
                self._connections[topic] = self._writer.add_connection(
                    topic, msgtype, typestore=self._store)
        except KeyError:
            raise BagError(f'no definition of {msgtype} (topic {topic}) to embed in the bag; '
                           f'is its message package installed?') from None
        except OSError as exc:
            raise BagError(f'recording to {self.path} failed: {exc}') from None
        self.written[topic] = 0

    def write(self, topic: str, log_time: int, data: bytes) -> None:
        """Append one serialized message of a declared topic."""
        try:
            self._writer.write(self._connections[topic], log_time, data)
        except OSError as exc:
            raise BagError(f'recording to {self.path} failed: {exc.strerror or exc}') from None
        self.written[topic] += 1

    def close(self) -> None:
        """Write the summary and metadata.yaml; a full disk leaves a bag `Bag` still reads."""
        try:
            self._writer.close()
        except OSError as exc:
            raise BagError(f'closing {self.path} failed: {exc.strerror or exc}; the messages '
                           f'written so far stay readable') from None
