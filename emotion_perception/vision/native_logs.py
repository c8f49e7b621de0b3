"""Keep the banner lines native libraries print at start-up out of our logs.

TensorFlow 2.21 writes its absl/oneDNN/CPU-feature lines straight to file descriptor 2
when it is imported, whatever TF_CPP_MIN_LOG_LEVEL says, and LiteRT one line when its
first interpreter starts. A user sees them at every start
of every node, twice; they say nothing about this program.
"""

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator

#: Start-up lines known to be noise; anything else captured is written back to stderr.
BANNERS = re.compile(
    rb'WARNING: All log messages before absl::InitializeLog\(\)'
    rb'|^[IW]\d{4} [\d:.]+\s+\d+ (port|cpu_feature_guard)\.cc:\d+\]'
    rb'|^To enable the following instructions:'
    rb'|^INFO: Created TensorFlow Lite XNNPACK delegate for CPU')


@contextmanager
def banners_hidden() -> Iterator[None]:
    """Capture fd 2 for the block; write back every line that is not a known banner."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().splitlines(keepends=True)
                    if not BANNERS.search(line)]
            if kept:
                os.write(2, b''.join(kept))
