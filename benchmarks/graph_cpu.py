"""What `emotion-perception run` costs: its process and perception's, which is its child."""

import psutil


def cpu_seconds(graph: psutil.Process) -> float:
    """CPU seconds (user and system) used so far by `graph` and its running children."""
    total = 0.0
    for process in [graph, *graph.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # a child that ended meanwhile
            continue
        total += times.user + times.system
    return total


def rss_mb(graph: psutil.Process) -> float:
    """Resident memory (MB) of `graph` and its running children."""
    total = 0
    for process in [graph, *graph.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20
