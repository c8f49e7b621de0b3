"""Tunable settings with their allowed range, declared once beside each field.

A config dataclass declares a field as `setting(default, low, high)`; `check_ranges` in its
`__post_init__` refuses a value outside, and `setting_range` gives the same bounds to the
ROS parameter table (io.parameters), so a range is written in one place only.
"""

from dataclasses import MISSING, field, fields
from typing import Any, Optional

Bound = Optional[float]


def setting(default: Any, low: Bound = None, high: Bound = None) -> Any:
    """A dataclass field whose value must lie in [low, high] (None: unbounded on that side)."""
    return field(default=default, metadata={'low': low, 'high': high})


def setting_range(config: type, name: str) -> tuple[Bound, Bound]:
    """(low, high) of a field declared with `setting`."""
    for f in fields(config):
        if f.name == name and 'low' in f.metadata:
            return f.metadata['low'], f.metadata['high']
    raise KeyError(f'{config.__name__}.{name} is not a setting with a range')


def check_ranges(config: Any) -> None:
    """ValueError naming the first field of `config` outside its range."""
    for f in fields(config):
        if 'low' not in f.metadata or f.default is MISSING:
            continue
        value, low, high = getattr(config, f.name), f.metadata['low'], f.metadata['high']
        if low is not None and value < low or high is not None and value > high:
            raise ValueError(f'{f.name} must be in [{"" if low is None else low}, '
                             f'{"" if high is None else high}], got {value}')
