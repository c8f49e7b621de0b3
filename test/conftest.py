"""Shared fixtures: an isolated ROS domain per test run, the models, test images."""

import os
import random
import sys

# Before rclpy is imported anywhere: a domain of our own, discovery on this host only.
os.environ['ROS_DOMAIN_ID'] = os.environ.get('EP_TEST_DOMAIN_ID', str(random.randint(40, 99)))
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'

from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: Under CI every optional toolchain is required: a missing one fails the run.
CI = os.environ.get('CI') == 'true'


def optional_toolchain(name: str, available: bool, install: str) -> pytest.MarkDecorator:
    """Mark a test module that needs `name`: skipped in one line without it, failed in CI."""
    if available:
        return pytest.mark.toolchain
    if CI:
        pytest.fail(f'{name} is required with CI=true but is not installed ({install})',
                    pytrace=False)
    return pytest.mark.skip(reason=f'{name} not installed; `{install}` adds it')


@pytest.fixture(scope='session')
def astronaut() -> np.ndarray:
    """NASA's astronaut portrait (public domain), BGR 512x512."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope='session')
def face(astronaut) -> np.ndarray:
    """A 640x480 BGR frame with the astronaut's face, even-sized for 4:2:2 and Bayer."""
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut, (512, 480))
    return frame


@pytest.fixture(scope='session')
def pipeline_factory():
    """Build pipelines on the real, verified models."""
    from emotion_perception.vision.pipeline import FacePipeline, ModelPaths, PipelineConfig

    models = ModelPaths.verified()

    def make(config: PipelineConfig = PipelineConfig()) -> FacePipeline:
        return FacePipeline(config, models)
    return make


@pytest.fixture(scope='session')
def ros_context():
    """Rclpy initialised once for the session (domain set above)."""
    import rclpy

    rclpy.init()
    yield
    rclpy.try_shutdown()


def spin_until(nodes: list, done, timeout: float, each=lambda: None) -> None:
    """Spin `nodes` on a fresh executor until `done()` or `timeout`; `each()` per turn."""
    import time

    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        each()
        executor.spin_once(timeout_sec=0.1)
    executor.shutdown()


def write_demo_video(path: Path, frames: int) -> Path:
    """A 30 fps 640x480 MJPG video of the demo scene (two moving astronaut faces)."""
    from emotion_perception.io.sources.demo import DemoScene

    scene = DemoScene(640, 480, 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 30, (640, 480))
    for i in range(frames):
        writer.write(scene.render(i))
    writer.release()
    return path
