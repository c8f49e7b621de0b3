"""Bring up camera -> perception -> unity_bridge, each node in its own process.

The node list comes from emotion_perception.ros.graph, which `emotion-perception run` uses
too, so the launch file and the pip-only runner start the same graph.
"""

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from emotion_perception.ros.graph import NODES
from launch import LaunchDescription

ARGUMENTS = (
    ('source', 'demo', 'demo, a camera index or /dev/videoN, a video file or an image folder'),
    ('params_file', PathJoinSubstitution([FindPackageShare('emotion_perception'), 'config',
                                          'params.yaml']), 'YAML with the nodes\' parameters'),
    ('unity_host', '127.0.0.1', 'Address the Unity bridge listens on (0.0.0.0 = LAN)'),
    ('unity_port', '5000', 'TCP port the Unity bridge listens on'),
    ('namespace', '', 'Namespace for the three nodes and their topics'),
    ('log_level', 'info', 'Log level: debug, info, warn, error or fatal'),
    ('debug_image', 'true', 'Publish the annotated debug_image while someone subscribes'),
    ('image_topic', 'image_raw', 'Topic the camera publishes and perception reads'),
    ('faces_topic', 'faces', 'Topic perception publishes and the bridge reads'),
)


def generate_launch_description() -> LaunchDescription:
    """The three nodes with parameters from params_file, overridden by the arguments."""
    arg = LaunchConfiguration
    overrides = {
        'camera': {'source': ParameterValue(arg('source'), value_type=str)},
        'perception': {'debug_image': ParameterValue(arg('debug_image'), value_type=bool)},
        'unity_bridge': {'host': ParameterValue(arg('unity_host'), value_type=str),
                         'port': ParameterValue(arg('unity_port'), value_type=int)},
    }
    remappings = [('image_raw', arg('image_topic')), ('faces', arg('faces_topic'))]
    nodes = [
        Node(package='emotion_perception', executable=entry.executable, name=entry.name,
             namespace=arg('namespace'), output='screen',
             parameters=[arg('params_file'), overrides[entry.name]],
             remappings=remappings,
             arguments=['--ros-args', '--log-level', arg('log_level')])
        for entry in NODES
    ]
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, default, text in ARGUMENTS]
    return LaunchDescription(declared + nodes)
