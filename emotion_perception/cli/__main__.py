"""`python -m emotion_perception.cli`: the same command as `emotion-perception`."""

import sys

from emotion_perception.cli import main

sys.exit(main())
