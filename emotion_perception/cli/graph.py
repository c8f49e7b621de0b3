"""`run` (the whole node graph without ros2 launch) and `record` (the running graph into a bag)."""

import argparse
from pathlib import Path

from emotion_perception.io.outputs.unity_wire import COMPAT_MODES


def cmd_run(args: argparse.Namespace) -> int:
    """Run camera, perception and unity_bridge: the bridge in a process of its own."""
    from emotion_perception.ros.run import run

    bridge = {name: value for name, value in (('port', args.unity_port),
                                              ('host', args.unity_host),
                                              ('allow', args.unity_allow),
                                              ('websocket_port', args.websocket_port),
                                              ('compat', args.compat),
                                              ('osc_targets', ','.join(args.osc or []) or None),
                                              ('page_port', args.page_port),
                                              ('preview', False if args.no_preview else None))
              if value is not None}
    record = None if args.record is None else {'output': args.record, 'raw': args.record_raw}
    camera = {'schedule': args.schedule} if args.schedule is not None else {}
    return run(args.source, Path(args.params) if args.params else None, bridge,
               args.discovery, record, camera, args.hri)


def cmd_record(args: argparse.Namespace) -> int:
    """Record the graph's topics into a bag until Ctrl-C or --duration."""
    from emotion_perception.ros.main import discovery_range, node_main
    from emotion_perception.ros.nodes.recorder import RecorderNode

    discovery_range(args.discovery)
    params = ['output:=' + args.output, 'raw:=' + str(args.raw).lower(),
              'storage:=' + args.storage, f'duration:={float(args.duration or 0)}'] + (
        ['topics:=' + ','.join(args.topics)] if args.topics else [])
    ros_args = ['--ros-args', *[a for p in params for a in ('-p', p)]]
    return node_main(RecorderNode, ros_args, until=lambda node: node.done)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The subcommands `run`, `record`."""
    p = sub.add_parser('run', help='camera -> perception -> unity_bridge, without ros2 launch')
    p.add_argument('--source', default='auto',
                   help='auto (webcam if present, else demo), demo, camera index, video, folder')
    p.add_argument('--params', help='ROS 2 parameter YAML (default: config/params.yaml)')
    p.add_argument('--unity-port', type=int, help='TCP port for Unity clients')
    p.add_argument('--unity-host', help='address to listen on (0.0.0.0: the LAN too, for the '
                                        'addresses in --unity-allow)')
    p.add_argument('--unity-allow', help='comma-separated addresses or networks of other '
                                         'machines allowed to connect (default: none)')
    p.add_argument('--websocket-port', type=int,
                   help='WebSocket port for Unity WebGL builds (default 5001; -1 = off)')
    p.add_argument('--compat', choices=COMPAT_MODES,
                   help='TCP clients that never say hello: auto (default) = scenes written '
                        'for the original script; stream = the full line stream')
    p.add_argument('--discovery', choices=['localhost', 'subnet'],
                   help='ROS 2 discovery range (default: the environment\'s '
                        'ROS_AUTOMATIC_DISCOVERY_RANGE, else localhost: images and faces '
                        'stay on this machine)')
    p.add_argument('--schedule', metavar='HOURS',
                   help='opening hours, local time, e.g. "Mon-Fri 09:00-18:00; Sat,Sun '
                        '10:00-16:00": the camera is released and the graph rests outside '
                        'them ("" = always open)')
    p.add_argument('--osc', metavar='HOST:PORT', action='append',
                   help='also send one OSC bundle per frame there (TouchDesigner, Max; '
                        'docs/osc.md); repeat for several receivers')
    p.add_argument('--page-port', type=int,
                   help='HTTP port of the operator page (default 8080; -1 = off)')
    p.add_argument('--no-preview', action='store_true',
                   help='no camera picture on the operator page (figures only)')
    p.add_argument('--record', metavar='BAG', help='also record the graph into this bag '
                                                   'folder (compressed images, faces, health)')
    p.add_argument('--record-raw', action='store_true', help='record raw images instead')
    p.add_argument('--hri', action='store_true', help='also publish REP-155 (ROS4HRI) topics '
                   'under /humans/faces/ (needs hri_msgs; docs/ros.md)')
    p.set_defaults(func=cmd_run)

    p = sub.add_parser('record', help='record the running graph into a rosbag2 bag (MCAP), '
                                      'without ros2 bag')
    p.add_argument('output', help='bag folder to create')
    p.add_argument('--topics', nargs='+', help='topics (default: image_raw/compressed, faces, '
                                               '/diagnostics)')
    p.add_argument('--duration', type=float, help='stop after this many seconds')
    p.add_argument('--raw', action='store_true', help='raw images instead of JPEG')
    p.add_argument('--storage', choices=['mcap', 'sqlite3'], default='mcap')
    p.add_argument('--discovery', choices=['localhost', 'subnet'],
                   help='ROS 2 discovery range (default as for run: localhost)')
    p.set_defaults(func=cmd_record)
