"""An asyncio event loop on a thread of its own, for the bridge's servers. No ROS here.

Servers are bound on the loop before its thread starts, so a bind error (port in use)
is raised in the caller, where the node can say it in one line.
"""

import asyncio
import threading
from typing import Awaitable, Callable, Coroutine, TypeVar

T = TypeVar('T')


class ServerThread:
    """`run` binds (before `start`); `start` serves; `stop` runs a shutdown, then ends."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name=name)

    def run(self, coroutine: Coroutine[None, None, T]) -> T:
        """Run `coroutine` to its end on the loop; only before `start`."""
        return self.loop.run_until_complete(coroutine)

    def start(self) -> None:
        """Serve on the thread from now on."""
        self._thread.start()

    def call(self, callback: Callable, *args) -> None:
        """Call `callback(*args)` on the loop, from any thread, without waiting."""
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, shutdown: Callable[[], Awaitable[None]]) -> None:
        """Await `shutdown()` on the loop (5 s at most), then stop the thread and the loop."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        self.loop.close()
