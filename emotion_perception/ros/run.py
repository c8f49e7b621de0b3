"""The whole graph from one command (`emotion-perception run`, `make run`).

The unity_bridge runs in a process of its own (node_process); camera, perception and the
optional nodes share this one, as a reader stopped on their images then costs nothing.
"""

import os
from pathlib import Path
from typing import Optional

import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter

from emotion_perception.installed import default_params_file
from emotion_perception.io.parameters import Value, load_params_file
from emotion_perception.io.sources import first_camera
from emotion_perception.ros.graph import HRI, NODES, RECORDER, UNITY_BRIDGE
from emotion_perception.ros.main import (
    DDS_USER_CONFIG,
    discovery_range,
    ignore_further_signals,
    init,
    spin,
)
from emotion_perception.ros.node_process import NodeProcess
from emotion_perception.ros.ros_params import warn_unknown
from emotion_perception.ros.setup_errors import SETUP_ERRORS, SetupFailed


def resolve_source(source: str) -> str:
    """'auto' becomes the first working webcam, else 'demo'; said in the log."""
    logger = rclpy.logging.get_logger('emotion_perception')
    if source != 'auto':
        return source
    index = first_camera()
    if index is None:
        logger.info('no webcam found: running the demo source (moving astronaut faces)')
        return 'demo'
    logger.info(f'webcam found: running /dev/video{index}')
    return str(index)


def run(source: str, params: Optional[Path], bridge: dict[str, Value],
        discovery: Optional[str] = None, record: Optional[dict[str, Value]] = None,
        camera: Optional[dict[str, Value]] = None, hri: bool = False) -> int:
    """Camera -> perception -> unity_bridge, with the launch file's YAML; its exit code.

    The bridge runs in a process of its own (node_process), the other nodes in this one.
    `bridge` and `camera` override those nodes' parameters (port, host, allow; schedule);
    `record`, if given, adds the recorder with these parameters (output, raw); `hri` the
    REP-155 node.
    """
    params = params or default_params_file()
    load_params_file(params)
    reach = discovery_range(discovery)
    # The bridge publishes no images: it keeps Fast DDS's synchronous default (dds_profile).
    bridge_env = dict(os.environ)
    profile = init(['--ros-args', '--params-file', str(params)], publishes_images=True)
    bridge_env.update({k: v for k, v in os.environ.items() if k in DDS_USER_CONFIG})
    logger = rclpy.logging.get_logger('emotion_perception')
    if profile:
        logger.info(f'Fast DDS profile {profile}: 16 MiB shared memory, so raw images reach '
                    f'other processes whole')
    logger.info(f'ROS discovery range {reach}' + (
        ': topics stay on this machine (--discovery subnet shares them on the network)'
        if reach == 'LOCALHOST' else ''))
    overrides: dict[str, list[Parameter]] = {
        'camera': [Parameter(k, value=v) for k, v in (camera or {}).items()],
        'recorder': [Parameter(k, value=v) for k, v in (record or {}).items()]}
    # Started first: it is serving while this process loads the models.
    server = NodeProcess(UNITY_BRIDGE, params, bridge, bridge_env)
    nodes: list[Node] = []
    try:
        overrides['camera'].append(Parameter('source', value=resolve_source(source)))
        optional = ((RECORDER,) if record is not None else ()) + ((HRI,) if hri else ())
        for entry in NODES + optional:
            if entry is not UNITY_BRIDGE:
                nodes.append(entry.load()(parameter_overrides=overrides.get(entry.name, [])))
                warn_unknown(nodes[-1])
    except (SetupFailed, KeyboardInterrupt, *SETUP_ERRORS) as exc:
        ignore_further_signals()
        if isinstance(exc, SETUP_ERRORS):
            logger.error(str(exc))
        server.stop()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
        return 0 if isinstance(exc, KeyboardInterrupt) else 2
    try:
        spin(nodes, server.check)
    finally:
        server.stop()
    return server.outcome or 0
