"""What `emotion-perception run` costs: its process and the bridge's, which is its child."""

from typing import Callable

import psutil


def _total(graph: psutil.Process, measure: Callable[[psutil.Process], float]) -> float:
    """`measure` summed over `graph` and its running children."""
    total = 0.0
    for process in [graph, *graph.children(recursive=True)]:
        try:
            total += measure(process)
        except psutil.NoSuchProcess:  # a child that ended meanwhile
            continue
    return total


def cpu_seconds(graph: psutil.Process) -> float:
    """CPU seconds (user and system) used so far by `graph` and its running children."""
    return _total(graph, lambda p: sum(p.cpu_times()[:2]))


def rss_mb(graph: psutil.Process) -> float:
    """Resident memory (MB) of `graph` and its running children."""
    return _total(graph, lambda p: p.memory_info().rss) / 2**20
