"""recorder node: writes topics of the graph into a rosbag2 bag, where `ros2 bag` is missing.

Subscriptions take messages serialized (as ros2 bag record does) and hand them to a
writer thread; a full disk stops the recording with one line and the graph runs on.
Message definitions are embedded, this package's own ones too, so any tool decodes them.
"""

import queue
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from emotion_perception.io.parameters import ParamSpec
from emotion_perception.io.recording.bags import BagError, BagWriter
from emotion_perception.ros.diagnostics import ERROR, OK, WARN, DiagnosticsReporter, Report
from emotion_perception.ros.interface import recorded_topics
from emotion_perception.ros.message_types import message_class, package_msg_files
from emotion_perception.ros.ros_params import declare
from emotion_perception.ros.setup_errors import reported

RECORDER_PARAMETERS = (
    ParamSpec('output', '', 'Bag folder to create (empty = rosbag2_YYYY_MM_DD-HH_MM_SS)'),
    ParamSpec('topics', '', 'Comma-separated topics (empty = image_raw/compressed, faces, '
              '/diagnostics; relative names resolve in the namespace)'),
    ParamSpec('raw', False, 'Record image_raw instead of image_raw/compressed by default'),
    ParamSpec('duration', 0.0, 'Stop recording after this many seconds (0 = at shutdown)',
              0.0, 1e7),
    ParamSpec('storage', 'mcap', 'Storage format', choices=('mcap', 'sqlite3')),
)
_CLOSE = None


class RecorderNode(Node):
    """Records topics as they appear in the graph, each with its publishers' reliability."""

    def __init__(self, **kwargs) -> None:
        self._writer: Optional[BagWriter] = None
        self._thread: Optional[threading.Thread] = None
        super().__init__('recorder', **kwargs)
        with reported(self):
            self.params = declare(self, RECORDER_PARAMETERS, read_only=True)
            output = self.params['output'] or time.strftime('rosbag2_%Y_%m_%d-%H_%M_%S')
            self._writer = BagWriter(Path(output).expanduser(), self.params['storage'])
        names = [t.strip() for t in self.params['topics'].split(',') if t.strip()] \
            or recorded_topics(self.params['raw'])
        self.topics = [self.resolve_topic_name(t) for t in names]
        self._pending = list(self.topics)
        self._received = {t: 0 for t in self.topics}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._error, self.done = '', False
        self._thread = threading.Thread(target=self._write, daemon=True, name='bag-writer')
        self._thread.start()
        self._subscribe_new()
        self._discovery = self.create_timer(0.5, self._subscribe_new)
        if self.params['duration']:
            self._deadline = self.create_timer(self.params['duration'], self._finish)
        DiagnosticsReporter(self, 'recording', self._report)
        self.get_logger().info(f'recording {", ".join(self.topics)} into '
                               f'{self._writer.path} ({self.params["storage"]})')

    def _subscribe_new(self) -> None:
        """Subscribe to the topics that have publishers now; the others wait."""
        for topic in list(self._pending):
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            self._pending.remove(topic)
            msgtype = publishers[0].topic_type
            try:
                cls = message_class(msgtype)
                self._declare(topic, msgtype)
            except (BagError, ImportError, AttributeError, ValueError, OSError) as exc:
                self.get_logger().error(f'not recording {topic}: {exc}')
                continue
            best_effort = any(p.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
                              for p in publishers)
            qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT
                             if best_effort else ReliabilityPolicy.RELIABLE)
            self.create_subscription(cls, topic,
                                     lambda data, t=topic: self._on_message(t, data), qos,
                                     raw=True)

    def _declare(self, topic: str, msgtype: str) -> None:
        """Add the topic to the bag, learning its type from its package when needed."""
        assert self._writer is not None
        if not self._writer.knows(msgtype):
            self._writer.define(package_msg_files(msgtype.split('/')[0]))
        self._writer.add_topic(topic, msgtype)

    def _on_message(self, topic: str, data: bytes) -> None:
        """Hand the serialized message to the writer thread, stamped on receipt."""
        self._received[topic] += 1
        if not self._error and not self.done:
            self._queue.put((topic, self.get_clock().now().nanoseconds, data))

    def _write(self) -> None:
        """Write until the close marker; the first failure stops the recording."""
        assert self._writer is not None
        while (item := self._queue.get()) is not _CLOSE:
            if self._error:
                continue
            try:
                self._writer.write(*item)
            except BagError as exc:
                self._error = str(exc)
                self.get_logger().error(f'{exc}; recording stopped, the graph runs on')
        self._close()

    def _close(self) -> None:
        """Summary and metadata.yaml; said with the counts."""
        assert self._writer is not None
        try:
            self._writer.close()
        except BagError as exc:
            if not self._error:  # after a failed write, the failed close says nothing new
                self.get_logger().error(str(exc))
            return
        counts = ', '.join(f'{t} {n}' for t, n in self._writer.written.items())
        self.get_logger().info(f'bag {self._writer.path} closed: {counts or "no messages"}')

    def _finish(self) -> None:
        """The duration is over: stop taking messages and close the bag."""
        self._deadline.cancel()
        self.done = True
        self._queue.put(_CLOSE)

    def _report(self) -> Report:
        """Diagnostics: state, received and written counts per topic."""
        written = self._writer.written if self._writer else {}
        level = ERROR if self._error else WARN if self._pending else OK
        message = self._error or (f'waiting for {", ".join(self._pending)}' if self._pending
                                  else 'done' if self.done else 'recording')
        values: dict[str, object] = {'bag': str(self._writer.path if self._writer else '')}
        for topic, count in self._received.items():
            values[f'{topic} received'] = count
            values[f'{topic} written'] = written.get(topic, 0)
        return level, message, values

    def destroy_node(self) -> None:
        """Write what is queued and close the bag before the node goes."""
        if self._thread is not None:
            if not self.done:
                self.done = True
                self._queue.put(_CLOSE)
            self._thread.join(timeout=30.0)
        super().destroy_node()


def main(args: Optional[list[str]] = None) -> int:
    """`ros2 run emotion_perception recorder_node`."""
    from emotion_perception.ros.main import node_main

    return node_main(RecorderNode, args, until=lambda node: node.done)


if __name__ == '__main__':
    sys.exit(main())
