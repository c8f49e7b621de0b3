"""A TCP server that fans JSON lines out to any number of Unity clients. No ROS here.

Each client has its own small newest-wins queue and its own writer, so a client that reads
slowly or never, or disconnects, costs only its own frames. `publish` never blocks: it
hands the line to the server's event loop thread and returns.

Freshness: the server keeps little in flight per client, but once lines are in the
client's own socket buffer nothing on this side can take them back; a client that reads
slower than the stream would read old lines from there. Such a client asks for each frame
instead: after it sends `{"type":"next"}` (one line), it gets exactly one line per request,
the newest frame at that moment (or the next one, if it already has the newest).

Privacy: only addresses in `allow` may connect (loopback is always allowed); others are
refused at once, with a log line that repeats are summarised in.
"""

import asyncio
import collections
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from emotion_perception.io.log_throttle import LogThrottle

#: Bytes asyncio and the kernel may hold for one client. Small on purpose: a client that
#: falls behind should get the newest frames when it catches up, not seconds-old ones.
WRITE_HIGH_WATER = 16 * 1024
SOCKET_SEND_BUFFER = 32 * 1024
#: A client's request line: the newest frame, now.
NEXT = 'next'

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(allow: Iterable[str]) -> tuple[Network, ...]:
    """An allow-list ('192.168.1.0/24', '10.0.0.7', 'fd00::/8'); ValueError names a bad entry."""
    parsed = []
    for entry in allow:
        try:
            parsed.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f'allow-list entry {entry!r} is not an address or network: {exc}'
                             ) from None
    return tuple(parsed)


def is_loopback(host: str) -> bool:
    """True when listening on `host` keeps the server to this machine."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == 'localhost'


@dataclass
class ServerStats:
    """Counters for diagnostics."""

    clients: int = 0
    connections: int = 0
    refused: int = 0
    sent: int = 0
    dropped: int = 0
    rate_limited: int = 0
    garbage: int = 0


class _Client:
    """One connected client: its queue of pending lines and its writer task."""

    def __init__(self, writer: asyncio.StreamWriter, queue_size: int) -> None:
        self.writer = writer
        self.pending: collections.deque[bytes] = collections.deque(maxlen=queue_size)
        self.ready = asyncio.Event()
        #: Set once the client asks for frames one at a time; then its open requests.
        self.on_request = False
        self.requests = 0
        self.last_sent: Optional[bytes] = None
        peer = writer.get_extra_info('peername')
        self.address = peer[0] if peer else ''
        self.name = f'{peer[0]}:{peer[1]}' if peer else 'client'


class UnityServer:
    """Listens on host:port in a thread of its own; `publish(line)` sends to every client."""

    def __init__(self, host: str, port: int, hello: bytes, queue_size: int = 2,
                 max_rate: float = 0.0, log: Callable[[str], None] = print,
                 allow: Iterable[Network] = ()) -> None:
        if queue_size < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if max_rate < 0:
            raise ValueError(f'max_rate must be >= 0, got {max_rate}')
        self.host, self.port, self._hello = host, port, hello
        self.queue_size, self.max_rate = queue_size, max_rate
        self._allow = tuple(allow)
        self._say = LogThrottle(log)
        self.stats = ServerStats()
        self._clients: set[_Client] = set()
        self._serving: set[asyncio.Task] = set()
        self._newest: Optional[bytes] = None
        self._loop = asyncio.new_event_loop()
        self._server: Optional[asyncio.base_events.Server] = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name='unity-server')
        self._last_sent = 0.0

    def start(self) -> None:
        """Bind and start serving; OSError (e.g. port in use) is raised here, not later."""
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, self.host, self.port, reuse_address=True))
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread.start()

    def stop(self) -> None:
        """Close every client and the listening socket, then end the thread."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()

    def publish(self, line: bytes) -> bool:
        """Queue one line for every client; False when the rate cap skipped it."""
        now = time.monotonic()
        if self.max_rate > 0 and now - self._last_sent < 1.0 / self.max_rate:
            self.stats.rate_limited += 1
            return False
        self._last_sent = now
        self._loop.call_soon_threadsafe(self._fan_out, line)
        return True

    def allowed(self, address: str) -> bool:
        """Loopback always; any other address only if the allow-list holds it."""
        try:
            ip = ipaddress.ip_address(address.split('%')[0])
        except ValueError:
            return False
        ip = getattr(ip, 'ipv4_mapped', None) or ip
        return ip.is_loopback or any(ip in net for net in self._allow)

    def _fan_out(self, line: bytes) -> None:
        """On the loop: append to each client's queue, dropping its oldest if full."""
        self._newest = line
        for client in self._clients:
            if client.on_request and not client.requests:
                continue
            if len(client.pending) == client.pending.maxlen:
                self.stats.dropped += 1
            client.pending.append(line)
            client.ready.set()

    def _request(self, client: _Client) -> None:
        """A `next` request: the newest frame now, or the next one if it has it already."""
        client.on_request = True
        if self._newest is not None and self._newest is not client.last_sent:
            client.pending.clear()
            client.pending.append(self._newest)
            client.ready.set()
        else:
            client.requests = 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client's life: hello, then its writer and a reader of its requests."""
        client = _Client(writer, self.queue_size)
        if not self.allowed(client.address):
            self.stats.refused += 1
            self._say('refused clients', f'refused Unity client {client.address}: not in the '
                                         f'allow list (parameter allow)')
            writer.transport.abort()
            return
        writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._clients.add(client)
        self._serving.add(asyncio.current_task())
        self.stats.clients = len(self._clients)
        self.stats.connections += 1
        self._say('connections', f'Unity client {client.name} connected '
                                 f'({len(self._clients)} now)')
        writing = asyncio.ensure_future(self._write(client))
        reading = asyncio.ensure_future(self._read(client, reader))
        try:
            await asyncio.wait({writing, reading}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            writing.cancel()
            reading.cancel()
            self._clients.discard(client)
            self._serving.discard(asyncio.current_task())
            self.stats.clients = len(self._clients)
            writer.transport.abort()
            self._say('disconnections', f'Unity client {client.name} disconnected '
                                        f'({len(self._clients)} left)')

    async def _write(self, client: _Client) -> None:
        """Send the hello line, then whatever is queued, oldest first."""
        try:
            client.writer.write(self._hello)
            while True:
                await client.ready.wait()
                client.ready.clear()
                while client.pending:
                    line = client.pending.popleft()
                    client.writer.write(line)
                    client.last_sent = line
                    client.requests = 0
                    self.stats.sent += 1
                await client.writer.drain()
        except (ConnectionError, OSError):
            return

    async def _read(self, client: _Client, reader: asyncio.StreamReader) -> None:
        """Take `{"type":"next"}` requests; anything else is ignored, said once per client."""
        warned = False
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # a line past the reader's limit: dropped, keep reading
                line = b'\n'
            except (ConnectionError, OSError):
                return
            if not line:
                return
            if _is_request(line):
                self._request(client)
                continue
            self.stats.garbage += 1
            if not warned:
                warned = True
                self._say('ignored client input', f'Unity client {client.name} sent '
                                                  f'something other than {{"type":"next"}}; '
                                                  f'ignored')

    async def _shutdown(self) -> None:
        """Stop accepting, drop every client at once (none may hold the stop up), then wait.

        Aborting a client's connection ends its reader, and so its whole `_serve`; each
        ends by itself (cancelling them would make asyncio's stream callback log).
        """
        self._server.close()
        for client in list(self._clients):
            client.writer.transport.abort()
        if self._serving:
            await asyncio.wait(set(self._serving), timeout=2.0)
        await self._server.wait_closed()


def _is_request(line: bytes) -> bool:
    """True for the one request clients may send: {"type":"next"}."""
    try:
        message = json.loads(line)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get('type') == NEXT
