"""The operator page: served over real HTTP and WebSocket, and shown in a real Chromium.

The server tests drive io.operator_page with plain HTTP and websockets clients; the
browser tests start `emotion-perception run` on the demo source and read the page as a
person would, through headless Chromium (Debian's `chromium`) driven over its DevTools
protocol with the websockets client the project already has.
"""

import base64
import contextlib
import http.client
import http.server
import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from emotion_perception.io.outputs.operator_page import (
    CONNECTION_BURST,
    CONNECTIONS_PER_SECOND,
    LISTEN_BACKLOG,
    PAGE,
    OperatorPage,
)
from emotion_perception.vision.results import Box, Face, FrameResult

from conftest import BIN, optional_toolchain

CHROMIUM = shutil.which('chromium')
EXPRESSION_SCORES = (0.05, 0.0, 0.05, 0.8, 0.05, 0.0, 0.05)


def _health() -> dict:
    return {'rate': 30.0, 'clients': {'tcp': 1}}


@pytest.fixture
def page_server():
    made = []

    def make(**kwargs) -> OperatorPage:
        page = OperatorPage('127.0.0.1', 0, _health, **kwargs)
        page.start()
        made.append(page)
        return page
    yield make
    for page in made:
        page.stop()


def _get(port: int, path: str = '/', host: str = '') -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    connection.request('GET', path, headers={'Host': host} if host else {})
    return connection.getresponse()


def _frame(stamp: float) -> FrameResult:
    face = Face(id=3, box=Box(100, 80, 120, 120), scores=EXPRESSION_SCORES, valence=0.5,
                arousal=0.3)
    return FrameResult(int(stamp * 30), stamp, 640, 480, [face])


def test_the_page_is_one_self_contained_file(page_server):
    response = _get(page_server().port)
    body = response.read().decode()
    assert response.status == 200 and response.getheader('Content-Type').startswith('text/html')
    assert "connect-src 'self'" in response.getheader('Content-Security-Policy')
    # Nothing fetched from elsewhere: exhibits are often offline.
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', body)
    assert body == PAGE.read_text()
    assert _get(page_server().port, '/nothing-here').status == 404


def test_a_name_that_is_not_an_address_is_refused_against_dns_rebinding(page_server):
    page = page_server()
    assert _get(page.port, host=f'exhibit.attacker.example:{page.port}').status == 403
    assert _get(page.port, host=f'localhost:{page.port}').status == 200
    assert page.refused == 1


def test_another_web_page_cannot_open_the_stream(page_server):
    page = page_server()
    with pytest.raises(InvalidStatus) as refused:
        connect(f'ws://127.0.0.1:{page.port}/live', origin='http://attacker.example')
    assert refused.value.response.status_code == 403
    with connect(f'ws://127.0.0.1:{page.port}/live',
                 origin=f'http://127.0.0.1:{page.port}') as ws:
        assert json.loads(ws.recv(timeout=5))['type'] == 'hello'


def _flood(port: int, stop: threading.Event, attempts: list[int]) -> None:
    """Connection after connection of bytes that are not HTTP, as fast as they go."""
    while not stop.is_set():
        attempts[0] += 1
        with contextlib.suppress(OSError), \
                socket.create_connection(('127.0.0.1', port), timeout=0.5) as flood:
            flood.sendall(b'\x16\x03\x01 not http')


def test_a_connection_flood_waits_in_the_kernel_and_the_page_still_opens(page_server):
    page = page_server()
    stop, attempts = threading.Event(), [0]
    flooders = [threading.Thread(target=_flood, args=(page.port, stop, attempts))
                for _ in range(4)]
    started = time.monotonic()
    for flooder in flooders:
        flooder.start()
    time.sleep(2.0)
    stop.set()
    for flooder in flooders:
        flooder.join(timeout=5)
    took = time.monotonic() - started
    # Python saw only the paced connections; the rest waited in the kernel or were turned
    # away there.
    paced = CONNECTION_BURST + CONNECTIONS_PER_SECOND * took + LISTEN_BACKLOG + 5
    assert page.held_back > 0 and page.accepted <= paced, (page.accepted, paced, attempts)
    assert attempts[0] > page.accepted, (attempts, page.accepted)
    assert _get(page.port).status == 200


def _collect(ws, seconds: float) -> tuple[list[dict], list[bytes]]:
    texts, pictures, deadline = [], [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if isinstance(message, bytes):
            pictures.append(message)
        else:
            texts.append(json.loads(message))
    return texts, pictures


def _feed(page: OperatorPage, image: np.ndarray, seconds: float) -> None:
    """30 frames a second: the image first, its faces a frame later, as the graph does."""
    started = time.monotonic()
    frame = 0
    while time.monotonic() - started < seconds:
        stamp = 1000.0 + frame / 30
        page.offer_image(stamp, image, lambda data: data)
        if frame:
            page.offer_faces(_frame(stamp - 1 / 30))
        frame += 1
        time.sleep(1 / 30)


def test_a_page_gets_faces_health_and_at_most_five_pictures_a_second(page_server, astronaut):
    page = page_server()
    assert not page.wants_images  # no page open: no picture is made
    image = cv2.resize(astronaut, (640, 480))
    with connect(f'ws://127.0.0.1:{page.port}/live') as ws:
        time.sleep(0.2)
        assert page.wants_images
        feeder = threading.Thread(target=_feed, args=(page, image, 3.2))
        feeder.start()
        texts, pictures = _collect(ws, 3.0)
        feeder.join()
    kinds = [t['type'] for t in texts]
    assert kinds[0] == 'hello' and 'health' in kinds
    faces = [t for t in texts if t['type'] == 'faces']
    assert 15 <= len(faces) <= 31 and faces[-1]['faces'][0]['expression'] == 'Happy'
    assert 10 <= len(pictures) <= 16  # 5 a second
    picture = cv2.imdecode(np.frombuffer(pictures[-1], np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (360, 480, 3)
    # The face's box is drawn on the picture (green), scaled with it.
    assert picture[60, 75:165, 1].mean() > 180
    health = next(t for t in texts if t['type'] == 'health')
    assert health['rate'] == 30.0 and health['pages'] == 1


def test_preview_off_sends_no_picture(page_server, astronaut):
    page = page_server(preview=False)
    with connect(f'ws://127.0.0.1:{page.port}/live') as ws:
        time.sleep(0.2)
        assert not page.wants_images
        feeder = threading.Thread(target=_feed, args=(page, astronaut, 1.2))
        feeder.start()
        texts, pictures = _collect(ws, 1.0)
        feeder.join()
    assert not pictures and any(t['type'] == 'faces' for t in texts)


def test_a_page_that_never_reads_does_not_hold_up_the_others(page_server, astronaut):
    page = page_server()
    with connect(f'ws://127.0.0.1:{page.port}/live'), \
            connect(f'ws://127.0.0.1:{page.port}/live') as ws:  # the first never reads
        feeder = threading.Thread(target=_feed, args=(page, astronaut, 3.2))
        feeder.start()
        texts, pictures = _collect(ws, 3.0)
        feeder.join()
    assert len(pictures) >= 10 and sum(t['type'] == 'faces' for t in texts) >= 15


def test_the_page_counts_the_frames_perception_dropped_not_client_queue_drops(ros_context):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from rclpy.node import Node

    from emotion_perception.ros.page_feed import PageFeed

    node = Node('page_feed_test')
    feed = PageFeed(node, lambda: {})
    feed._on_diagnostics(DiagnosticArray(status=[
        DiagnosticStatus(name=name, message='ok', values=[KeyValue(key='dropped', value=n)])
        for name, n in (('perception: expression perception', '5'),
                        ('unity_bridge: Unity clients', '7'))]))
    health = feed.health()
    node.destroy_node()
    assert health['dropped'] == 5 and len(health['diagnostics']) == 2


# The browser tests: the page as staff see it.

class Browser:
    """Headless Chromium, one tab, driven over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen(
            [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--remote-debugging-port=0',
             f'--user-data-dir={profile}', '--window-size=1200,900', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = profile / 'DevToolsActivePort'
        deadline = time.monotonic() + 30
        while not (active.is_file() and len(active.read_text().split()) == 2):
            assert time.monotonic() < deadline, 'chromium did not start'
            time.sleep(0.1)
        port, path = active.read_text().split()
        self._stack = contextlib.ExitStack()
        self._ws = self._stack.enter_context(connect(f'ws://127.0.0.1:{port}{path}',
                                                     max_size=2**26))
        self._id = 0
        target = self._call('Target.createTarget', url='about:blank')['targetId']
        self._session = self._call('Target.attachToTarget', targetId=target,
                                   flatten=True)['sessionId']

    def _call(self, method: str, session: str = '', **params) -> dict:
        self._id += 1
        message = {'id': self._id, 'method': method, 'params': params}
        if session:
            message['sessionId'] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv(timeout=30))
            if reply.get('id') == self._id:
                assert 'error' not in reply, reply
                return reply['result']

    def open(self, url: str) -> None:
        """Load `url` in the tab."""
        self._call('Page.navigate', self._session, url=url)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the tab."""
        result = self._call('Runtime.evaluate', self._session, expression=expression,
                            returnByValue=True, awaitPromise=True)
        return result['result'].get('value')

    def screenshot(self, path: Path) -> None:
        """The tab as a PNG file."""
        data = self._call('Page.captureScreenshot', self._session, format='png')['data']
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """End the browser."""
        self._stack.close()
        self.process.terminate()
        self.process.wait(timeout=10)


needs_chromium = optional_toolchain('chromium', CHROMIUM is not None,
                                    'apt-get install chromium')


@pytest.fixture
def browser(tmp_path):
    browser = Browser(tmp_path / 'profile')
    yield browser
    browser.close()


@pytest.fixture
def graph(tmp_path):
    """`emotion-perception run` on the demo source; yields the page's URL."""
    log = tmp_path / 'run.log'
    proc = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                             '--unity-port', '0', '--websocket-port', '-1', '--page-port', '0'],
                            stdout=open(log, 'w'), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not (url := re.search(r'operator page on (\S+)', log.read_text())):
        assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
        time.sleep(0.2)
    yield url.group(1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert 'Traceback' not in log.read_text()


@needs_chromium
def test_the_page_shows_faces_a_moving_frame_counter_and_the_picture(graph, browser,
                                                                     tmp_path):
    started = time.monotonic()
    browser.open(graph)
    seen = []
    frames: set = set()
    while time.monotonic() - started < 20:
        now = browser.evaluate(  # None while the page is still loading
            "document.getElementById('frame') &&"
            "({state: document.getElementById('state').textContent,"
            " frame: document.getElementById('frame').textContent,"
            " faces: Number(document.getElementById('face-count').textContent),"
            " picture: document.getElementById('preview').naturalWidth,"
            " nodes: document.getElementById('diagnostics').rows.length})")
        if not now:
            time.sleep(0.2)
            continue
        seen.append(now)
        frames = {s['frame'] for s in seen if s['faces'] >= 1}
        if len(frames) >= 3 and seen[-1]['picture'] and seen[-1]['nodes'] >= 3:
            break
        time.sleep(0.5)
    first_face = time.monotonic() - started
    browser.screenshot(tmp_path / 'operator_page.png')
    assert (tmp_path / 'operator_page.png').stat().st_size > 10_000
    assert seen[-1]['state'] == 'open'
    assert len(frames) >= 3, seen[-3:]  # at least one face, and the counter moves
    assert seen[-1]['picture'] == 480 and seen[-1]['nodes'] >= 3, seen[-1]
    print(f'operator page: faces and a moving counter {first_face:.1f} s after opening')


class _OtherSite(http.server.BaseHTTPRequestHandler):
    """A page of another origin that tries to read the operator page and its stream."""

    target = ''

    def do_GET(self) -> None:  # noqa: N802 (the handler's API)
        body = f"""<script>
          window.result = {{}};
          fetch('{self.target}').then(r => r.text()).then(
            t => window.result.fetched = t.length, e => window.result.fetched = 'refused');
          const ws = new WebSocket('{self.target.replace("http", "ws")}live');
          ws.onopen = () => window.result.stream = 'open';
          ws.onmessage = (m) => window.result.stream = 'read';
          ws.onerror = () => window.result.stream = window.result.stream || 'refused';
        </script>""".encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/html')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@needs_chromium
def test_a_page_from_another_origin_cannot_read_it(graph, browser):
    _OtherSite.target = graph
    site = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _OtherSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        browser.open(f'http://localhost:{site.server_port}/')
        deadline, result = time.monotonic() + 15, {}
        while time.monotonic() < deadline:
            result = browser.evaluate('window.result') or {}
            if 'fetched' in result and 'stream' in result:
                break
            time.sleep(0.3)
    finally:
        site.shutdown()
    assert result == {'fetched': 'refused', 'stream': 'refused'}, result
