"""Turning a node's bad configuration into one error line under the node's own name."""

from contextlib import contextmanager
from typing import Iterator

from rclpy.node import Node

from emotion_perception.io.sources import SourceError
from emotion_perception.vision.model_store import ModelError

#: Errors a node's constructor raises for bad configuration; reported in one line.
SETUP_ERRORS = (ValueError, ModelError, SourceError, OSError)


class SetupFailed(RuntimeError):
    """A node could not start; the reason is already in the node's log."""


@contextmanager
def reported(node: Node) -> Iterator[None]:
    """Log a setup error as the node (`[perception]`, `[robot1.camera]`), then fail."""
    try:
        yield
    except SETUP_ERRORS as exc:
        node.get_logger().error(str(exc))
        raise SetupFailed(str(exc)) from exc
