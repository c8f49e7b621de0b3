"""camera node: publishes `image_raw` (sensor_msgs/Image) and `image_raw/compressed` (JPEG).

Any frame source: a camera, a video, an image folder, the demo scene, or a bag replayed at
its recorded timing with its recorded stamps and frame_id. Outside its opening hours
(`schedule`, or `~/set_enabled`) it releases the source (the camera's LED goes off) and
publishes nothing, so the whole graph rests; `enabled` (latched) tells the others.
`camera_info` goes with every image (ros.camera_info).

Why one module: opening, reading, retrying, pacing and publishing a source share its
state (open, failing, skipping) on one capture thread.
"""

import array
import sys
import threading
from datetime import datetime
from typing import Optional

import cv2
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Bool, Header
from std_srvs.srv import SetBool

from emotion_perception.io.camera_model import DEFAULT_HORIZONTAL_FOV
from emotion_perception.io.opening_hours import OpeningHours
from emotion_perception.io.parameters import ParamSpec
from emotion_perception.io.recording.bags import BagImage
from emotion_perception.io.sources import FrameSource, SourceError, open_source, paced
from emotion_perception.io.sources.bag import BagSource, replayed
from emotion_perception.ros.camera_info import CameraInfoPublisher
from emotion_perception.ros.conversions import array_to_image, time_from_ns
from emotion_perception.ros.diagnostics import (
    ERROR,
    OK,
    WARN,
    DiagnosticsReporter,
    RateMeter,
    Report,
)
from emotion_perception.ros.interface import (
    COMPRESSED_SUFFIX,
    ENABLED_QOS,
    ENABLED_TOPIC,
    IMAGE_PUBLISHER_QOS,
    IMAGE_QOS_OVERRIDES,
    RAW_IMAGE_TOPIC,
)
from emotion_perception.ros.ros_params import declare
from emotion_perception.ros.setup_errors import reported

CAMERA_PARAMETERS = (
    ParamSpec('source', 'demo', 'demo, a camera index or /dev/videoN, a video file, an '
              'image folder, or a bag (rosbag2 folder, .mcap or .db3)'),
    ParamSpec('rate', 0.0, 'Publish rate cap in Hz (0 = the source\'s own rate)', 0.0, 240.0),
    ParamSpec('width', 640, 'Output width in pixels (0 = the source\'s own; bags replay '
              'as recorded)', 0, 7680),
    ParamSpec('height', 480, 'Output height in pixels (0 = the source\'s own; bags replay '
              'as recorded)', 0, 4320),
    ParamSpec('frame_id', 'camera', 'frame_id of the published images'),
    ParamSpec('camera_info_url', '', 'Calibration file for camera_info (camera_calibration\'s '
              'YAML: a path or file:///path); empty = a pinhole of horizontal_fov'),
    ParamSpec('horizontal_fov', DEFAULT_HORIZONTAL_FOV, 'Horizontal field of view, degrees, '
              'of camera_info without a calibration file', 1.0, 179.0),
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
    ParamSpec('schedule', '', 'Opening hours in local time, e.g. "Mon-Fri 09:00-18:00; '
              'Sat,Sun 10:00-16:00"; outside them the source is released and the graph '
              'rests (empty = always open; ~/set_enabled overrides until the next change)'),
)


def _when(moment: Optional[datetime]) -> str:
    """'Mon 09:00' (or 'further notice' for no scheduled change)."""
    return moment.strftime('%a %H:%M') if moment else 'further notice'



class CameraNode(Node):
    """Reads frames on a thread of its own and publishes each one, stamped at capture."""

    #: Publishes images: its process publishes asynchronously (main.dds_profile).
    PUBLISHES_IMAGES = True

    def __init__(self, **kwargs) -> None:
        self._thread: Optional[threading.Thread] = None
        super().__init__('camera', **kwargs)
        with reported(self):
            self.params = declare(self, CAMERA_PARAMETERS, read_only=True)
            self._hours = OpeningHours(self.params['schedule'])
            self._info = CameraInfoPublisher(self, self.params['camera_info_url'],
                                             self.params['horizontal_fov'])
        # Reliability and depth can be overridden per topic, as ROS 2 allows, e.g.
        # qos_overrides./image_raw.publisher.reliability: best_effort across a network.
        self._pub = self.create_publisher(Image, RAW_IMAGE_TOPIC, IMAGE_PUBLISHER_QOS,
                                          qos_overriding_options=IMAGE_QOS_OVERRIDES)
        # As image_transport names it: after the remapped base, so image_raw:=/cam/image
        # publishes /cam/image/compressed.
        self._jpeg_pub = self.create_publisher(
            CompressedImage, self.resolve_topic_name(RAW_IMAGE_TOPIC) + COMPRESSED_SUFFIX,
            IMAGE_PUBLISHER_QOS, qos_overriding_options=IMAGE_QOS_OVERRIDES)
        self._stop = threading.Event()
        self._state, self._published, self._error = 'opening', 0, ''
        self._skip_said = ''
        self._meter = RateMeter()
        # Open or closed: set while open; the capture thread waits on it.
        self._open = threading.Event()
        self._override: Optional[bool] = None
        self._override_until: Optional[datetime] = None
        self._until: Optional[datetime] = None
        self._enabled_pub = self.create_publisher(Bool, ENABLED_TOPIC, ENABLED_QOS)
        self.create_service(SetBool, '~/set_enabled', self._on_set_enabled)
        self._check_hours()
        self.create_timer(1.0, self._check_hours)
        DiagnosticsReporter(self, 'image source', self._report)
        self._thread = threading.Thread(target=self._run, daemon=True, name='camera')
        self._thread.start()

    def _now(self) -> datetime:
        """Local time by the node's clock (simulated time with use_sim_time)."""
        return datetime.fromtimestamp(self.get_clock().now().nanoseconds / 1e9)

    def _check_hours(self) -> None:
        """Open or close as the schedule (or an override, until its end) says."""
        now = self._now()
        if self._override is not None and self._override_until is not None \
                and now >= self._override_until:
            self._override = None
        scheduled = self._hours.is_open(now)
        is_open = scheduled if self._override is None else self._override
        self._until = self._override_until if self._override is not None \
            else self._hours.next_change(now)
        if is_open == self._open.is_set() and self._state != 'opening':
            return
        if is_open:
            self._open.set()
        else:
            self._open.clear()
            self._state = 'closed'
        self._enabled_pub.publish(Bool(data=is_open))
        if not self._hours.always or self._override is not None or not is_open:
            self.get_logger().info(f'{"open" if is_open else "closed"} until '
                                   f'{_when(self._until)}')

    def _on_set_enabled(self, request: SetBool.Request, response: SetBool.Response
                        ) -> SetBool.Response:
        """Open or close now, until the schedule's next change (or until called again)."""
        now = self._now()
        self._override = request.data
        self._override_until = self._hours.next_change(now)
        self._check_hours()
        response.success = True
        response.message = (f'{"open" if request.data else "closed"} until '
                            f'{_when(self._override_until)}')
        return response

    def _failed(self, exc: SourceError, state: str) -> None:
        """Say what is wrong once; the same failure again, retry after retry, stays quiet."""
        if str(exc) != self._error:
            self.get_logger().error(f'{exc}; retrying every '
                                    f'{self.params["retry_period"]:.1f} s')
        self._error, self._state = str(exc), state

    def _open_source(self) -> Optional[FrameSource]:
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
            if not self._open.is_set():
                self._open.wait(0.5)
                continue
            source = self._open_source()
            if source is None:
                self._stop.wait(self.params['retry_period'])
                continue
            try:
                for frame in self._frames(source):
                    if self._stop.is_set():
                        return
                    if not self._open.is_set():
                        break  # closed: the finally releases the device
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
            if not self._open.is_set():
                continue
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
        self._info.publish(header, frame.shape[1], frame.shape[0])
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
        level = OK if self._state in ('publishing', 'finished', 'closed') else (
            WARN if self._state == 'opening' else ERROR)
        message = (f'closed until {_when(self._until)}' if self._state == 'closed'
                   else self._error or self._state)
        return level, message, {
            'source': self.params['source'], 'state': self._state,
            'schedule': self._hours.text or 'always open',
            'open': str(self._open.is_set()).lower(), 'until': _when(self._until),
            'rate_hz': f'{rate:.1f}', 'published': self._published}

    def destroy_node(self) -> None:
        """Stop the capture thread before the node goes."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=3.0)
        super().destroy_node()


def main(args: Optional[list[str]] = None) -> int:
    """`ros2 run emotion_perception camera_node`."""
    from emotion_perception.ros.main import node_main

    return node_main(CameraNode, args)


if __name__ == '__main__':
    sys.exit(main())
