"""`train` and `export`: the expression network, trained on CPU and exported for LiteRT."""

import argparse
import sys
from pathlib import Path

from emotion_perception.cli.progress import progress
from emotion_perception.training.network import NetworkConfig


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


def _holdout(args: argparse.Namespace) -> float:
    """The held-out percent: a resumed run's own (its recipe keeps it), else --holdout."""
    from emotion_perception.training.loop import CHECKPOINT, Recipe, load_arrays

    if not args.resume:
        return args.holdout
    stored = Recipe.from_json(load_arrays(Path(args.out) / CHECKPOINT)[1]['recipe']).holdout
    if stored and args.holdout and args.holdout != stored:
        raise ValueError(f'--holdout {args.holdout}: the run holds out {stored} % already')
    return stored or args.holdout


def cmd_train(args: argparse.Namespace) -> int:
    """Train the expression network on a folder-per-class dataset (needs TensorFlow)."""
    from emotion_perception.training.data import load
    from emotion_perception.training.loop import Recipe, check_run_folder, train

    check_run_folder(Path(args.out), args.resume)
    holdout = _holdout(args)
    if args.val and holdout:
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
                    precision=args.precision, keep_optimizer=not args.weights_only,
                    holdout=holdout)
    size = recipe.network.input_size
    train_set = load(Path(args.train_dir), size, args.limit_per_class)
    val_set = load(Path(args.val), size, args.limit_per_class) if args.val else None
    if holdout:
        train_set, val_set = train_set.split(holdout)
    test_set = load(Path(args.test), size, args.limit_per_class) if args.test else None
    print(f'train: {len(train_set)} faces from {args.train_dir}'
          + (f', validating on {len(val_set)}' if val_set else '')
          + (f', reporting on {len(test_set)} from {args.test}' if test_set else ''),
          file=sys.stderr)

    def bar(total: int, description: str):
        return progress(total, 'img', description, leave=False)

    trainer = train(train_set, val_set, Path(args.out), recipe, args.resume, bar,
                    args.until_epoch, replan_epochs=args.epochs if args.resume else None,
                    test_set=test_set)
    print(f'train: epoch {trainer.epoch}/{trainer.recipe.epochs} in {args.out} '
          f'(best validation accuracy {trainer.best:.4f})', file=sys.stderr)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The subcommands `export`, `train`."""
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
                        'name, and train on the rest (kept by the run: a resume holds out '
                        'the same)')
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
    p.add_argument('--widths', type=int, nargs=4, default=list(NetworkConfig.widths),
                   help='channels of the four convolution stages (default: the shipped '
                        'network\'s)')
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
