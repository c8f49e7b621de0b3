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

IMAGE_PUBLISHER_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                 reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.VOLATILE)
IMAGE_SUBSCRIBER_QOS = qos_profile_sensor_data
