"""`process`: the perception core over a file, folder, camera or bag, as fast as it goes."""

import argparse
import sys
import time
from pathlib import Path
from typing import Optional

from emotion_perception.cli.progress import progress
from emotion_perception.vision.model_store import CLASSIFIERS


def _pipeline(params: Optional[str], classifier: Optional[str] = None):
    """A FacePipeline configured from a parameter YAML file's section for `perception`.

    `classifier` (trained, fer) overrides the file's. A key perception does not know is
    one warning line naming the nearest it does, as the node says it.
    """
    from emotion_perception.io.parameters import (
        CLASSIFIER,
        PERCEPTION_NODE_PARAMETERS,
        PIPELINE_NAMES,
        check,
        load_params_file,
        node_parameters,
        pipeline_config,
        unknown_parameters,
    )
    from emotion_perception.vision.pipeline import FacePipeline, ModelPaths, PipelineConfig

    config, section = PipelineConfig(), {}
    if params:
        section = node_parameters(load_params_file(Path(params)), 'perception')
        known = PIPELINE_NAMES | {p.name for p in PERCEPTION_NODE_PARAMETERS}
        for line in unknown_parameters('perception', section, known):
            print(f'emotion-perception process: warning: {line}', file=sys.stderr)
        config = pipeline_config({k: v for k, v in section.items() if k in PIPELINE_NAMES})
    name = check(CLASSIFIER, classifier or section.get('classifier', CLASSIFIER.default))
    return FacePipeline(config, ModelPaths.verified(classifier=name))


def cmd_process(args: argparse.Namespace) -> int:
    """Run the perception core over a source and write `.jsonl`, or a bag of faces."""
    from emotion_perception.io.offline import open_output, process_source
    from emotion_perception.io.recording.bags import is_bag
    from emotion_perception.io.sources import open_source

    if is_bag(Path(args.source)):
        return _process_bag(args)
    if not args.output.endswith('.jsonl') and args.output != '-':
        raise ValueError(f'--output {args.output}: a bag of faces needs a bag as input; '
                         f'from a video or images, write .jsonl')
    source = open_source(args.source)
    try:
        pipeline = _pipeline(args.params, args.classifier)
        total = getattr(source, 'frame_count', None)
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        out = open_output(Path(args.output))
        started = time.perf_counter()
        with progress(total, 'frame') as bar:
            count = process_source(pipeline, source, out, args.max_frames, bar.update)
        seconds = time.perf_counter() - started
        if out is not sys.stdout.buffer:
            out.close()
    finally:
        source.close()
    skipped = getattr(source, 'skipped', [])
    if skipped:
        print(f'skipped {len(skipped)} unreadable image(s), e.g. {skipped[0]}', file=sys.stderr)
    print(f'{count} frames in {seconds:.2f} s ({count / max(seconds, 1e-9):.1f} fps) '
          f'-> {args.output}', file=sys.stderr)
    return 0


def _process_bag(args: argparse.Namespace) -> int:
    """A bag in: faces stamped as the images were, into `.jsonl` or a bag (+ input topics)."""
    from emotion_perception.io.offline import jsonl_sink, open_output, process_bag
    from emotion_perception.io.recording.bags import Bag

    bag = Bag(Path(args.source))
    try:
        topic = bag.image_topic(args.bag_topic or '')
        if bag.cut:
            print(f'{args.source}: {bag.cut}; reading up to its last complete chunk',
                  file=sys.stderr)
        pipeline = _pipeline(args.params, args.classifier)
        jsonl = args.output.endswith('.jsonl') or args.output == '-'
        if jsonl:
            out = open_output(Path(args.output))
            sink = jsonl_sink(out)
        else:
            from emotion_perception.ros.bag_output import FacesBag

            sink = out = FacesBag(Path(args.output), bag, copy_input=not args.faces_only)
        total = bag.topics[topic].count
        if args.max_frames:
            total = min(total, args.max_frames)
        started = time.perf_counter()
        with progress(total, 'frame') as bar:
            count, skipped, reason = process_bag(pipeline, bag, topic, sink,
                                         everything=not jsonl and not args.faces_only,
                                         max_frames=args.max_frames, progress=bar.update)
        seconds = time.perf_counter() - started
        if out is not sys.stdout.buffer:
            out.close()
    finally:
        bag.close()
    if skipped:
        print(f'skipped {skipped} image(s) of {topic} that cannot be decoded: {reason}',
              file=sys.stderr)
    print(f'{count} frames of {topic} in {seconds:.2f} s ({count / max(seconds, 1e-9):.1f} '
          f'fps) -> {args.output}', file=sys.stderr)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The subcommands `process`."""
    p = sub.add_parser('process', help='run perception over a video, image folder, camera or '
                                       'bag and write one JSON object per frame, or a bag')
    p.add_argument('source', help='video file, image folder, camera index, /dev/videoN, demo, '
                                  'or a bag (rosbag2 folder, .mcap, .db3)')
    p.add_argument('--output', '-o', required=True,
                   help='.jsonl file to write (- = stdout); for a bag input also OUT.mcap '
                        '(one MCAP file) or OUT (a rosbag2 folder) with faces and the input')
    p.add_argument('--bag-topic', help='image topic of a bag with several')
    p.add_argument('--faces-only', action='store_true',
                   help='bag output: only the faces, not the input topics')
    p.add_argument('--params', help='ROS 2 parameter YAML (its perception section)')
    p.add_argument('--max-frames', type=int, help='stop after this many frames')
    p.add_argument('--classifier', choices=list(CLASSIFIERS),
                   help='expression model (default: the params file\'s, else trained)')
    p.set_defaults(func=cmd_process)
