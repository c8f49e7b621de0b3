"""Whether the graph is open: the topic the camera says it on, and its QoS.

The camera publishes `enabled` (std_msgs/Bool) from its opening hours or `~/set_enabled`;
perception and the bridge follow it. Latched (transient local), so a node that starts
later still learns the current state.
"""

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

ENABLED_TOPIC = 'enabled'
ENABLED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
