"""Benchmark: the seeds' loop against `emotion-perception process`, on the same videos.

Prints frame rates and their ratio on scenes of three people coming and going under
changing light (`scenes.py`) at 640x480 and 1280x720, peak memory of `process`, and, on a
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
from scenes import Scene, write_scene

from emotion_perception.vision.model_store import default_models_dir

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


def main() -> int:
    """Build the videos, run both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--frames', type=int, default=600, help='frames of each 3-face scene')
    parser.add_argument('--seed-frames', type=int, default=100,
                        help='frames the (slow) seeds\' loop runs on each 3-face scene')
    parser.add_argument('--fer-frames', type=int, default=900, help='frames of the FER video')
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
        seed_found, seed_fer_fps = seeds_over(work / 'fer.avi', seeds, args.fer_frames)
        our_found, our_fer_fps, _ = ours_over(work / 'fer.avi', work / 'fer.jsonl')
        fer_found, fer_fps, _ = ours_over(work / 'fer.avi', work / 'fer-model.jsonl',
                                          '--classifier', 'fer')
        for name, found, fps in (('seeds', seed_found, seed_fer_fps),
                                 ('ours', our_found, our_fer_fps),
                                 ('ours with the fer model', fer_found, fer_fps)):
            s = score(truth, found)
            ids = '' if name == 'seeds' else f', id switches {s["id_switches"]}'
            print(f'FER video, {name}: recall {s["recall"]:.3f}, precision '
                  f'{s["precision"]:.3f}, expression right {s["expression_accuracy"]:.3f} '
                  f'of {s["matched"]} matched faces{ids}, {fps:.1f} fps')
    return 0


if __name__ == '__main__':
    sys.exit(main())
