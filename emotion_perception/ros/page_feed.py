"""What the operator page shows, gathered from the graph by the unity_bridge node.

The page itself (io.operator_page) knows no ROS: this feeds it the nodes' `/diagnostics`,
the warnings and errors on `/rosout`, and camera images, the latter only while a page
with the picture is open (the subscription is made and dropped on demand, so a closed
page costs the graph nothing).
"""

import collections
import time
from datetime import datetime
from typing import Callable, Optional

import psutil
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import Log
from rclpy.node import Node
from sensor_msgs.msg import Image

from emotion_perception.io.outputs.operator_page import OperatorPage
from emotion_perception.ros.conversions import image_to_array, stamp_seconds
from emotion_perception.ros.diagnostics import PERCEPTION_TASK
from emotion_perception.ros.image_subscription import ImagesWhileWanted
from emotion_perception.ros.interface import DIAGNOSTICS_TOPIC, MESSAGE_DEPTH, ROSOUT_TOPIC

#: Warnings and errors the page lists, newest last.
ERRORS_KEPT = 20
#: How often the image subscription follows the pages opening and closing (s).
FOLLOW_PERIOD = 0.5


class PageFeed:
    """Subscriptions on `node` that keep a page supplied; `health()` is the page's figures."""

    def __init__(self, node: Node, figures: Callable[[], dict]) -> None:
        self._node, self._figures = node, figures
        self._page: Optional[OperatorPage] = None
        self._started = time.monotonic()
        self._statuses: dict[str, dict] = {}
        self._errors: collections.deque = collections.deque(maxlen=ERRORS_KEPT)
        self._process = psutil.Process()
        self._process.cpu_percent()  # the first call only starts the measurement
        psutil.cpu_percent()
        self._images = ImagesWhileWanted(node, self._on_image)
        self._subscriptions = [
            node.create_subscription(DiagnosticArray, DIAGNOSTICS_TOPIC, self._on_diagnostics,
                                     MESSAGE_DEPTH),
            node.create_subscription(Log, ROSOUT_TOPIC, self._on_log, 100)]
        self._timer = node.create_timer(FOLLOW_PERIOD, self._follow_pages)

    def feed(self, page: OperatorPage) -> None:
        """Supply `page` from now on."""
        self._page = page

    def close(self) -> None:
        """Drop the subscriptions and the timer (the page could not start)."""
        for subscription in self._subscriptions:
            self._node.destroy_subscription(subscription)
        self._node.destroy_timer(self._timer)

    def health(self) -> dict:
        """The page's `health` figures (io.schema.health_json); called on the page's thread."""
        statuses = list(self._statuses.values())
        return {
            'uptime': round(time.monotonic() - self._started, 1),
            # Frames perception skipped (the bridge's `dropped` counts client queue drops).
            'dropped': sum(int(s['values'].get('dropped', 0)) for s in statuses
                           if s['name'].endswith(f': {PERCEPTION_TASK}')),
            'process': {'cpuPercent': self._process.cpu_percent(),
                        'rssMb': round(self._process.memory_info().rss / 2**20, 1)},
            'machine': {'cpuPercent': psutil.cpu_percent(),
                        'memoryPercent': psutil.virtual_memory().percent},
            'diagnostics': sorted(statuses, key=lambda s: s['name']),
            'errors': list(self._errors),
            **self._figures()}

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self._statuses[status.name] = {
                'name': status.name, 'level': status.level[0] if isinstance(
                    status.level, bytes) else int(status.level),
                'message': status.message,
                'values': {kv.key: kv.value for kv in status.values}}

    def _on_log(self, msg: Log) -> None:
        if msg.level >= Log.WARN:
            when = datetime.fromtimestamp(stamp_seconds(msg.stamp)).strftime('%H:%M:%S')
            self._errors.append({'time': when, 'node': msg.name, 'level': int(msg.level),
                                 'message': msg.msg})

    def _follow_pages(self) -> None:
        """Subscribe to images while a page shows the picture; unsubscribe when none does."""
        if self._page is not None:
            self._images.follow(self._page.wants_images)

    def _on_image(self, msg: Image) -> None:
        """Hand the message over undecoded: only the few pictures sent are decoded."""
        self._page.offer_image(stamp_seconds(msg.header.stamp), msg, image_to_array)


def page_or_none(page: OperatorPage, feed: PageFeed, log: Callable[[str], None]
                 ) -> Optional[OperatorPage]:
    """`page` started and fed; None, said in one line, if its port is taken."""
    try:
        page.start()
    except OSError as exc:
        page.stop()
        feed.close()
        log(f'operator page off: cannot listen on {page.host}:{page.port}: '
            f'{exc.strerror or exc} (parameter page_port)')
        return None
    feed.feed(page)
    return page
