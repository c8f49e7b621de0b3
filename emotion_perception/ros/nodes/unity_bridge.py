"""unity_bridge node: `faces` in; JSON lines out to Unity (TCP, WebSocket), OSC bundles out."""

import sys
from typing import Optional

from rclpy.node import Node
from std_msgs.msg import Bool

from emotion_perception.io.outputs.access import is_loopback, networks
from emotion_perception.io.outputs.operator_page import OperatorPage
from emotion_perception.io.outputs.osc import OscSender, parse_targets
from emotion_perception.io.outputs.unity_server import UnityServer
from emotion_perception.io.outputs.unity_wire import AUTO, COMPAT_MODES
from emotion_perception.io.parameters import ParamSpec
from emotion_perception.ros.conversions import msg_to_result, stamp_seconds
from emotion_perception.ros.diagnostics import (
    OK,
    DiagnosticsReporter,
    LatencyWindow,
    RateMeter,
    Report,
)
from emotion_perception.ros.interface import ENABLED_QOS, ENABLED_TOPIC, FACES_TOPIC, MESSAGE_DEPTH
from emotion_perception.ros.page_feed import PageFeed, page_or_none
from emotion_perception.ros.ros_params import declare
from emotion_perception.ros.setup_errors import reported
from emotion_perception_msgs.msg import FaceExpressionArray

#: While paused, the status is said again this often (s), so clients are never left silent.
PAUSED_REPEAT = 2.0

BRIDGE_PARAMETERS = (
    ParamSpec('host', '127.0.0.1', 'Address to listen on (0.0.0.0 listens on the LAN too; '
              'clients there also need `allow`)'),
    ParamSpec('allow', '', 'Comma-separated addresses or networks (192.168.1.0/24) of other '
              'machines allowed to connect; this machine always is. Empty: no other machine'),
    ParamSpec('port', 5000, 'TCP port Unity connects to (0 = any free port)', 0, 65535),
    ParamSpec('queue_size', 2, 'Messages kept per client; older ones are dropped', 1, 100),
    ParamSpec('compat', AUTO, 'TCP clients that never say hello: auto = taken for scenes '
              'written for the original script (its fields, one document per send, at '
              'legacy_rate); stream = the full line stream; legacy = every TCP client so',
              choices=COMPAT_MODES),
    ParamSpec('legacy_rate', 5.0, 'Messages per second to original-script scenes (their '
              'pace: one document per 4096-byte read)', 0.5, 60.0),
    ParamSpec('websocket_port', 5001, 'WebSocket port for Unity WebGL builds (same messages, '
              'one text frame each); -1 = off, 0 = any free port', -1, 65535),
    ParamSpec('websocket_origins', '', 'Comma-separated web page origins '
              '(https://exhibit.example) that may open the WebSocket besides pages served '
              'from this machine; clients that send no Origin (Unity players) always may'),
    ParamSpec('max_rate', 0.0, 'Messages per second cap for all clients (0 = no cap)',
              0.0, 1000.0),
    ParamSpec('osc_targets', '', 'Comma-separated host:port receivers of one OSC bundle per '
              'frame (TouchDesigner, Max); empty = OSC off. An address of another machine '
              'sends the faces (no images) there: name it only if you mean to'),
    ParamSpec('page_port', 8080, 'HTTP port of the operator page (http://127.0.0.1:8080/: '
              'preview, faces, rates, clients, errors); -1 = off, 0 = any free port. Same '
              'host and allow as Unity', -1, 65535),
    ParamSpec('preview', True, 'Show the camera picture with the faces drawn on the operator '
              'page (at most 5 frames/s, made only while a page is open); false = figures '
              'only'),
    ParamSpec('osc_slots', 8, 'Face slots in the OSC address space (/face/1 ... /face/N); '
              'faces beyond them are counted, not sent', 1, 64),
)


class UnityBridgeNode(Node):
    """Serves the JSON schema of `process` to Unity, never waiting for any client."""

    def __init__(self, **kwargs) -> None:
        self._server: Optional[UnityServer] = None
        self._osc: Optional[OscSender] = None
        self._page: Optional[OperatorPage] = None
        super().__init__('unity_bridge', **kwargs)
        with reported(self):
            p = declare(self, BRIDGE_PARAMETERS, read_only=True)
            allow = networks(a for a in p['allow'].split(',') if a.strip())
            osc = OscSender(parse_targets(p['osc_targets']), p['osc_slots'],
                            self.get_logger().warning)
            server = UnityServer(p['host'], p['port'], p['queue_size'], p['max_rate'],
                                 self.get_logger().info,
                                 allow, p['compat'], p['legacy_rate'],
                                 None if p['websocket_port'] < 0 else p['websocket_port'],
                                 [o.strip() for o in p['websocket_origins'].split(',')
                                  if o.strip()])
            try:
                server.start()
            except OSError as exc:
                server.stop()
                osc.close()
                raise ValueError(f'cannot listen on {p["host"]}:{p["port"]} (WebSocket '
                                 f'{p["websocket_port"]}): {exc.strerror or exc}') from exc
        self._server, self._osc = server, osc
        self._paused = False
        self._sent, self._meter = 0, RateMeter()
        if p['page_port'] >= 0:
            feed = PageFeed(self, self._page_figures)
            self._page = page_or_none(OperatorPage(
                p['host'], p['page_port'], feed.health, allow, server.origins, p['preview'],
                self.get_logger().info), feed, self.get_logger().warning)
        self.create_subscription(FaceExpressionArray, FACES_TOPIC, self._on_faces,
                                 MESSAGE_DEPTH)
        self.create_subscription(Bool, ENABLED_TOPIC, self._on_enabled, ENABLED_QOS)
        self.create_timer(PAUSED_REPEAT, lambda: self._paused and self._send_status())
        # Image stamp to the lines handed to the server: what the camera-to-Unity path costs
        # before the socket.
        self._latency = LatencyWindow()
        DiagnosticsReporter(self, 'Unity clients', self._report)
        ws = self._server.websocket_port
        self.get_logger().info(f'serving Unity on {p["host"]}:{self._server.port} (TCP)'
                               + (f' and WebSocket port {ws}' if ws is not None else ''))
        if self._page is not None:
            self.get_logger().info(f'operator page on http://{_url_host(p["host"])}:'
                                   f'{self._page.port}/' + ('' if p['preview'] else
                                                            ' (no preview)'))
        for host, port in osc.targets:
            self.get_logger().info(f'sending OSC to {host}:{port}' + (
                '' if is_loopback(host) else ' (another machine: the faces leave this one)'))
        if not is_loopback(p['host']) and not allow:
            self.get_logger().warning(f'listening on {p["host"]} but `allow` is empty: only '
                                   f'clients on this machine are accepted')

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return self._server.port

    def _on_faces(self, msg: FaceExpressionArray) -> None:
        """Hand the frame to the Unity server, OSC and the page; never blocks."""
        result = msg_to_result(msg)
        self._server.publish(result)
        self._osc.send(result)
        self._sent += 1
        if self._page is not None:
            self._page.offer_faces(result)
        self._latency.add(self.get_clock().now().nanoseconds * 1e-9 -
                          stamp_seconds(msg.header.stamp))

    def _on_enabled(self, msg: Bool) -> None:
        """The camera opened or closed: tell every client instead of going silent."""
        if self._paused != (not msg.data):
            self._paused = not msg.data
            self._send_status()

    def _send_status(self) -> None:
        """`paused` or `open` to full-stream and OSC clients; no faces to legacy scenes."""
        state = 'paused' if self._paused else 'open'
        self._server.publish_status(state)
        self._osc.send_status(state)
        if self._page is not None:
            self._page.offer_status(state)

    def _page_figures(self) -> dict:
        """The bridge's part of the page's health: its rate, latency and clients."""
        s, latency = self._server.stats, self._latency.figures()
        return {'rate': round(self._meter.rate(self._sent), 2),
                'latencyP50Ms': latency.get('latency_p50_ms'),
                'latencyP99Ms': latency.get('latency_p99_ms'),
                'clients': {'tcp': s.clients - s.websocket_clients, 'legacy': s.legacy_clients,
                            'websocket': s.websocket_clients, 'osc': len(self._osc.targets)}}

    def _report(self) -> Report:
        """Diagnostics: clients and message counts."""
        s, osc = self._server.stats, self._osc.stats
        return OK, f'{s.clients} Unity client(s)' + (', paused' if self._paused else ''), {
            'clients': s.clients, 'legacy_clients': s.legacy_clients,
            'connections': s.connections, 'refused': s.refused,
            'sent': s.sent, 'dropped': s.dropped, 'rate_limited': s.rate_limited,
            'ignored_input_lines': s.garbage, 'osc_targets': len(self._osc.targets),
            'osc_bundles': osc.bundles, 'osc_bytes': osc.bytes, 'osc_errors': osc.errors,
            'operator_pages': self._page.pages if self._page else 0,
            **self._latency.figures()}

    def destroy_node(self) -> None:
        """Close the clients and the socket before the node goes."""
        if self._server is not None:
            self._server.stop()
        if self._osc is not None:
            self._osc.close()
        if self._page is not None:
            self._page.stop()
        super().destroy_node()


def _url_host(host: str) -> str:
    """The address to type into a browser for a server listening on `host`."""
    return '127.0.0.1' if host in ('0.0.0.0', '::', '') else (
        f'[{host}]' if ':' in host else host)


def main(args: Optional[list[str]] = None) -> int:
    """`ros2 run emotion_perception unity_bridge_node`."""
    from emotion_perception.ros.main import node_main

    return node_main(UnityBridgeNode, args)


if __name__ == '__main__':
    sys.exit(main())
