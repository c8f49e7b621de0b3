"""A TCP server that fans JSON lines out to any number of Unity clients. No ROS here.

Each client has its own small newest-wins queue and its own writer, so a client that reads
slowly or never, or disconnects, costs only its own frames. `publish` never blocks: it
hands the line to the server's event loop thread and returns.
"""

import asyncio
import collections
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

#: Bytes asyncio and the kernel may hold for one client. Small on purpose: a client that
#: falls behind should get the newest frames when it catches up, not seconds-old ones.
WRITE_HIGH_WATER = 16 * 1024
SOCKET_SEND_BUFFER = 32 * 1024


@dataclass
class ServerStats:
    """Counters for diagnostics."""

    clients: int = 0
    connections: int = 0
    sent: int = 0
    dropped: int = 0
    rate_limited: int = 0


class _Client:
    """One connected client: its queue of pending lines and its writer task."""

    def __init__(self, writer: asyncio.StreamWriter, queue_size: int) -> None:
        self.writer = writer
        self.pending: collections.deque[bytes] = collections.deque(maxlen=queue_size)
        self.ready = asyncio.Event()
        peer = writer.get_extra_info('peername')
        self.name = f'{peer[0]}:{peer[1]}' if peer else 'client'


class UnityServer:
    """Listens on host:port in a thread of its own; `publish(line)` sends to every client."""

    def __init__(self, host: str, port: int, hello: bytes, queue_size: int = 2,
                 max_rate: float = 0.0, log: Callable[[str], None] = print) -> None:
        if queue_size < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if max_rate < 0:
            raise ValueError(f'max_rate must be >= 0, got {max_rate}')
        self.host, self.port, self._hello = host, port, hello
        self.queue_size, self.max_rate, self._log = queue_size, max_rate, log
        self.stats = ServerStats()
        self._clients: set[_Client] = set()
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
        if not self._thread.is_alive():
            self._loop.close()
            return
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

    def _fan_out(self, line: bytes) -> None:
        """On the loop: append to each client's queue, dropping its oldest if full."""
        for client in self._clients:
            if len(client.pending) == client.pending.maxlen:
                self.stats.dropped += 1
            client.pending.append(line)
            client.ready.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client's life: hello, then its writer and a reader that discards input."""
        writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = _Client(writer, self.queue_size)
        self._clients.add(client)
        self.stats.clients = len(self._clients)
        self.stats.connections += 1
        self._log(f'Unity client {client.name} connected ({len(self._clients)} now)')
        writing = asyncio.ensure_future(self._write(client))
        reading = asyncio.ensure_future(self._read(client, reader))
        try:
            await asyncio.wait({writing, reading}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            writing.cancel()
            reading.cancel()
            self._clients.discard(client)
            self.stats.clients = len(self._clients)
            writer.close()
            self._log(f'Unity client {client.name} disconnected ({len(self._clients)} left)')

    async def _write(self, client: _Client) -> None:
        """Send the hello line, then whatever is queued, oldest first."""
        try:
            client.writer.write(self._hello)
            while True:
                await client.ready.wait()
                client.ready.clear()
                while client.pending:
                    client.writer.write(client.pending.popleft())
                    self.stats.sent += 1
                await client.writer.drain()
        except (ConnectionError, OSError):
            return

    async def _read(self, client: _Client, reader: asyncio.StreamReader) -> None:
        """Clients have nothing to say: read and drop it, telling the log once."""
        warned = False
        try:
            while data := await reader.read(4096):
                if not warned:
                    self._log(f'Unity client {client.name} sent {len(data)} bytes; this server '
                              f'only sends, so client input is ignored')
                    warned = True
        except (ConnectionError, OSError):
            return

    async def _shutdown(self) -> None:
        """Stop accepting, then close every client."""
        self._server.close()
        for client in list(self._clients):
            client.writer.close()
        await self._server.wait_closed()
