"""The one JSON schema of this project: Unity socket lines, `process` output and logs.

It keeps the original scripts' fields (`faceCount`, `faces[].expressionIdx`,
`faces[].expression`, `faces[].position{x,y,width,height}`) so existing Unity scenes
parse it unchanged, and adds the rest. Flat arrays only (Unity's JsonUtility cannot read
nested arrays), camelCase like the original fields.
"""

import json
from typing import Any

import numpy as np

from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.results import Face, FrameResult

SCHEMA_NAME = 'emotion_perception.faces'
SCHEMA_VERSION = 1


def face_to_json(face: Face) -> dict[str, Any]:
    """One face as a JSON-ready dict."""
    pose = face.head_pose
    return {
        'id': face.id,
        'expressionIdx': face.expression_idx,
        'expression': face.expression,
        'confidence': round(face.confidence, 4),
        'scores': [round(float(s), 4) for s in face.scores],
        'position': {'x': face.box.x, 'y': face.box.y,
                     'width': face.box.width, 'height': face.box.height},
        'landmarks': ([] if face.landmarks is None
                      else face.landmarks.astype(np.float64).round(1).reshape(-1).tolist()),
        'hasHeadPose': pose is not None,
        'headPose': {'yaw': round(pose.yaw, 2), 'pitch': round(pose.pitch, 2),
                     'roll': round(pose.roll, 2)} if pose else {'yaw': 0.0, 'pitch': 0.0,
                                                                'roll': 0.0},
        'valence': round(face.valence, 4),
        'arousal': round(face.arousal, 4),
    }


def frame_to_json(result: FrameResult) -> dict[str, Any]:
    """One frame as a JSON-ready dict."""
    return {
        'type': 'faces',
        'frame': result.frame,
        'stamp': round(result.stamp, 6),
        'imageWidth': result.width,
        'imageHeight': result.height,
        'faceCount': len(result.faces),
        'faces': [face_to_json(f) for f in result.faces],
    }


def legacy_frame_json(result: FrameResult) -> dict[str, Any]:
    """One frame as the original script sent it: its fields only, nothing added.

    Scenes written for the original read one `stream.Read` of up to 4096 bytes and parse it
    whole; at about 100 bytes a face, eight faces stay far below that.
    """
    return {'faceCount': len(result.faces), 'faces': [
        {'expressionIdx': f.expression_idx, 'expression': f.expression,
         'position': {'x': f.box.x, 'y': f.box.y, 'width': f.box.width,
                      'height': f.box.height}} for f in result.faces]}


def dumps_document(obj: dict[str, Any]) -> bytes:
    """Compact JSON without a newline, as the original script sent each frame."""
    return json.dumps(obj, separators=(',', ':')).encode()


def hello_json() -> dict[str, Any]:
    """The first line a Unity client receives: what follows and in which version."""
    return {'type': 'hello', 'schema': SCHEMA_NAME, 'schemaVersion': SCHEMA_VERSION,
            'expressions': list(EXPRESSIONS)}


def status_json(state: str) -> dict[str, Any]:
    """Whether the graph works: `open`, or `paused` outside its opening hours.

    Sent when it changes, and every few seconds while paused, so a client tells a closed
    exhibit from a broken link. Clients that know only `faces` skip it.
    """
    return {'type': 'status', 'state': state}


def health_json(**figures: Any) -> dict[str, Any]:
    """How the graph is doing, once a second to operator pages (io.operator_page).

    `figures`: `state` (as `status_json`); `uptime` (s); `rate` (faces messages/s),
    `latencyP50Ms`, `latencyP99Ms` (camera to bridge) and `dropped` (frames perception
    skipped); `clients` (counts by kind); `process` (`cpuPercent` of one core, `rssMb`);
    `machine` (`cpuPercent` of all cores, `memoryPercent`); `diagnostics` (each node's
    status: `name`, `level` 0-3, `message`, `values`); `errors` (the last warnings and
    errors: `time`, `node`, `level`, `message`); `pages` and `previews` (pictures sent).
    """
    return {'type': 'health', **figures}


def dumps_line(obj: dict[str, Any]) -> bytes:
    """Compact JSON plus newline, as sent on the socket and written to `.jsonl`."""
    return json.dumps(obj, separators=(',', ':')).encode() + b'\n'
