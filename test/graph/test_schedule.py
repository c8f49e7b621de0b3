"""Opening hours: the graph rests outside them and comes back alone.

Tested on a clock the test sets (`use_sim_time` and `/clock`), not by waiting for evening.
"""

import json
import socket
from datetime import datetime

from conftest import spin_until

#: Saturday 28 November 2026, local time.
SATURDAY = datetime(2026, 11, 28)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 28) -> datetime:
    return SATURDAY.replace(day=day, hour=hour, minute=minute, second=second)


class StatusClient:
    """A full-stream Unity client that keeps the status lines it receives."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.sock.sendall(b'{"type":"hello"}\n')
        self.sock.setblocking(False)
        self.buffer, self.states, self.frames = b'', [], 0

    def poll(self) -> None:
        """Read what has arrived, without waiting."""
        try:
            self.buffer += self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        *lines, self.buffer = self.buffer.split(b'\n')
        for line in lines:
            obj = json.loads(line)
            if obj['type'] == 'status':
                self.states.append(obj['state'])
            self.frames += obj['type'] == 'faces'


def test_closed_hours_release_the_camera_and_pause_the_clients(ros_context):
    from builtin_interfaces.msg import Time
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from std_msgs.msg import Bool
    from std_srvs.srv import SetBool

    from emotion_perception.ros.interface import ENABLED_QOS
    from emotion_perception.ros.nodes.camera import CameraNode
    from emotion_perception.ros.nodes.unity_bridge import UnityBridgeNode

    sim = [Parameter('use_sim_time', value=True)]
    camera = CameraNode(namespace='hours', parameter_overrides=sim + [
        Parameter('source', value='demo'), Parameter('schedule', value='Sat,Sun 10:00-16:00')])
    bridge = UnityBridgeNode(namespace='hours', parameter_overrides=sim + [
        Parameter('port', value=0), Parameter('websocket_port', value=-1)])
    probe = Node('hours_probe', namespace='hours')
    clock = probe.create_publisher(Clock, '/clock', 10)
    images, enabled = [], []
    probe.create_subscription(Image, 'image_raw', images.append, qos_profile_sensor_data)
    probe.create_subscription(Bool, 'enabled', lambda m: enabled.append(m.data), ENABLED_QOS)
    service = probe.create_client(SetBool, 'camera/set_enabled')
    client = StatusClient(bridge.port)
    nodes = [camera, bridge, probe]

    def tick(moment: datetime, seconds: float) -> None:
        """Let `seconds` of real time pass with the clock showing `moment` onwards."""
        for i in range(int(seconds * 10)):
            ns = int((moment.timestamp() + i * 0.1) * 1e9)
            clock.publish(Clock(clock=Time(sec=ns // 10**9, nanosec=ns % 10**9)))
            spin_until(nodes, lambda: False, 0.1, client.poll)

    try:
        tick(at(15, 59, 50), 3)
        assert enabled[-1] is True and images and camera._state == 'publishing'
        # Before the first /clock the camera sees 1970 (closed): whether that 'paused' and
        # the 'open' after it reach the client depends on when its hello was taken.
        client.states.clear()
        tick(at(16, 0, 1), 3)  # closing time
        assert enabled[-1] is False and camera._state == 'closed'
        before = len(images)
        tick(at(16, 0, 4), 3)
        assert len(images) == before, 'closed: no images'
        assert client.states[:1] == ['paused'] and client.states.count('paused') >= 2
        report = camera._report()
        assert report[1] == 'closed until Sun 10:00' and report[2]['open'] == 'false'

        future = service.call_async(SetBool.Request(data=True))  # staff open it now
        spin_until(nodes, future.done, 10, client.poll)
        assert future.result().success and 'open until Sun 10:00' in future.result().message
        tick(at(16, 0, 8), 3)
        assert enabled[-1] is True and len(images) > before and client.states[-1] == 'open'

        tick(at(10, 0, 1, day=29), 3)  # the override ends at the next change: open Sunday
        assert camera._override is None and camera._open.is_set()
    finally:
        client.sock.close()
        for node in nodes:
            node.destroy_node()
