"""The graph's interface: every topic name, and the QoS each is published and read with.

Names are relative, so a namespace or a remapping moves them all; `/diagnostics` is global,
as ROS tools expect. The nodes, the launch file, the recorder and the tests take them from
here, and a test finds any topic name typed anywhere else.

Images: The QoS the graph's images are published and read with.

A best-effort publisher is invisible to a reliable subscription (the default of rclpy,
rclcpp and several viewers: "No Image"), while a reliable publisher serves best-effort
and reliable subscribers alike. So images go out reliable, keeping only the newest one:
with KEEP_LAST 1 the writer replaces an unacknowledged image instead of waiting for a
slow or stopped reader (`make bench` measures the graph's rate with a stalled one).
Subscribers read best effort (sensor data), which matches publishers of either kind.
Nodes that only sometimes need the camera's images subscribe while they do
(`ImagesWhileWanted`), so a closed page or an unwatched face costs the graph nothing.

Opening: the camera publishes `enabled` (std_msgs/Bool) from its opening hours or
`~/set_enabled`; perception and the bridge follow it. Latched (transient local), so a node
that starts later still learns the current state.
"""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rclpy.qos_overriding_options import QoSOverridingOptions

#: The camera's images: raw, and JPEG as image_transport names it.
RAW_IMAGE_TOPIC = 'image_raw'
#: image_transport's name for a topic's JPEG twin; appended to the *resolved* raw topic, so
#: it follows a remapping of `image_raw`.
COMPRESSED_SUFFIX = '/compressed'
COMPRESSED_IMAGE_TOPIC = RAW_IMAGE_TOPIC + COMPRESSED_SUFFIX
#: The camera's calibration (sensor_msgs/CameraInfo), beside its images as image_transport
#: pairs them: in the namespace of the resolved image topic (camera_info_topic).
CAMERA_INFO_TOPIC = 'camera_info'
#: Perception's output (emotion_perception_msgs/FaceExpressionArray), what every consumer reads.
FACES_TOPIC = 'faces'
#: The camera image with the faces drawn, made only while someone subscribes.
DEBUG_IMAGE_TOPIC = 'debug_image'
#: The same overlay as data (foxglove_msgs/ImageAnnotations), beside `faces`.
ANNOTATIONS_TOPIC = 'image_annotations'
#: Whether the graph is open (std_msgs/Bool, latched).
ENABLED_TOPIC = 'enabled'
DIAGNOSTICS_TOPIC = '/diagnostics'
#: Every node's log lines (rcl_interfaces/Log), read by the operator page.
ROSOUT_TOPIC = '/rosout'
#: REP-155 (ROS4HRI): `tracked` and one namespace per face below it.
HRI_FACES_NAMESPACE = 'humans/faces'

#: Depth of the faces topic and of /diagnostics: small messages, a few kept for a slow reader.
MESSAGE_DEPTH = 10
IMAGE_PUBLISHER_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                 reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.VOLATILE)
IMAGE_SUBSCRIBER_QOS = qos_profile_sensor_data
#: The camera's images may be switched per topic by ROS 2's QoS overrides (read-only
#: parameters `qos_overrides.<topic>.publisher.reliability|depth|history`): raw images
#: across a network went at 17.6 msg/s best effort against 11-13 reliable (test_multihost).
IMAGE_QOS_OVERRIDES = QoSOverridingOptions.with_default_policies()
ENABLED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)

#: What a recording of the graph holds by default (`record`, `run --record`, launch
#: `record:=true`): images compressed, faces, their overlays, health.
RECORDED_TOPICS = (COMPRESSED_IMAGE_TOPIC, FACES_TOPIC, ANNOTATIONS_TOPIC, DIAGNOSTICS_TOPIC)


def recorded_topics(raw: bool = False) -> tuple[str, ...]:
    """The default recording, with raw images instead of JPEG when `raw`."""
    if not raw:
        return RECORDED_TOPICS
    return tuple(RAW_IMAGE_TOPIC if t == COMPRESSED_IMAGE_TOPIC else t for t in RECORDED_TOPICS)


def camera_info_topic(resolved_image_topic: str) -> str:
    """`camera_info` beside an image topic: /cam/image -> /cam/camera_info."""
    return resolved_image_topic.rpartition('/')[0] + '/' + CAMERA_INFO_TOPIC
