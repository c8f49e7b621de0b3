"""Periodic health reports on /diagnostics (diagnostic_updater is not on pip)."""

import collections
import time
from typing import Callable

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

from emotion_perception.ros.interface import DIAGNOSTICS_TOPIC, MESSAGE_DEPTH

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR

#: Perception's status name ends with this task (the operator page reads its drops).
PERCEPTION_TASK = 'expression perception'

#: What a node reports: level, one-line message, and key/value figures.
Report = tuple[bytes, str, dict[str, object]]


class RateMeter:
    """Events per second between two consecutive reports."""

    def __init__(self) -> None:
        self._time, self._count = time.monotonic(), 0

    def rate(self, count: int) -> float:
        """Rate since the previous call, given the running total `count`."""
        now = time.monotonic()
        rate = (count - self._count) / max(now - self._time, 1e-6)
        self._time, self._count = now, count
        return rate


class LatencyWindow:
    """Latencies of the last `seconds`, reported as a distribution: a mean hides the tail.

    `add` comes from a worker or callback thread, `figures` from the report timer; a deque's
    append and a copy of it are safe across threads in CPython.
    """

    def __init__(self, seconds: float = 10.0) -> None:
        self._seconds = seconds
        self._samples: collections.deque = collections.deque(maxlen=10_000)

    def add(self, latency: float) -> None:
        """One latency, seconds."""
        self._samples.append((time.monotonic(), latency))

    def figures(self) -> dict[str, str]:
        """p50, p99 and max in ms over the window, and how many samples it holds."""
        since = time.monotonic() - self._seconds
        values = np.array([v for t, v in list(self._samples) if t >= since]) * 1000.0
        count = {f'latency_samples_{self._seconds:g}s': str(values.size)}
        if not values.size:
            return count
        p50, p99 = np.percentile(values, [50, 99])
        return {'latency_p50_ms': f'{p50:.1f}', 'latency_p99_ms': f'{p99:.1f}',
                'latency_max_ms': f'{values.max():.1f}', **count}


class DiagnosticsReporter:
    """Publishes `report()` as one DiagnosticStatus every `period` seconds."""

    def __init__(self, node: Node, task: str, report: Callable[[], Report],
                 period: float = 1.0) -> None:
        self._node, self._report = node, report
        self._pub = node.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, MESSAGE_DEPTH)
        # As diagnostic_updater names statuses ('node: task'), with the namespace kept so
        # two robots' cameras stay apart: 'robot1/camera: image source'.
        self._name = f'{node.get_fully_qualified_name().lstrip("/")}: {task}'
        self._timer = node.create_timer(period, self._publish)

    def _publish(self) -> None:
        """Build and send one report."""
        level, message, values = self._report()
        status = DiagnosticStatus(level=level, name=self._name, message=message,
                                  hardware_id=self._node.get_fully_qualified_name(),
                                  values=[KeyValue(key=k, value=str(v))
                                          for k, v in values.items()])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(array)
