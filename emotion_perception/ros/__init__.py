"""The ROS 2 side: thin node adapters around `vision` and `io`.

The nodes (`nodes`: camera, perception, unity_bridge, recorder, hri), every topic name and
QoS (`interface`), the node list (`graph`), a node's process (`main`: DDS set-up, spinning,
signals) and the whole graph from one command (`run`), parameter declaration, message
conversions and types, faces written to bags, and `/diagnostics`.

May import: `emotion_perception.io`, `emotion_perception.vision`, rclpy and messages.
Nothing below imports this package; only `emotion_perception.cli` sits above it.
"""
