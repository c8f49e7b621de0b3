"""Subscribers that run in a process of their own, as a robot's or a viewer's would.

`python probes.py images SECONDS`: default-QoS (reliable) subscriptions to the image topics.
`python probes.py hri SECONDS`: a ROS4HRI consumer that follows `/humans/faces/tracked`.
Each prints one JSON line of what it received, then exits; `ready` first, once subscribed.
"""

import json
import sys
import time

import rclpy
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

IMAGE_TOPICS = {'/image_raw': Image, '/image_raw/compressed': CompressedImage,
                '/debug_image': Image}


def images(node: Node, seconds: float) -> dict:
    """Messages per image topic with rclpy's default QoS (reliable, depth 10)."""
    counts = dict.fromkeys(IMAGE_TOPICS, 0)
    for topic, kind in IMAGE_TOPICS.items():
        node.create_subscription(kind, topic,
                                 lambda msg, t=topic: counts.__setitem__(t, counts[t] + 1), 10)
    print('ready', flush=True)
    _spin(node, seconds)
    return counts


def hri(node: Node, seconds: float) -> dict:
    """What a ROS4HRI consumer sees: ids, and per id each topic's type, count, last value."""
    from hri_msgs.msg import Expression, FacialLandmarks, IdsList, NormalizedRegionOfInterest2D

    kinds = {'roi': NormalizedRegionOfInterest2D, 'landmarks': FacialLandmarks,
             'expression': Expression, 'cropped': Image, 'aligned': Image}
    seen: dict[str, dict] = {}
    tracked: list[list[str]] = []

    def on_tracked(msg: IdsList) -> None:
        tracked.append(list(msg.ids))
        for face in msg.ids:
            if face not in seen:
                seen[face] = {}
                for name, kind in kinds.items():
                    node.create_subscription(kind, f'/humans/faces/{face}/{name}',
                                             lambda m, f=face, n=name: _keep(seen[f], n, m), 10)

    node.create_subscription(IdsList, '/humans/faces/tracked', on_tracked, 10)
    print('ready', flush=True)
    _spin(node, seconds)
    topics = dict(node.get_topic_names_and_types())
    return {'tracked': tracked, 'faces': seen,
            'types': {t: v for t, v in topics.items() if t.startswith('/humans/')}}


def _keep(store: dict, name: str, msg) -> None:
    entry = store.setdefault(name, {'count': 0})
    entry['count'] += 1
    if name == 'roi':
        entry['last'] = [msg.xmin, msg.ymin, msg.xmax, msg.ymax, msg.c]
    elif name == 'expression':
        entry['last'] = [msg.expression, msg.valence, msg.arousal, msg.confidence]
    elif name == 'landmarks':
        entry['last'] = [[p.x, p.y, p.c] for p in msg.landmarks] + [[msg.width, msg.height]]
    else:
        entry['last'] = [msg.width, msg.height, msg.encoding]


def _spin(node: Node, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)


if __name__ == '__main__':
    rclpy.init()
    probe = Node(f'probe_{sys.argv[1]}')
    print(json.dumps({'images': images, 'hri': hri}[sys.argv[1]](probe, float(sys.argv[2]))),
          flush=True)
    probe.destroy_node()
    rclpy.try_shutdown()
