"""perception node: images in; `faces`, and while subscribed their overlays and debug image, out."""

import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional, Union

from foxglove_msgs.msg import ImageAnnotations
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.subscription import Subscription
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Bool

from emotion_perception.io.parameters import (
    PERCEPTION_NODE_PARAMETERS,
    PIPELINE_PARAMETERS,
    pipeline_config,
)
from emotion_perception.ros.conversions import (
    IMAGE_CONVERTER,
    array_to_image,
    image_to_array,
    result_to_msg,
    stamp_seconds,
)
from emotion_perception.ros.diagnostics import (
    OK,
    PERCEPTION_TASK,
    WARN,
    DiagnosticsReporter,
    LatencyWindow,
    RateMeter,
    Report,
)
from emotion_perception.ros.image_annotations import result_to_annotations
from emotion_perception.ros.interface import (
    ANNOTATIONS_TOPIC,
    COMPRESSED_SUFFIX,
    DEBUG_IMAGE_TOPIC,
    ENABLED_QOS,
    ENABLED_TOPIC,
    FACES_TOPIC,
    IMAGE_PUBLISHER_QOS,
    IMAGE_SUBSCRIBER_QOS,
    MESSAGE_DEPTH,
    RAW_IMAGE_TOPIC,
)
from emotion_perception.ros.ros_params import changes, declare, rejected
from emotion_perception.ros.setup_errors import reported
from emotion_perception.vision.annotate import annotate
from emotion_perception.vision.pipeline import FacePipeline, ModelPaths
from emotion_perception_msgs.msg import FaceExpressionArray

#: What perception reads: raw images or image_transport's compressed ones.
AnyImage = Union[Image, CompressedImage]

class PerceptionNode(Node):
    """Always works on the newest image; older ones that arrive meanwhile are dropped."""

    #: Publishes images: its process publishes asynchronously (main.dds_profile).
    PUBLISHES_IMAGES = True

    def __init__(self, **kwargs) -> None:
        self._worker: Optional[threading.Thread] = None
        super().__init__('perception', **kwargs)
        with reported(self):
            node_params = declare(self, PERCEPTION_NODE_PARAMETERS, read_only=True)
            config = pipeline_config(declare(self, PIPELINE_PARAMETERS))
            models = node_params['models_dir']
            self._pipeline = FacePipeline(config, ModelPaths.verified(
                Path(models) if models else None, node_params['classifier']))
        self._debug = node_params['debug_image']
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._faces_pub = self.create_publisher(FaceExpressionArray, FACES_TOPIC, MESSAGE_DEPTH)
        self._debug_pub = self.create_publisher(Image, DEBUG_IMAGE_TOPIC, IMAGE_PUBLISHER_QOS)
        self._annotations_pub = self.create_publisher(ImageAnnotations, ANNOTATIONS_TOPIC,
                                                      MESSAGE_DEPTH)
        self._sub = self._subscribe_images(node_params['image_transport'])
        self._newest: Optional[tuple[int, AnyImage]] = None
        self._arrived = threading.Condition()
        self._running = True
        self._received = self._processed = self._dropped = self._rejected = 0
        self._compute = 0.0
        # Image stamp to faces published: camera, transport, queue and compute together.
        self._latency = LatencyWindow()
        self._bad_encodings: set[str] = set()
        self._meter = RateMeter()
        self._closed = False
        self.create_subscription(Bool, ENABLED_TOPIC,
                                 lambda msg: setattr(self, '_closed', not msg.data), ENABLED_QOS)
        DiagnosticsReporter(self, PERCEPTION_TASK, self._report)
        self._worker = threading.Thread(target=self._work, daemon=True, name='perception')
        self._worker.start()
        self.get_logger().info(f'ready: {self._sub.topic_name} -> {self._faces_pub.topic_name} '
                               f'(images converted by {IMAGE_CONVERTER})')

    def _subscribe_images(self, transport: str) -> Subscription:
        """Raw images on `image_raw`, or compressed ones on `<image_raw remapped>/compressed`.

        As image_transport does, the transport's suffix goes after the remapped base name,
        so `image_raw:=/cam/image` reads `/cam/image/compressed`.
        """
        if transport == 'compressed':
            topic = self.resolve_topic_name(RAW_IMAGE_TOPIC) + COMPRESSED_SUFFIX
            return self.create_subscription(CompressedImage, topic, self._on_image,
                                            IMAGE_SUBSCRIBER_QOS)
        return self.create_subscription(Image, RAW_IMAGE_TOPIC, self._on_image,
                                        IMAGE_SUBSCRIBER_QOS)

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Validate and apply threshold/smoothing changes from the next frame on."""
        try:
            config = pipeline_config(changes(params, PIPELINE_PARAMETERS),
                                     base=self._pipeline.config)
        except ValueError as exc:
            return rejected(exc)
        self._pipeline.reconfigure(config)
        return SetParametersResult(successful=True)

    def _on_image(self, msg: AnyImage) -> None:
        """Keep only the newest image, numbered in order of arrival; never blocks."""
        with self._arrived:
            if self._newest is not None:
                self._dropped += 1
            self._newest = (self._received, msg)
            self._received += 1
            self._arrived.notify()

    def _take(self) -> Optional[tuple[int, AnyImage]]:
        """Wait for the next (arrival index, image); None at shutdown."""
        with self._arrived:
            while self._newest is None and self._running:
                self._arrived.wait(timeout=0.5)
            taken, self._newest = self._newest, None
            return taken

    def _work(self) -> None:
        """Process images until shutdown."""
        while (taken := self._take()) is not None:
            index, msg = taken
            try:
                frame = image_to_array(msg)
            except ValueError as exc:
                self._rejected += 1
                kind = getattr(msg, 'encoding', None) or getattr(msg, 'format', '')
                if kind not in self._bad_encodings:  # once per encoding: logs stay small
                    self._bad_encodings.add(kind)
                    self.get_logger().error(f'dropping images: {exc}')
                continue
            started = time.perf_counter()
            result = self._pipeline.process(frame, stamp_seconds(msg.header.stamp))
            # `frame` numbers images as they arrived, so its gaps show the ones skipped.
            self._faces_pub.publish(result_to_msg(replace(result, frame=index), msg.header))
            if self._annotations_pub.get_subscription_count() > 0:
                self._annotations_pub.publish(result_to_annotations(result, msg.header.stamp))
            if self._debug and self._debug_pub.get_subscription_count() > 0:
                self._debug_pub.publish(array_to_image(annotate(frame, result), msg.header))
            now = self.get_clock().now().nanoseconds * 1e-9
            self._compute = time.perf_counter() - started
            self._latency.add(now - stamp_seconds(msg.header.stamp))
            self._processed += 1

    def _report(self) -> Report:
        """Diagnostics: processing rate, latency, drops and rejected images."""
        rate = self._meter.rate(self._processed)
        level, message = OK, 'processing'
        if self._closed:
            message = 'resting: the graph is closed (opening hours)'
        elif self._rejected:
            level, message = WARN, f'{self._rejected} images with unsupported encodings'
        elif not self._received:
            level, message = WARN, 'no images received yet'
        return level, message, {
            'rate_hz': f'{rate:.1f}', **self._latency.figures(),
            'compute_ms': f'{self._compute * 1000:.1f}', 'received': self._received,
            'processed': self._processed, 'dropped': self._dropped,
            'rejected': self._rejected}

    def destroy_node(self) -> None:
        """Stop the worker, then the pipeline's search thread, before the node goes."""
        if self._worker is not None:
            with self._arrived:
                self._running = False
                self._arrived.notify()
            self._worker.join(timeout=5.0)
            self._pipeline.close()
        super().destroy_node()


def main(args: Optional[list[str]] = None) -> int:
    """`ros2 run emotion_perception perception_node`."""
    from emotion_perception.ros.main import node_main

    return node_main(PerceptionNode, args)


if __name__ == '__main__':
    sys.exit(main())
