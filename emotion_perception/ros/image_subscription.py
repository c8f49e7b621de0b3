"""A subscription to the camera's images that exists only while it is wanted.

Nodes that only sometimes need the images (the operator page's preview, REP-155's
`cropped` and `aligned`) subscribe while they do, so a closed page or an unwatched face
costs the graph nothing.
"""

from typing import Callable, Optional

from rclpy.node import Node
from rclpy.subscription import Subscription
from sensor_msgs.msg import Image

from emotion_perception.ros.interface import IMAGE_SUBSCRIBER_QOS, RAW_IMAGE_TOPIC


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
                Image, RAW_IMAGE_TOPIC, self._callback, IMAGE_SUBSCRIBER_QOS)
        elif not wanted and self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None
            self._on_drop()
