"""The ROS 2 side: thin node adapters around `vision` and `io`.

The three nodes (camera, perception, unity_bridge) and the recorder, the graph they form,
the runner that spins them (one per process under `ros2 launch`, all in one for
`emotion-perception run`), parameter declaration, message conversions and types, faces
written to bags, and `/diagnostics`.

May import: `emotion_perception.io`, `emotion_perception.vision`, rclpy and messages.
Nothing below imports this package; only `emotion_perception.cli` sits above it.
"""
