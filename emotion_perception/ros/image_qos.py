"""The QoS the graph's images are published and read with.

A best-effort publisher is invisible to a reliable subscription (the default of rclpy,
rclcpp and several viewers: "No Image"), while a reliable publisher serves best-effort
and reliable subscribers alike. So images go out reliable, keeping only the newest one:
with KEEP_LAST 1 the writer replaces an unacknowledged image instead of waiting for a
slow or stopped reader (`make bench` measures the graph's rate with a stalled one).
Subscribers read best effort (sensor data), which matches publishers of either kind.
"""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rclpy.qos_overriding_options import QoSOverridingOptions

IMAGE_PUBLISHER_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                 reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.VOLATILE)
IMAGE_SUBSCRIBER_QOS = qos_profile_sensor_data
#: The camera's images may be switched per topic by ROS 2's QoS overrides (read-only
#: parameters `qos_overrides.<topic>.publisher.reliability|depth|history`): raw images
#: across a network went at 17.6 msg/s best effort against 11-13 reliable (test_multihost).
IMAGE_QOS_OVERRIDES = QoSOverridingOptions.with_default_policies()
