"""Who may reach the graph's servers, and how much a client that talks nonsense may send.

Loopback is always allowed; any other address only if the user's allow-list holds it
(README, docs/privacy.md). The Unity server, its WebSocket and the operator page share
this one policy, and the same pacing of input that is not a request.
"""

import asyncio
import contextlib
import ipaddress
import re
from typing import Iterable

#: Input that is not a request: a client may send this many bytes of it at full speed;
#: beyond, its reading is paced to GARBAGE_RATE bytes/s. The kernel's flow control then
#: holds a flooding client back, and the others' frames never wait behind its input.
GARBAGE_FREE = 4096
GARBAGE_RATE = 16 * 1024
#: Web pages served from this machine may always open the WebSocket.
LOCAL_PAGES = re.compile(r'https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?')

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


def allowed(address: str, allow: Iterable[Network]) -> bool:
    """Loopback always; any other address only if the allow-list holds it."""
    try:
        ip = ipaddress.ip_address(address.split('%')[0])
    except ValueError:
        return False
    ip = getattr(ip, 'ipv4_mapped', None) or ip
    return ip.is_loopback or any(ip in net for net in allow)


def is_loopback(host: str) -> bool:
    """True when listening on `host` keeps the server to this machine."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == 'localhost'


class InputPace:
    """Reads a client's ignored input slowly: a flood costs only the flooder.

    The wait ends early when `stopping` is set, so a stop never waits for a flooder.
    """

    def __init__(self, stopping: asyncio.Event) -> None:
        self.ignored = 0
        self._stopping = stopping

    async def ignore(self, size: int) -> None:
        """Count `size` ignored bytes; past GARBAGE_FREE, wait as they take at GARBAGE_RATE."""
        self.ignored += size
        if self.ignored > GARBAGE_FREE and not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), size / GARBAGE_RATE)
