"""camera node: publishes `image_raw` (sensor_msgs/Image) and `image_raw/compressed` (JPEG).

Any frame source: a camera, a video, an image folder, the demo scene, or a bag replayed at
its recorded timing with its recorded stamps and frame_id.
"""

import array
import sys
import threading
from typing import Optional

import cv2
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from emotion_perception.io.bag_source import BagSource, replayed
from emotion_perception.io.bags import BagImage
from emotion_perception.io.parameters import ParamSpec
from emotion_perception.io.sources import FrameSource, SourceError, open_source, paced
from emotion_perception.ros.conversions import array_to_image, time_from_ns
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
    ParamSpec('source', 'demo', 'demo, a camera index or /dev/videoN, a video file, an '
              'image folder, or a bag (rosbag2 folder, .mcap or .db3)'),
    ParamSpec('rate', 0.0, 'Publish rate cap in Hz (0 = the source\'s own rate)', 0.0, 240.0),
    ParamSpec('width', 640, 'Output width in pixels (0 = the source\'s own; bags replay '
              'as recorded)', 0, 7680),
    ParamSpec('height', 480, 'Output height in pixels (0 = the source\'s own; bags replay '
              'as recorded)', 0, 4320),
    ParamSpec('frame_id', 'camera', 'frame_id of the published images'),
    ParamSpec('loop', True, 'Start a video or image folder again at its end'),
    ParamSpec('retry_period', 2.0, 'Seconds between attempts to open a missing source',
              0.1, 60.0),
    ParamSpec('jpeg_quality', 90, 'JPEG quality of image_raw/compressed (encoded only while '
              'someone subscribes)', 1, 100),
    ParamSpec('bag_topic', '', 'Image topic of a bag source (empty = the bag\'s only one)'),
    ParamSpec('playback_rate', 1.0, 'Bag replay speed relative to the recording (as ros2 bag '
              'play --rate)', 0.01, 100.0),
    ParamSpec('start_offset', 0.0, 'Seconds into a bag to start replaying from', 0.0, 1e7),
    ParamSpec('restamp', False, 'Stamp replayed bag images now instead of keeping their '
              'recorded stamps'),
)


class CameraNode(Node):
    """Reads frames on a thread of its own and publishes each one, stamped at capture."""

    def __init__(self, **kwargs) -> None:
        self._thread: Optional[threading.Thread] = None
        super().__init__('camera', **kwargs)
        with reported(self):
            self.params = declare(self, CAMERA_PARAMETERS, read_only=True)
        self._pub = self.create_publisher(Image, 'image_raw', qos_profile_sensor_data)
        # As image_transport names it: after the remapped base, so image_raw:=/cam/image
        # publishes /cam/image/compressed.
        self._jpeg_pub = self.create_publisher(
            CompressedImage, self.resolve_topic_name('image_raw') + '/compressed',
            qos_profile_sensor_data)
        self._stop = threading.Event()
        self._state, self._published, self._error = 'opening', 0, ''
        self._skip_said = ''
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
                                 height=p['height'], fps=p['rate'], bag_topic=p['bag_topic'],
                                 start_offset=p['start_offset'])
        except SourceError as exc:
            self._failed(exc, 'waiting for source')
            return None
        if not self._error:
            fps = p['rate'] or source.fps or 0.0
            pace = ('recorded timing' + (f' x{p["playback_rate"]:g}' if p['playback_rate'] != 1
                                         else '') if self._replaying(source)
                    else f'{fps or "camera"} fps')
            self.get_logger().info(f'publishing {source.description} on '
                                   f'{self._pub.topic_name} at {pace}')
        return source

    def _run(self) -> None:
        """Open, publish until the source ends or fails, re-open; until shutdown."""
        while not self._stop.is_set():
            source = self._open()
            if source is None:
                self._stop.wait(self.params['retry_period'])
                continue
            try:
                for frame in self._frames(source):
                    if self._stop.is_set():
                        return
                    if self._error or self._state != 'publishing':
                        self._recovered(source)
                    self._publish(frame, getattr(source, 'last', None))
                    self._skipped(source)
            except SourceError as exc:
                self._failed(exc, 'source lost')
                self._stop.wait(self.params['retry_period'])
                continue
            finally:
                source.close()
            self._state = 'finished'
            self.get_logger().info(f'{source.description} ended; set loop:=true to repeat it')
            return

    def _replaying(self, source: FrameSource) -> bool:
        """A bag with no rate cap replays at its recorded timing."""
        return isinstance(source, BagSource) and not self.params['rate']

    def _frames(self, source: FrameSource):
        """The source's frames, paced by the recording (bags) or by a frame rate."""
        if self._replaying(source):
            return replayed(source, self.params['playback_rate'], self._stop.wait)
        return paced(source, self.params['rate'] or source.fps or 0.0)

    def _skipped(self, source: FrameSource) -> None:
        """Say once per reason that a bag held images that cannot be decoded."""
        reason = getattr(source, 'skip_reason', '')
        if reason and reason != self._skip_said:
            self._skip_said = reason
            self.get_logger().warning(f'{source.description}: skipping images that cannot '
                                      f'be decoded: {reason}')

    def _recovered(self, source: FrameSource) -> None:
        """The first frame after a failure: say the source is back."""
        if self._error:
            self.get_logger().info(f'{source.description} works again: publishing on '
                                   f'{self._pub.topic_name}')
        self._error, self._state = '', 'publishing'

    def _publish(self, frame, recorded: Optional[BagImage]) -> None:
        """Resize if asked (not a recording), stamp, publish raw and, if wanted, JPEG."""
        p = self.params
        if recorded is None and p['width'] and p['height'] \
                and (frame.shape[1], frame.shape[0]) != (p['width'], p['height']):
            frame = cv2.resize(frame, (p['width'], p['height']), interpolation=cv2.INTER_AREA)
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=p['frame_id'])
        if recorded is not None:
            header.frame_id = recorded.frame_id or p['frame_id']
            if not p['restamp']:
                header.stamp = time_from_ns(recorded.stamp)
        self._pub.publish(array_to_image(frame, header))
        if self._jpeg_pub.get_subscription_count():
            self._jpeg_pub.publish(self._compressed(frame, header, recorded))
        self._published += 1

    def _compressed(self, frame, header: Header, recorded: Optional[BagImage]
                    ) -> CompressedImage:
        """The recorded JPEG as it was, else the frame encoded (image_transport's format)."""
        if recorded is not None and recorded.compressed is not None:
            fmt, data = recorded.compressed
        else:
            ok, jpeg = cv2.imencode('.jpg', frame,
                                    [cv2.IMWRITE_JPEG_QUALITY, self.params['jpeg_quality']])
            fmt, data = 'bgr8; jpeg compressed bgr8', jpeg.tobytes()
        return CompressedImage(header=header, format=fmt, data=array.array('B', data))

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
