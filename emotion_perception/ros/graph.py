"""The nodes of the graph, in one place for `bringup.launch.py` and `emotion-perception run`."""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class NodeEntry:
    """A node of the graph: its name, its `ros2 run` executable and its class."""

    name: str
    executable: str
    factory: str  # 'module:Class'

    @property
    def module(self) -> str:
        """The module that holds the node and its main (`python -m` runs it)."""
        return self.factory.split(':')[0]

    def load(self) -> type:
        """Import and return the node class."""
        return getattr(importlib.import_module(self.module), self.factory.split(':')[1])


CAMERA = NodeEntry('camera', 'camera_node', 'emotion_perception.ros.nodes.camera:CameraNode')
PERCEPTION = NodeEntry('perception', 'perception_node',
                       'emotion_perception.ros.nodes.perception:PerceptionNode')
UNITY_BRIDGE = NodeEntry('unity_bridge', 'unity_bridge_node',
                         'emotion_perception.ros.nodes.unity_bridge:UnityBridgeNode')
NODES = (CAMERA, PERCEPTION, UNITY_BRIDGE)
#: REP-155 (ROS4HRI) topics, on request (`hri:=true`, `run --hri`): needs hri_msgs.
HRI = NodeEntry('hri', 'hri_node', 'emotion_perception.ros.nodes.hri:HriNode')
#: Records the graph where `ros2 bag` is missing (pip-only machines).
RECORDER = NodeEntry('recorder', 'recorder_node',
                     'emotion_perception.ros.nodes.recorder:RecorderNode')
