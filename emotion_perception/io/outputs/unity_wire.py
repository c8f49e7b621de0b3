"""The Unity wire format: what each kind of client is sent, and what a client may say.

Full-stream clients (TCP that said hello, WebSocket) get one object of the project's JSON
schema per line (io.outputs.schema); scenes written for the original script get its
fields only, one document per send, no framing. A client may say `{"type":"hello"}` and
`{"type":"next"}`; anything else is garbage, paced by io.outputs.access.
"""

import json
from dataclasses import dataclass
from typing import Optional

from emotion_perception.io.outputs.schema import (
    dumps_document,
    dumps_line,
    frame_to_json,
    hello_json,
    legacy_frame_json,
    status_json,
)
from emotion_perception.vision.results import FrameResult

#: How TCP clients that never say hello are served (parameter `compat`).
AUTO, STREAM, LEGACY = 'auto', 'stream', 'legacy'
COMPAT_MODES = (AUTO, STREAM, LEGACY)
#: A request is a short line: longer ones are not parsed; WebSocket messages longer than
#: MAX_MESSAGE close that client (1009).
MAX_REQUEST = 256
MAX_MESSAGE = 64 * 1024


@dataclass(frozen=True)
class Frame:
    """One frame as each kind of client is sent it."""

    line: bytes    # the full schema, newline-terminated
    legacy: bytes  # the seed's fields only, no newline

    @classmethod
    def of_result(cls, result: FrameResult) -> 'Frame':
        """A frame's faces, serialised once for every client."""
        return cls(dumps_line(frame_to_json(result)), dumps_document(legacy_frame_json(result)))

    @classmethod
    def of_status(cls, state: str) -> 'Frame':
        """`paused` or `open` to full-stream clients; an empty frame to legacy scenes."""
        return cls(dumps_line(status_json(state)),
                   dumps_document(legacy_frame_json(FrameResult(0, 0.0, 0, 0))))


#: The first line every full-stream client gets.
HELLO = dumps_line(hello_json())


def message_type(message) -> Optional[str]:
    """The `type` of a client's JSON message, or None for anything else."""
    try:
        decoded = json.loads(message)
    except ValueError:
        return None
    return decoded.get('type') if isinstance(decoded, dict) else None
