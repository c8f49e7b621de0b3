"""camera node: publishes sensor_msgs/Image (bgr8) on `image_raw` from any frame source."""

import sys
import threading
from typing import Optional

import cv2
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from emotion_perception.io.parameters import ParamSpec
from emotion_perception.io.sources import FrameSource, SourceError, open_source, paced
from emotion_perception.ros.conversions import array_to_image
from emotion_perception.ros.diagnostics import (
    ERROR,
    OK,
    WARN,
    DiagnosticsReporter,
    RateMeter,
    Report,
)
from emotion_perception.ros.node_setup import reported
from emotion_perception.ros.ros_params import declare

CAMERA_PARAMETERS = (
    ParamSpec('source', 'demo', 'demo, a camera index or /dev/videoN, a video file or an '
              'image folder'),
    ParamSpec('rate', 0.0, 'Publish rate cap in Hz (0 = the source\'s own rate)', 0.0, 240.0),
    ParamSpec('width', 640, 'Output width in pixels (0 = the source\'s own)', 0, 7680),
    ParamSpec('height', 480, 'Output height in pixels (0 = the source\'s own)', 0, 4320),
    ParamSpec('frame_id', 'camera', 'frame_id of the published images'),
    ParamSpec('loop', True, 'Start a video or image folder again at its end'),
    ParamSpec('retry_period', 2.0, 'Seconds between attempts to open a missing source',
              0.1, 60.0),
)


class CameraNode(Node):
    """Reads frames on a thread of its own and publishes each one, stamped at capture."""

    def __init__(self, **kwargs) -> None:
        self._thread: Optional[threading.Thread] = None
        super().__init__('camera', **kwargs)
        with reported(self):
            self.params = declare(self, CAMERA_PARAMETERS, read_only=True)
        self._pub = self.create_publisher(Image, 'image_raw', qos_profile_sensor_data)
        self._stop = threading.Event()
        self._state, self._published, self._error = 'opening', 0, ''
        self._meter = RateMeter()
        DiagnosticsReporter(self, 'image source', self._report)
        self._thread = threading.Thread(target=self._run, daemon=True, name='camera')
        self._thread.start()

    def _failed(self, exc: SourceError, state: str) -> None:
        """Say what is wrong once; the same failure again, retry after retry, stays quiet."""
        if str(exc) != self._error:
            self.get_logger().error(f'{exc}; retrying every '
                                    f'{self.params["retry_period"]:.1f} s')
        self._error, self._state = str(exc), state

    def _open(self) -> Optional[FrameSource]:
        """The configured source, or None (said once) when it cannot be opened now."""
        p = self.params
        try:
            source = open_source(p['source'], loop=p['loop'], width=p['width'],
                                 height=p['height'], fps=p['rate'])
        except SourceError as exc:
            self._failed(exc, 'waiting for source')
            return None
        if not self._error:
            fps = p['rate'] or source.fps or 0.0
            self.get_logger().info(f'publishing {source.description} on '
                                   f'{self._pub.topic_name} at {fps or "camera"} fps')
        return source

    def _run(self) -> None:
        """Open, publish until the source ends or fails, re-open; until shutdown."""
        while not self._stop.is_set():
            source = self._open()
            if source is None:
                self._stop.wait(self.params['retry_period'])
                continue
            try:
                for frame in paced(source, self.params['rate'] or source.fps or 0.0):
                    if self._stop.is_set():
                        return
                    if self._error or self._state != 'publishing':
                        self._recovered(source)
                    self._publish(frame)
            except SourceError as exc:
                self._failed(exc, 'source lost')
                self._stop.wait(self.params['retry_period'])
                continue
            finally:
                source.close()
            self._state = 'finished'
            self.get_logger().info(f'{source.description} ended; set loop:=true to repeat it')
            return

    def _recovered(self, source: FrameSource) -> None:
        """The first frame after a failure: say the source is back."""
        if self._error:
            self.get_logger().info(f'{source.description} works again: publishing on '
                                   f'{self._pub.topic_name}')
        self._error, self._state = '', 'publishing'

    def _publish(self, frame) -> None:
        """Resize if asked, stamp now, publish."""
        width, height = self.params['width'], self.params['height']
        if width and height and (frame.shape[1], frame.shape[0]) != (width, height):
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.params['frame_id'])
        self._pub.publish(array_to_image(frame, header))
        self._published += 1

    def _report(self) -> Report:
        """Diagnostics: state, publish rate and frame count."""
        rate = self._meter.rate(self._published)
        level = OK if self._state in ('publishing', 'finished') else (
            WARN if self._state == 'opening' else ERROR)
        return level, self._error or self._state, {
            'source': self.params['source'], 'state': self._state,
            'rate_hz': f'{rate:.1f}', 'published': self._published}

    def destroy_node(self) -> None:
        """Stop the capture thread before the node goes."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=3.0)
        super().destroy_node()


def main(args: Optional[list[str]] = None) -> int:
    """`ros2 run emotion_perception camera_node`."""
    from emotion_perception.ros.runner import node_main

    return node_main(CameraNode, args)


if __name__ == '__main__':
    sys.exit(main())
