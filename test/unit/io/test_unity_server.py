"""The Unity server on its own: real TCP and WebSocket clients on loopback, no ROS.

What each kind of client is sent (hello and the stream, the seed's documents, one frame per
request, status lines), the WebSocket's origin check, the rate cap, and a stop that no
client can hold up.
"""

import json
import socket
import time

import pytest
from made_faces import made_face
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from emotion_perception.io.outputs.unity_server import UnityServer
from emotion_perception.io.outputs.unity_wire import HELLO, Frame, message_type
from emotion_perception.vision.results import FrameResult

#: Long enough for a loaded CI machine; every wait below ends as soon as its data is there.
TIMEOUT = 10.0


@pytest.fixture
def server():
    started = UnityServer('127.0.0.1', 0, websocket_port=0, log=lambda line: None)
    started.start()
    yield started
    started.stop()


def _frame(number: int) -> FrameResult:
    return FrameResult(number, number / 30, 640, 480, [made_face(1, 3, 100)])


def _stream_client(server: UnityServer, says: bytes = b'{"type":"hello"}\n'):
    """A TCP client that said `says`, once the server has greeted it (so it is registered)."""
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT)
    sock.sendall(says)
    reader = sock.makefile('rb')
    assert reader.readline() == HELLO
    return sock, reader


def test_a_stream_client_gets_hello_then_one_schema_line_per_frame(server):
    sock, reader = _stream_client(server)
    with sock:
        for number in (1, 2):
            assert server.publish(_frame(number))
            line = json.loads(reader.readline())
            assert line['type'] == 'faces' and line['frame'] == number
            assert line['faces'][0]['expression'] == 'Happy'
        server.publish_status('paused')
        assert json.loads(reader.readline()) == {**json.loads(
            Frame.of_status('paused').line), 'type': 'status'}
    deadline = time.monotonic() + TIMEOUT
    while server.stats.sent < 3 and time.monotonic() < deadline:
        time.sleep(0.001)  # counted just after the send: the client may read it first
    assert server.stats.sent == 3


def test_a_client_that_says_nothing_gets_the_seeds_documents(server):
    with socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT) as sock:
        deadline = time.monotonic() + TIMEOUT
        while server.stats.legacy_clients == 0 and time.monotonic() < deadline:
            server.publish(_frame(0))  # nothing reaches a client still saying hello
            sock.settimeout(0.05)
            try:
                data = sock.recv(4096)
                break
            except TimeoutError:
                continue
        else:
            sock.settimeout(TIMEOUT)
            server.publish(_frame(5))
            data = sock.recv(4096)
    document = json.loads(data)
    assert not data.endswith(b'\n') and 'type' not in document
    assert document['faceCount'] == 1 and document['faces'][0]['expression'] == 'Happy'


def test_a_pulling_client_gets_the_newest_frame_per_request_only(server):
    sock, reader = _stream_client(server, b'{"type":"next"}\n')
    with sock:
        server.publish(_frame(1))  # its first request waited for this one
        assert json.loads(reader.readline())['frame'] == 1
        deadline = time.monotonic() + TIMEOUT
        while server.stats.sent < 1 and time.monotonic() < deadline:
            time.sleep(0.001)  # until the server has marked that request answered
        for number in (2, 3, 4):
            server.publish(_frame(number))
        sock.sendall(b'{"type":"next"}\n')
        assert json.loads(reader.readline())['frame'] == 4
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            reader.readline()  # nothing more until it asks again


def test_a_websocket_client_gets_the_stream_and_other_web_pages_are_refused(server):
    url = f'ws://127.0.0.1:{server.websocket_port}'
    with connect(url, open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT) == HELLO.decode().rstrip('\n')
        server.publish(_frame(3))
        assert json.loads(ws.recv(timeout=TIMEOUT))['frame'] == 3
    with pytest.raises(InvalidStatus, match='403'):
        connect(url, origin='https://elsewhere.example', open_timeout=TIMEOUT)
    assert server.stats.refused == 1
    with connect(url, origin='http://localhost:8080', open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT).startswith('{"type":"hello"')


def test_the_rate_cap_skips_frames_and_counts_them():
    capped = UnityServer('127.0.0.1', 0, max_rate=1.0, log=lambda line: None)
    capped.start()
    try:
        sent = [capped.publish(_frame(n)) for n in range(5)]
    finally:
        capped.stop()
    assert sent == [True, False, False, False, False] and capped.stats.rate_limited == 4


def test_a_client_that_never_reads_cannot_hold_up_the_stop(server):
    sock, _ = _stream_client(server)
    for number in range(200):
        server.publish(_frame(number))
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3.0
    sock.close()


def test_requests_are_told_from_garbage():
    assert message_type(b'{"type":"next"}\n') == 'next'
    assert message_type('{"type": "hello"}') == 'hello'
    assert message_type(b'\xff\xfe') is None and message_type(b'[1, 2]') is None


@pytest.mark.parametrize('settings, reason', [
    ({'queue_size': 0}, 'queue_size'), ({'max_rate': -1.0}, 'max_rate'),
    ({'compat': 'other'}, 'compat must be one of auto, stream, legacy')])
def test_settings_it_cannot_use_are_refused_before_binding(settings, reason):
    with pytest.raises(ValueError, match=reason):
        UnityServer('127.0.0.1', 0, **settings)


def test_a_waiting_pulling_client_gets_one_frame_however_many_arrive_at_once(server):
    with socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b'{"type":"next"}\n')
        buffer = b''

        def lines(count: int) -> list[bytes]:
            nonlocal buffer
            while buffer.count(b'\n') < count:
                buffer += sock.recv(1 << 16)
            *got, buffer = buffer.split(b'\n', count)
            return got

        server.publish(_frame(1))
        hello, first = lines(2)
        assert hello + b'\n' == HELLO and json.loads(first)['frame'] == 1
        deadline = time.monotonic() + TIMEOUT
        while server.stats.sent < 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        sock.sendall(b'{"type":"next"}\n')  # nothing newer yet: it waits
        time.sleep(0.05)  # the request has reached the server
        for number in (2, 3, 4):  # all fanned out before its writer runs again
            server.publish(_frame(number))
        assert json.loads(lines(1)[0])['frame'] == 2
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            buffer += sock.recv(1 << 16)  # no second frame waits to be read a request late
        assert buffer == b''
        sock.settimeout(TIMEOUT)
        sock.sendall(b'{"type":"next"}\n')
        assert json.loads(lines(1)[0])['frame'] == 4  # the newest, when it asks
