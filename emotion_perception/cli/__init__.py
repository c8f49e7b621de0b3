"""`emotion-perception`: set-up, offline processing, evaluation, training and the whole graph.

One module per group of subcommands, each adding its own parsers: `models` (models,
evaluate), `offline` (process), `graph` (run, record), `training` (train, export).
"""

import argparse
import sys
from typing import Optional

from emotion_perception.cli import graph, models, offline, training

#: The groups, in the order `--help` lists their subcommands.
GROUPS = (models, offline, graph, training)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job."""
    parser = argparse.ArgumentParser(prog='emotion-perception', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point: run a subcommand; errors are one line and a non-zero exit."""
    from emotion_perception.io.recording.bags import BagError
    from emotion_perception.io.sources import SourceError
    from emotion_perception.vision.model_store import ModelError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ModelError, SourceError, BagError, ValueError, OSError) as exc:
        print(f'emotion-perception {args.command}: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

