"""Frames and bytes in and out of the process, without ROS.

Frame sources (camera, video, image folder, demo scene, bag), rosbag2 bags read and written
as serialized bytes (rosbags, mcap), the one JSON schema for Unity, offline output and
logs, the Unity TCP server, offline processing and evaluation over files, and the
parameter tables and YAML files shared by the nodes and the command line.

May import: `emotion_perception.vision` and third-party I/O libraries.
Never imports `emotion_perception.ros`, rclpy or any ROS message package, so that `process`
and the servers can be used and tested on their own. (`test/test_layers.py` checks it.)
"""
