"""The node graph, in one place for `bringup.launch.py` and `emotion-perception run`."""

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NodeEntry:
    """A node of the graph: its name, its `ros2 run` executable and its class."""

    name: str
    executable: str
    factory: str  # 'module:Class'

    def load(self) -> type:
        """Import and return the node class."""
        module, cls = self.factory.split(':')
        return getattr(importlib.import_module(module), cls)


CAMERA = NodeEntry('camera', 'camera_node', 'emotion_perception.ros.camera_node:CameraNode')
PERCEPTION = NodeEntry('perception', 'perception_node',
                       'emotion_perception.ros.perception_node:PerceptionNode')
UNITY_BRIDGE = NodeEntry('unity_bridge', 'unity_bridge_node',
                         'emotion_perception.ros.unity_bridge_node:UnityBridgeNode')
NODES = (CAMERA, PERCEPTION, UNITY_BRIDGE)
#: REP-155 (ROS4HRI) topics, on request (`hri:=true`, `run --hri`): needs hri_msgs.
HRI = NodeEntry('hri', 'hri_node', 'emotion_perception.ros.hri_node:HriNode')
#: Records the graph where `ros2 bag` is missing (pip-only machines).
RECORDER = NodeEntry('recorder', 'recorder_node',
                     'emotion_perception.ros.recorder_node:RecorderNode')


#: The camera's images: raw, and JPEG as image_transport names it.
RAW_IMAGE_TOPIC = 'image_raw'
COMPRESSED_IMAGE_TOPIC = RAW_IMAGE_TOPIC + '/compressed'
#: What a recording of the graph holds by default (`record`, `run --record`, launch
#: `record:=true`): images compressed, faces, their overlays, health. Names relative to
#: the namespace.
RECORDED_TOPICS = (COMPRESSED_IMAGE_TOPIC, 'faces', 'image_annotations', '/diagnostics')


def recorded_topics(raw: bool = False) -> tuple[str, ...]:
    """The default recording, with raw images instead of JPEG when `raw`."""
    if not raw:
        return RECORDED_TOPICS
    return tuple(RAW_IMAGE_TOPIC if t == COMPRESSED_IMAGE_TOPIC else t for t in RECORDED_TOPICS)


def config_file(name: str) -> Path:
    """A file of the checkout's config/, else of the installed package's."""
    checkout = Path(__file__).resolve().parents[2] / 'config' / name
    if checkout.is_file():
        return checkout
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory('emotion_perception')) / 'config' / name


def default_params_file() -> Path:
    """The nodes' parameters: config/params.yaml."""
    return config_file('params.yaml')
