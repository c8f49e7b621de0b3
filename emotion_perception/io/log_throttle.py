"""Logs that stay small over weeks: repeated events are said a few times, then counted.

An installation runs unattended for weeks; a Unity client that reconnects every 2 s, or
a camera that stays unplugged, must not write a line each time. The first few events of a
kind are logged as they happen; after that one summary line counts them, at intervals
that double up to an hour while the events keep coming (about 30 lines a day at most).
"""

import time
from dataclasses import dataclass
from typing import Callable

FIRST_PERIOD = 60.0
LONGEST_PERIOD = 3600.0


@dataclass
class _Kind:
    """What has been said of one kind of event."""

    said: int = 0
    unsaid: int = 0
    period: float = FIRST_PERIOD
    since: float = 0.0
    last: float = 0.0


class LogThrottle:
    """`throttle(kind, message)` logs the message, or counts it for a later summary."""

    def __init__(self, log: Callable[[str], None], burst: int = 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log, self._burst, self._clock = log, burst, clock
        self._kinds: dict[str, _Kind] = {}

    def __call__(self, kind: str, message: str) -> None:
        """Log `message` now if few of its kind were; else count it and summarise later."""
        now = self._clock()
        state = self._kinds.setdefault(kind, _Kind(since=now, last=now))
        if now - state.since >= state.period:
            if state.unsaid:
                self._log(f'{state.unsaid} more {kind} in the last '
                          f'{_duration(now - state.since)} (repeats are summarised)')
                state.period = min(state.period * 2, LONGEST_PERIOD)
            if not state.unsaid or now - state.last >= FIRST_PERIOD:  # quiet: start afresh
                state.said, state.period = 0, FIRST_PERIOD
            state.unsaid, state.since = 0, now
        state.last = now
        if state.said < self._burst:
            state.said += 1
            self._log(message)
        else:
            state.unsaid += 1


def _duration(seconds: float) -> str:
    """'90 s', '12 min' or '2.0 h'."""
    if seconds < 120:
        return f'{seconds:.0f} s'
    if seconds < 7200:
        return f'{seconds / 60:.0f} min'
    return f'{seconds / 3600:.1f} h'
