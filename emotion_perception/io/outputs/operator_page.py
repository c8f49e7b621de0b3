"""The operator page: what the exhibit sees and how the graph does, for staff. No ROS here.

One self-contained page (no CDN: it works offline) for people without ROS tools.

The page and its WebSocket (`/live`) share one port: websockets answers plain GETs through
`process_request`. The server runs on a thread and event loop of its own, so neither an
open page nor a client flooding this port delays the Unity clients' frames. New
connections are accepted at a paced rate: past it they wait in the kernel's small listen
queue, and the kernel holds a flood of connections back before any Python runs for it.

What a page receives on `/live` (text frames are the project's JSON schema, io.schema):
`hello`, then `faces` at most FACES_RATE a second, `status` when the graph opens or
closes, `health` once a second, and (unless `preview` is off) the camera picture with the
faces drawn, as binary JPEG frames at most PREVIEW_RATE a second. The picture is made only
while a page is open.

Privacy, as the Unity ports: this machine always, other hosts only through the allow-list.
The Host header must be an address or `localhost`, so a web page that rebinds a name of
its own to 127.0.0.1 is refused, and the WebSocket takes only the page's own origin (or
`origins`): another page open in the same browser cannot read the stream.

Why one module: the page's routes, its refusals (origin, host, allow-list) and its
broadcast share one server and one connection budget; the page is operator_page.html.
"""

import asyncio
import collections
import ipaddress
import socket
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

import cv2
import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from emotion_perception.io.log_throttle import LogThrottle
from emotion_perception.io.outputs.access import InputPace, Network, allowed
from emotion_perception.io.outputs.schema import (
    dumps_line,
    frame_to_json,
    health_json,
    hello_json,
    status_json,
)
from emotion_perception.io.outputs.server_thread import ServerThread
from emotion_perception.vision.annotate import annotate
from emotion_perception.vision.results import FrameResult

PAGE = Path(__file__).with_name('operator_page.html')
PREVIEW_RATE = 5.0
FACES_RATE = 10.0
HEALTH_PERIOD = 1.0
PREVIEW_WIDTH = 480
JPEG_QUALITY = 70
#: Images kept while waiting for their faces (perception is a frame or two behind).
IMAGES_KEPT = 8
#: A page's messages are small; anything bigger is not from the page.
MAX_MESSAGE = 1024
#: New connections a second (and a burst) the page's port accepts; past them connections
#: wait in the listen queue (LISTEN_BACKLOG long), and the kernel turns away the rest until
#: there is room: a page needs two (the page and its stream) and a reconnect a second.
CONNECTIONS_PER_SECOND = 20.0
CONNECTION_BURST = 40.0
LISTEN_BACKLOG = 8
#: Messages queued per page (websockets' max_queue); a page sends nothing.
PAGE_QUEUE = 4
#: Content-Security-Policy: nothing but this page's own script, style and WebSocket.
POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "img-src blob:; connect-src 'self'; frame-ancestors 'none'")

Decode = Callable[[object], np.ndarray]


class OperatorPage:
    """`http://host:port/` and its live WebSocket; `offer_*` hand data over, never block."""

    def __init__(self, host: str, port: int, health: Callable[[], dict],
                 allow: Iterable[Network] = (), origins: Iterable[str] = (),
                 preview: bool = True, log: Callable[[str], None] = print) -> None:
        self.host, self.port, self.preview = host, port, preview
        self._health, self._allow, self._origins = health, tuple(allow), frozenset(origins)
        self._say = LogThrottle(log)
        self._html = PAGE.read_bytes()
        self._pages: set[ServerConnection] = set()
        self._sending: dict[ServerConnection, asyncio.Task] = {}
        self._images: collections.deque = collections.deque(maxlen=IMAGES_KEPT)
        self._faces: Optional[FrameResult] = None
        self._picture: Optional[tuple[object, Decode, FrameResult]] = None
        self._status: Optional[str] = None
        self.previews = self.refused = 0
        self._thread = ServerThread('operator-page')
        self._server: Optional[Server] = None
        self._ticker = self._acceptor = None
        self._stopping = asyncio.Event()
        self._tokens, self._filled = CONNECTION_BURST, time.monotonic()
        self.accepted = self.held_back = 0

    @property
    def pages(self) -> int:
        """Pages open now."""
        return len(self._pages)

    @property
    def wants_images(self) -> bool:
        """True while a page is open that shows the picture: only then feed `offer_image`."""
        return self.preview and bool(self._pages)

    def start(self) -> None:
        """Bind and start serving; OSError (e.g. port in use) is raised here."""
        family = socket.AF_INET6 if ':' in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self.port), family=family,
                                        backlog=LISTEN_BACKLOG)
        listener.setblocking(False)
        try:
            self._server = self._thread.run(self._listen(listener))
        except BaseException:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._ticker = self._thread.loop.create_task(self._tick())
        self._acceptor = self._thread.loop.create_task(self._accept(listener))
        self._thread.start()

    async def _listen(self, listener: socket.socket) -> Server:
        """The websockets server on `listener`, serving what `_accept` hands it.

        It is started (a stopped one answers 503), then its event loop stops watching the
        listener: only `_accept` takes connections from it.
        """
        server = await serve(self._serve, sock=listener, compression=None,
                             max_size=MAX_MESSAGE, max_queue=PAGE_QUEUE,
                             process_request=self._route)
        asyncio.get_running_loop().remove_reader(listener.fileno())
        return server

    async def _accept(self, listener: socket.socket) -> None:
        """Accept one connection per token and hand it to websockets; wait when none is left."""
        loop = asyncio.get_running_loop()
        while True:
            await self._token()
            try:
                connection, _ = await loop.sock_accept(listener)
            except OSError as exc:  # out of file descriptors, say: wait, then go on
                self._say('operator page accept', f'operator page: cannot accept a '
                          f'connection: {exc.strerror or exc}')
                await asyncio.sleep(0.1)
                continue
            self.accepted += 1
            try:
                await loop.connect_accepted_socket(self._connection, connection)
            except OSError:  # gone before it was served
                connection.close()

    async def _token(self) -> None:
        """Take a token of the bucket, waiting for one to refill (said, summarised)."""
        now = time.monotonic()
        self._tokens = min(CONNECTION_BURST,
                           self._tokens + (now - self._filled) * CONNECTIONS_PER_SECOND)
        self._filled = now
        if self._tokens < 1.0:
            self.held_back += 1
            self._say('held back operator page connections', f'operator page: more than '
                      f'{CONNECTIONS_PER_SECOND:g} new connections a second; the rest wait')
            await asyncio.sleep((1.0 - self._tokens) / CONNECTIONS_PER_SECOND)
            self._tokens, self._filled = 1.0, time.monotonic()
        self._tokens -= 1.0

    def _connection(self) -> ServerConnection:
        """A connection of the websockets server, as its own protocol factory makes one."""
        return ServerConnection(ServerProtocol(max_size=MAX_MESSAGE), self._server,
                                max_queue=PAGE_QUEUE)

    def stop(self) -> None:
        """Close every page and the listening socket, then end the thread."""
        self._thread.stop(self._shutdown)

    def offer_image(self, stamp: float, image: object, decode: Decode) -> None:
        """A camera image (undecoded: only the pictures sent are decoded), newest kept."""
        if self.wants_images:
            self._images.append((stamp, image, decode))

    def offer_faces(self, result: FrameResult) -> None:
        """A frame's faces; with the image of the same stamp it becomes the next picture."""
        self._faces = result
        for stamp, image, decode in list(self._images):
            if abs(stamp - result.stamp) < 1e-6:
                self._picture = (image, decode, result)
                break

    def offer_status(self, state: str) -> None:
        """`open` or `paused`, sent at once."""
        self._status = state

    def _route(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        """Plain GETs get the page (or 404); only `/live` may become a WebSocket."""
        address = connection.remote_address[0] if connection.remote_address else ''
        host = request.headers.get('Host', '')
        if not allowed(address, self._allow):
            return self._refuse(f'refused operator page client {address}: not in the allow '
                                f'list (parameter allow)')
        if not _is_address(host):
            return self._refuse(f'refused an operator page request for host {host!r}: only '
                                f'addresses and localhost are served (DNS rebinding)')
        path = request.path.split('?', 1)[0]
        if path == '/live':
            origin = request.headers.get('Origin')
            if origin is not None and origin != f'http://{host}' and origin not in self._origins:
                return self._refuse(f'refused the operator page stream to the web page '
                                    f'{origin}: not this page (websocket_origins)')
            return None
        if path in ('/', '/index.html'):
            return _response(200, 'OK', 'text/html; charset=utf-8', self._html)
        return _response(404, 'Not Found', 'text/plain', b'not found\n')

    def _refuse(self, line: str) -> Response:
        self.refused += 1
        self._say('refused operator page requests', line)
        return _response(403, 'Forbidden', 'text/plain', b'forbidden\n')

    async def _serve(self, page: ServerConnection) -> None:
        """One open page: hello, then whatever `_tick` sends; its input is ignored."""
        self._pages.add(page)
        try:
            await page.send(dumps_line(hello_json()).decode())
            if self._status:
                await page.send(dumps_line(status_json(self._status)).decode())
            pace = InputPace(self._stopping)
            async for message in page:  # a page sends nothing: read it slower and slower
                await pace.ignore(len(message))
        except ConnectionClosed:
            pass
        finally:
            self._pages.discard(page)
            self._sending.pop(page, None)

    async def _tick(self) -> None:
        """Faces, pictures, status and health to every page, each at its own rate."""
        last_faces = last_status = None
        next_picture = next_health = 0.0
        while True:
            await asyncio.sleep(1.0 / FACES_RATE)
            if not self._pages:
                self._picture, last_faces = None, None
                continue
            now, batch = time.monotonic(), []
            if self._status != last_status:
                last_status = self._status
                batch.append(dumps_line(status_json(self._status)).decode())
            if self._faces is not None and self._faces is not last_faces:
                last_faces = self._faces
                batch.append(dumps_line(frame_to_json(last_faces)).decode())
            if now >= next_health:
                next_health = now + HEALTH_PERIOD
                batch.append(dumps_line(health_json(
                    state=self._status or 'open', pages=self.pages, previews=self.previews,
                    **self._health())).decode())
            if self._picture is not None and now >= next_picture:
                next_picture = now + 1.0 / PREVIEW_RATE
                image, decode, result = self._picture
                self._picture = None
                batch.append(_jpeg(decode(image), result))
                self.previews += 1
            if batch:
                self._broadcast(batch)

    def _broadcast(self, batch: list[str | bytes]) -> None:
        """Send to each page that has taken its last batch; a slow page skips this one.

        Each health message repeats the state, so a skipped status is made good.
        """
        for page in list(self._pages):
            sending = self._sending.get(page)
            if sending is None or sending.done():
                self._sending[page] = asyncio.ensure_future(_send(page, batch))

    async def _shutdown(self) -> None:
        """Stop accepting and ticking, drop every page at once."""
        self._stopping.set()
        if self._server is None:
            return
        self._acceptor.cancel()
        self._server.close()
        self._ticker.cancel()
        for page in list(self._pages):
            page.transport.abort()
        await self._server.wait_closed()


async def _send(page: ServerConnection, batch: list[str | bytes]) -> None:
    try:
        for message in batch:
            await page.send(message)
    except ConnectionClosed:
        pass


def _jpeg(image: np.ndarray, result: FrameResult) -> bytes:
    """The picture with its faces drawn, at most PREVIEW_WIDTH wide, as JPEG."""
    drawn = annotate(image, result)
    if drawn.shape[1] > PREVIEW_WIDTH:
        height = round(drawn.shape[0] * PREVIEW_WIDTH / drawn.shape[1])
        drawn = cv2.resize(drawn, (PREVIEW_WIDTH, height), interpolation=cv2.INTER_AREA)
    return cv2.imencode('.jpg', drawn, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()


def _is_address(host: str) -> bool:
    """True for `localhost`, an IPv4 or a bracketed IPv6 address, with or without a port."""
    name = host[1:].split(']', 1)[0] if host.startswith('[') else host.split(':', 1)[0]
    if name == 'localhost':
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _response(status: int, reason: str, content_type: str, body: bytes) -> Response:
    return Response(status, reason, Headers([
        ('Content-Type', content_type), ('Content-Length', str(len(body))),
        ('Cache-Control', 'no-store'), ('X-Content-Type-Options', 'nosniff'),
        ('Content-Security-Policy', POLICY), ('Connection', 'close')]), body)
