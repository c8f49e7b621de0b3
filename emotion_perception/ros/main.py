"""A node's life in a process: rclpy and DDS set up, spinning, Ctrl-C and SIGTERM, exit codes.

Used by every node's own executable (`ros2 run`, `ros2 launch`) and by `run` for the
nodes it hosts together (emotion_perception.ros.run).
"""

import os
import signal
from typing import Callable, Optional

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from emotion_perception.installed import config_file
from emotion_perception.ros.ros_params import warn_unknown
from emotion_perception.ros.setup_errors import SetupFailed

#: The ROS 2 (Iron and later) variable that limits discovery: LOCALHOST, SUBNET, OFF.
DISCOVERY_RANGE = 'ROS_AUTOMATIC_DISCOVERY_RANGE'


class _StopRequest:
    """Ctrl-C and SIGTERM as a flag the spin loop reads.

    The first signal during set-up raises KeyboardInterrupt (a model load may take seconds);
    once spinning it only sets the flag. Raising there is unsafe: the exception lands in
    whatever the main thread runs, and one raised inside a `__del__` is swallowed, which
    left a node running after Ctrl-C. A Ctrl-C under `ros2 launch` arrives twice (terminal
    and launch); the flag makes the second one harmless. The flag is a plain attribute,
    not a threading.Event: a signal that arrives while the handler runs runs the handler
    again inside it, and Event.set's lock, held by the outer call, then deadlocked a
    bridge that got several SIGTERMs (it outlived `run` by an hour).
    """

    def __init__(self) -> None:
        self.requested = False
        self.raising = True

    def __call__(self, signum: int, frame: object) -> None:
        first = not self.requested
        self.requested = True
        if first and self.raising:
            raise KeyboardInterrupt


_stop_request = _StopRequest()


def ignore_further_signals() -> None:
    """Once stopping, ignore Ctrl-C and SIGTERM for good.

    The flag already makes them harmless while Python runs, but at exit Python puts back
    the default action of every signal it handled: a SIGINT arriving then (launch forwards
    the terminal's a moment after it) killed the node, exit code -2 instead of 0. Python
    leaves an ignored signal ignored.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


#: Environment variables by which a user chooses their own Fast DDS configuration.
DDS_USER_CONFIG = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE',
                   'FASTDDS_BUILTIN_TRANSPORTS')


def dds_profile(asynchronous: bool = False) -> Optional[str]:
    """Use the package's Fast DDS profile (config/fastdds.xml); its path, or None.

    Not when the environment configures DDS itself or names another RMW. Raw images are
    larger than Fast DDS's default 512 KiB shared-memory segment: without the profile's
    16 MiB one, a recorder or perception node in another process gets a few of every 30.
    `asynchronous` (processes that publish images) makes publishing asynchronous unless
    RMW_FASTRTPS_PUBLICATION_MODE says otherwise: images go out reliable (interface), and a
    synchronous write to a stopped reliable reader held the camera and perception (the
    graph fell from 30 to 16.5 msg/s). Other processes keep Fast DDS's synchronous default.
    """
    if any(os.environ.get(name) for name in DDS_USER_CONFIG) or \
            os.environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp') != 'rmw_fastrtps_cpp':
        return None
    path = str(config_file('fastdds.xml'))
    os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = path
    if asynchronous:
        os.environ.setdefault('RMW_FASTRTPS_PUBLICATION_MODE', 'ASYNCHRONOUS')
    return path


def init(args: Optional[list[str]], publishes_images: bool = False) -> Optional[str]:
    """Initialise rclpy with the DDS profile and our signal handling instead of rclpy's.

    Ctrl-C and SIGTERM then let the nodes stop their threads before the context goes away.
    Returns the package's DDS profile if it is in use.
    """
    profile = dds_profile(asynchronous=publishes_images)
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGINT, _stop_request)
    signal.signal(signal.SIGTERM, _stop_request)
    return profile


def _executor() -> Executor:
    """The EventsExecutor of rclpy where it exists (Kilted on), else the SingleThreadedExecutor.

    The events executor is C++ and keeps no Python wait set: the thread that spins holds
    the GIL less, and perception, which shares it in `run`, waits less. 8 faces under
    `run` (bench_graph's grid scene, three pairs of runs): 24.5-25.7 msg/s, p99 108-117 ms,
    against 21.0-23.1 msg/s, p99 125-130 ms with the SingleThreadedExecutor.
    """
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:  # Humble, Jazzy
        return SingleThreadedExecutor()
    return EventsExecutor()


def spin(nodes: list[Node], until: Callable[[], bool] = lambda: False) -> int:
    """Spin until Ctrl-C, shutdown or `until()`, then destroy the nodes, shut rclpy down.

    The graph is multi-threaded where the work is: camera capture, perception and the
    Unity server each run on a thread of their own, and callbacks only hand data over.
    The executor that dispatches those callbacks is single-threaded on purpose: rclpy
    9.1.2's MultiThreadedExecutor spins holding the GIL (ros2/rclpy#1223, #1452) and
    cut the graph from 30 to under 6 messages per second here. It wakes at least every
    0.1 s so that a signal's handler runs.
    """
    _stop_request.raising = False
    executor = _executor()
    for node in nodes:
        executor.add_node(node)
    try:
        while not _stop_request.requested and rclpy.ok() and not until():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        ignore_further_signals()
        for node in nodes:
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    return 0


def node_main(factory: Callable[..., Node], args: Optional[list[str]] = None,
              until: Callable[[Node], bool] = lambda node: False, **kwargs) -> int:
    """Main of a single-node executable: init, build, spin; bad setup is one error line.

    `until(node)` ends the spin when the node's work is done (a recording's duration).
    """
    init(args, publishes_images=getattr(factory, 'PUBLISHES_IMAGES', False))
    try:
        node = factory(**kwargs)
    except (SetupFailed, KeyboardInterrupt) as exc:
        ignore_further_signals()
        rclpy.try_shutdown()
        return 2 if isinstance(exc, SetupFailed) else 0
    warn_unknown(node)
    return spin([node], lambda: until(node))


def discovery_range(choice: Optional[str]) -> str:
    """Set ROS 2 discovery for this process: `choice`, else the environment's, else LOCALHOST.

    A pip-only `run` is often a museum PC on a shared network: by default its raw camera
    images and faces are offered to no other machine. The user's environment rules when it
    says otherwise (as on a ROS install); `--discovery subnet` opens it explicitly.
    """
    if choice:
        os.environ[DISCOVERY_RANGE] = choice.upper()
    os.environ.setdefault(DISCOVERY_RANGE, 'LOCALHOST')
    return os.environ[DISCOVERY_RANGE]


