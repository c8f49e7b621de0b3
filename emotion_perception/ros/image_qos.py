"""The QoS the graph's images are published and read with.

A best-effort publisher is invisible to a reliable subscription (the default of rclpy,
rclcpp and several viewers: "No Image"), while a reliable publisher serves best-effort
and reliable subscribers alike. So images go out reliable, keeping only the newest one:
with KEEP_LAST 1 the writer replaces an unacknowledged image instead of waiting for a
slow or stopped reader (`make bench` measures the graph's rate with a stalled one).
Subscribers read best effort (sensor data), which matches publishers of either kind.
Nodes that only sometimes need the camera's images subscribe while they do
(`ImagesWhileWanted`), so a closed page or an unwatched face costs the graph nothing.
"""

from typing import Callable, Optional

from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.subscription import Subscription
from sensor_msgs.msg import Image

IMAGE_PUBLISHER_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                 reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.VOLATILE)
IMAGE_SUBSCRIBER_QOS = qos_profile_sensor_data
#: The camera's images may be switched per topic by ROS 2's QoS overrides (read-only
#: parameters `qos_overrides.<topic>.publisher.reliability|depth|history`): raw images
#: across a network went at 17.6 msg/s best effort against 11-13 reliable (test_multihost).
IMAGE_QOS_OVERRIDES = QoSOverridingOptions.with_default_policies()


class ImagesWhileWanted:
    """A subscription to `image_raw` that exists only while `follow(True)` says it is wanted."""

    def __init__(self, node: Node, callback: Callable[[Image], None],
                 on_drop: Callable[[], None] = lambda: None) -> None:
        self._node, self._callback, self._on_drop = node, callback, on_drop
        self._subscription: Optional[Subscription] = None

    def follow(self, wanted: bool) -> None:
        """Subscribe when wanted and not yet subscribed; unsubscribe (and `on_drop`) when not."""
        if wanted and self._subscription is None:
            self._subscription = self._node.create_subscription(
                Image, 'image_raw', self._callback, IMAGE_SUBSCRIBER_QOS)
        elif not wanted and self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None
            self._on_drop()
