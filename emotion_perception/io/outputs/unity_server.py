"""Serves the faces to any number of Unity clients over TCP and WebSocket. No ROS here.

Each client has its own small newest-wins queue and its own writer, so a client that reads
slowly or never, or disconnects, costs only its own frames. `publish` never blocks: it
hands the frame to the server's event loop thread and returns.

Two kinds of TCP client share the seed's address (as Redis keeps RESP2 for clients that
never send `HELLO 3`): a client that says `{"type":"hello"}` (or `{"type":"next"}`) within
its first moments gets the full stream, one JSON object per line after the server's hello
line; a client that says nothing is taken for a scene written for the original script and
gets the original's messages: the seed fields only, one JSON document per send, no
framing, at the original's pace (`legacy_rate`), so a 4096-byte read holds exactly one
document. `compat` forces either behaviour. WebSocket clients (Unity WebGL) always get the
full stream, one text frame per message.

Freshness: once lines are in a client's own socket buffer nothing on this side can take
them back, so a client that reads slower than the stream asks for each frame instead:
after it sends `{"type":"next"}` it gets one message per request, the newest frame then.

Privacy: only addresses in `allow` may connect (loopback always may); others are refused
at once, with a log line whose repeats are summarised. A browser on this machine could be
made to connect by any web page it opens, so WebSocket handshakes that carry an `Origin`
(browsers always send one) must come from a page on this machine or one of `origins`.

Why one module: a client's life (admission, hello, queue, writer, reader, stop) is one
state machine on one event loop; its wire format (unity_wire) and the access policy
(access) are apart.
"""

import asyncio
import collections
import socket
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable, Optional

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from emotion_perception.io.log_throttle import LogThrottle
from emotion_perception.io.outputs.access import LOCAL_PAGES, InputPace, Network, allowed
from emotion_perception.io.outputs.server_thread import ServerThread
from emotion_perception.io.outputs.unity_wire import (
    AUTO,
    COMPAT_MODES,
    HELLO,
    LEGACY,
    MAX_MESSAGE,
    MAX_REQUEST,
    Frame,
    message_type,
)
from emotion_perception.vision.results import FrameResult

#: Bytes asyncio and the kernel may hold for one client. Small on purpose: a client that
#: falls behind should get the newest frames when it catches up, not seconds-old ones.
WRITE_HIGH_WATER = 16 * 1024
SOCKET_SEND_BUFFER = 32 * 1024
SOCKET_RECEIVE_BUFFER = 64 * 1024
#: How long a new TCP client has to say hello before it is taken for a legacy scene.
HELLO_WAIT = 0.3
@dataclass
class ServerStats:
    """Counters for diagnostics."""

    clients: int = 0
    legacy_clients: int = 0
    websocket_clients: int = 0
    connections: int = 0
    refused: int = 0
    sent: int = 0
    dropped: int = 0
    rate_limited: int = 0
    garbage: int = 0


class _Client:
    """One connected client: its queue, its way of sending, and what it asked for."""

    def __init__(self, name: str, send: Callable[[bytes], Awaitable[None]],
                 abort: Callable[[], None], queue_size: int, stopping: asyncio.Event) -> None:
        self.name, self.send, self.abort = name, send, abort
        self.pending: collections.deque[bytes] = collections.deque(maxlen=queue_size)
        self.ready = asyncio.Event()
        self.legacy = False
        self.kind = 'TCP'
        #: Set once the client asks for frames one at a time; then whether a request of
        #: its waits for the next frame.
        self.on_request = False
        self.waiting = False
        self.last_sent: Optional[bytes] = None
        self.warned = False  # said once that its input is ignored
        self.pace = InputPace(stopping)


class UnityServer:
    """TCP on host:port (and WebSocket on `websocket_port`, if set) on a thread of its own."""

    def __init__(self, host: str, port: int, queue_size: int = 2,
                 max_rate: float = 0.0, log: Callable[[str], None] = print,
                 allow: Iterable[Network] = (), compat: str = AUTO,
                 legacy_rate: float = 5.0, websocket_port: Optional[int] = None,
                 origins: Iterable[str] = ()) -> None:
        if queue_size < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if max_rate < 0 or legacy_rate <= 0:
            raise ValueError(f'max_rate must be >= 0 and legacy_rate > 0, got {max_rate} and '
                             f'{legacy_rate}')
        if compat not in COMPAT_MODES:
            raise ValueError(f'compat must be one of {", ".join(COMPAT_MODES)}, got {compat!r}')
        self.host, self.port, self.websocket_port = host, port, websocket_port
        self.queue_size, self.max_rate = queue_size, max_rate
        self._compat, self._legacy_period = compat, 1.0 / legacy_rate
        self._allow = tuple(allow)
        self.origins = frozenset(origins)
        self._say = LogThrottle(log)
        self.stats = ServerStats()
        self._clients: set[_Client] = set()
        self._serving: set[asyncio.Task] = set()
        self._newest: Optional[Frame] = None
        self._thread = ServerThread('unity-server')
        self._stopping = asyncio.Event()
        self._servers: list = []
        self._last_sent = 0.0

    def start(self) -> None:
        """Bind and start serving; OSError (e.g. port in use) is raised here, not later."""
        tcp = self._thread.run(
            asyncio.start_server(self._serve_tcp, self.host, self.port, reuse_address=True,
                                 limit=MAX_MESSAGE))
        self._servers.append(tcp)
        self.port = tcp.sockets[0].getsockname()[1]
        if self.websocket_port is not None:
            try:
                ws = self._thread.run(self._start_websocket())
            except OSError:
                tcp.close()
                raise
            self._servers.append(ws)
            self.websocket_port = next(iter(ws.sockets)).getsockname()[1]
        self._thread.start()

    async def _start_websocket(self):
        return await serve(self._serve_websocket, self.host, self.websocket_port,
                           reuse_address=True, compression=None, max_queue=4,
                           max_size=MAX_MESSAGE,
                           process_request=self._check_origin)

    def _check_origin(self, connection: ServerConnection, request):
        """Refuse (HTTP 403) a browser page that is neither local nor in `origins`."""
        origin = request.headers.get('Origin')
        if origin is None or LOCAL_PAGES.fullmatch(origin) or origin in self.origins:
            return None
        self.stats.refused += 1
        self._say('refused origins', f'refused a WebSocket from the web page {origin}: not '
                                     f'in websocket_origins')
        return connection.respond(403, 'origin not allowed\n')

    def stop(self) -> None:
        """Close every client and the listening sockets, then end the thread."""
        self._thread.stop(self._shutdown)

    def publish(self, result: FrameResult) -> bool:
        """Queue a frame's faces for every client; False when the rate cap skipped it."""
        now = time.monotonic()
        if self.max_rate > 0 and now - self._last_sent < 1.0 / self.max_rate:
            self.stats.rate_limited += 1
            return False
        self._last_sent = now
        self._thread.call(self._fan_out, Frame.of_result(result))
        return True

    def publish_status(self, state: str) -> None:
        """Say `paused` or `open` to every client (never rate-capped: it is rare)."""
        self._thread.call(self._fan_out, Frame.of_status(state))

    def _fan_out(self, frame: Frame) -> None:
        """On the loop: append to each client's queue, dropping its oldest if full.

        A client that asks for frames gets one per request: the first to arrive while it
        waits, then none until it asks again (two arriving before its writer ran once left
        the second in its socket, read a request later, a second old).
        """
        self._newest = frame
        for client in self._clients:
            if client.on_request:
                if not client.waiting:
                    continue
                client.waiting = False
            elif len(client.pending) == client.pending.maxlen:
                self.stats.dropped += 1
            client.pending.append(frame.legacy if client.legacy else frame.line)
            client.ready.set()

    def _request(self, client: _Client) -> None:
        """A `next` request: the newest frame now, or the next one if it has it already."""
        client.on_request = True
        newest = self._newest.line if self._newest else None
        if newest is not None and newest is not client.last_sent:
            client.pending.clear()
            client.pending.append(newest)
            client.ready.set()
        else:
            client.waiting = True

    def _admit(self, address: str) -> bool:
        """Allow-list check at connection time; a refusal is counted and said."""
        if allowed(address, self._allow):
            return True
        self.stats.refused += 1
        self._say('refused clients', f'refused Unity client {address}: not in the allow '
                                     f'list (parameter allow)')
        return False

    async def _life(self, client: _Client, reading: Awaitable[None], kind: str) -> None:
        """A client's time on the server: register, write and read until either ends."""
        client.kind = kind
        self._clients.add(client)
        self._serving.add(asyncio.current_task())
        self._count()
        self.stats.connections += 1
        self._say('connections', f'Unity {kind} client {client.name} connected '
                                 f'({len(self._clients)} now)')
        writing = asyncio.ensure_future(self._write(client))
        reader = asyncio.ensure_future(reading)
        try:
            await asyncio.wait({writing, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            writing.cancel()
            reader.cancel()
            self._clients.discard(client)
            self._serving.discard(asyncio.current_task())
            self._count()
            self._say('disconnections', f'Unity {kind} client {client.name} disconnected '
                                        f'({len(self._clients)} left)')

    def _count(self) -> None:
        self.stats.clients = len(self._clients)
        self.stats.legacy_clients = sum(c.legacy for c in self._clients)
        self.stats.websocket_clients = sum(c.kind == 'WebSocket' for c in self._clients)

    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        """A TCP client: allow-list, hello or legacy, then its life."""
        peer = writer.get_extra_info('peername') or ('', 0)
        if not self._admit(peer[0]):
            writer.transport.abort()
            return
        writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER)
            # Requests are short lines: a small fixed receive buffer (no autotuning to
            # 32 MB) lets the kernel hold a flooding client back sooner.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        async def send(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        client = _Client(f'{peer[0]}:{peer[1]}', send, writer.transport.abort,
                         self.queue_size, self._stopping)
        first = await self._first_line(reader)
        client.legacy = self._compat == LEGACY or self._compat == AUTO and first is None
        if client.legacy:
            client.pending = collections.deque(maxlen=1)
        elif first is not None and message_type(first) == 'next':
            self._request(client)
        try:
            await self._life(client, self._read_tcp(client, reader),
                             'legacy' if client.legacy else 'TCP')
        finally:
            writer.transport.abort()

    async def _first_line(self, reader: asyncio.StreamReader) -> Optional[bytes]:
        """The client's hello (or first request) if it says one in time, else None."""
        if self._compat != AUTO:
            return None
        try:
            line = await asyncio.wait_for(reader.readline(), HELLO_WAIT)
        except (asyncio.TimeoutError, ValueError, ConnectionError, OSError):
            return None
        return line if message_type(line) in ('hello', 'next') else None

    async def _serve_websocket(self, ws: ServerConnection) -> None:
        """A WebSocket client: allow-list, then the full stream as text frames."""
        address = ws.remote_address[0] if ws.remote_address else ''
        if not self._admit(address):
            await ws.close(code=1008, reason='not in the allow list')
            return

        async def send(data: bytes) -> None:
            await ws.send(data.rstrip(b'\n').decode())

        client = _Client(f'{address}:{ws.remote_address[1]}', send, ws.transport.abort,
                         self.queue_size, self._stopping)
        await self._life(client, self._read_websocket(client, ws), 'WebSocket')

    async def _write(self, client: _Client) -> None:
        """Hello (full-stream clients), then whatever is queued, oldest first."""
        try:
            if not client.legacy:
                await client.send(HELLO)
            while True:
                await client.ready.wait()
                client.ready.clear()
                while client.pending:
                    line = client.pending.popleft()
                    await client.send(line)
                    client.last_sent = line
                    self.stats.sent += 1
                    if client.legacy:  # the original's pace: one document per read
                        await asyncio.sleep(self._legacy_period)
        except (ConnectionError, OSError, ConnectionClosed):
            return

    async def _read_tcp(self, client: _Client, reader: asyncio.StreamReader) -> None:
        """Take `{"type":"next"}` requests; anything else is ignored, said once per client."""
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # a line past the reader's limit: dropped, keep reading
                await client.pace.ignore(MAX_MESSAGE)
                continue
            except (ConnectionError, OSError):
                return
            if not line:
                return
            if not self._on_message(client, line):
                await client.pace.ignore(len(line))

    async def _read_websocket(self, client: _Client, ws: ServerConnection) -> None:
        """The same requests, one per text (or binary) frame."""
        try:
            async for message in ws:
                if not self._on_message(client, message):
                    await client.pace.ignore(len(message))
        except ConnectionClosed:
            return

    def _on_message(self, client: _Client, message) -> bool:
        """Act on a request; False for anything else (ignored, said once per client)."""
        kind = message_type(message) if len(message) < MAX_REQUEST else None
        if kind == 'next':
            self._request(client)
        elif kind != 'hello':
            self.stats.garbage += 1
            if not client.warned:
                client.warned = True
                self._say('ignored client input', f'Unity client {client.name} sent something '
                                                  f'other than {{"type":"next"}}; ignored, '
                                                  f'and read slower from now on')
            return False
        return True

    async def _shutdown(self) -> None:
        """Stop accepting, drop every client at once (none may hold the stop up), then wait.

        Aborting a client's connection ends its reader, and so its whole life; each ends
        by itself (cancelling them would make asyncio's stream callback log).
        """
        self._stopping.set()
        for server in self._servers:
            server.close()
        for client in list(self._clients):
            client.abort()
        if self._serving:
            await asyncio.wait(set(self._serving), timeout=2.0)
        for server in self._servers:
            await server.wait_closed()


