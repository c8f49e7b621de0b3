"""Opening hours: when an installation runs, from a line like `Mon-Fri 09:00-18:00`.

Rules separated by `;`, each days then a time range in local time: `Mon-Sun 09:00-18:00`,
`Mon-Fri 09:00-18:00; Sat,Sun 10:00-16:00`, `Fri 20:00-02:00` (past midnight: into the
next day), `Mon-Sun 00:00-24:00`. Empty means always open. Open at a moment when any rule
covers it.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Optional

DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
_RULE = re.compile(r'^\s*([A-Za-z,\- ]+?)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$')


@dataclass(frozen=True)
class _Rule:
    """Days of the week (0 = Monday) and a time range that may end past midnight."""

    days: frozenset[int]
    start: time
    end: time

    def spans(self, day: datetime) -> list[tuple[datetime, datetime]]:
        """The open spans this rule gives starting on `day`'s date, if it applies then."""
        if day.weekday() not in self.days:
            return []
        start = datetime.combine(day.date(), self.start, day.tzinfo)
        end = datetime.combine(day.date(), self.end, day.tzinfo)
        return [(start, end if end > start else end + timedelta(days=1))]


def _days(text: str) -> frozenset[int]:
    """'Mon-Fri', 'Sat,Sun', 'Mon-Sun' -> weekday numbers; ValueError when unreadable."""
    days: set[int] = set()
    for part in text.lower().replace(' ', '').split(','):
        first, _, last = part.partition('-')
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            raise ValueError(f'unknown day in {text!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)')
        a, b = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


class OpeningHours:
    """Whether the installation is open at a moment, and when that next changes."""

    def __init__(self, text: str = '') -> None:
        self.text = text.strip()
        self._rules = [self._parse(rule) for rule in self.text.split(';') if rule.strip()]

    @staticmethod
    def _parse(rule: str) -> _Rule:
        """One `days hh:mm-hh:mm` rule; ValueError saying what is wrong."""
        match = _RULE.match(rule)
        if not match:
            raise ValueError(f'schedule rule {rule.strip()!r} must be days and hours, '
                             f'e.g. "Mon-Fri 09:00-18:00; Sat,Sun 10:00-16:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups()[1:])
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f'schedule rule {rule.strip()!r}: hours are 00:00-24:00')
        end = time(0, 0) if h2 == 24 else time(h2, m2)
        return _Rule(_days(match.group(1)), time(h1, m1), end)

    @property
    def always(self) -> bool:
        """No rules: always open."""
        return not self._rules

    def _spans(self, now: datetime) -> list[tuple[datetime, datetime]]:
        """Open spans starting from yesterday to a week ahead (enough to find any change)."""
        spans = []
        for offset in range(-1, 8):
            day = now + timedelta(days=offset)
            for rule in self._rules:
                spans += rule.spans(day)
        return sorted(spans)

    def is_open(self, now: datetime) -> bool:
        """Open at `now` (always, without rules)."""
        return self.always or any(a <= now < b for a, b in self._spans(now))

    def next_change(self, now: datetime) -> Optional[datetime]:
        """When open turns closed or closed turns open next (None: never, no rules)."""
        if self.always:
            return None
        edges = sorted({t for span in self._spans(now) for t in span if t > now})
        state = self.is_open(now)
        return next((t for t in edges if self.is_open(t) != state), None)
