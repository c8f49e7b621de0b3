"""Frames and bytes in and out of the process, without ROS.

`sources` (where frames come from), `recording` (bags and image encodings), `outputs`
(Unity, the operator page, OSC, the one JSON schema), and beside them the parameter tables
and YAML files (`parameters`), opening hours, REP-155's ids and crops (`rep155`), offline
processing and evaluation over files, repeated log lines summarised, and fetching the
model files at set-up. docs/architecture.md has the table.

May import: `emotion_perception.vision` and third-party I/O libraries. Never imports
`emotion_perception.ros`, rclpy or any ROS message package, so that `process` and the
servers can be used and tested on their own (.importlinter).
"""
