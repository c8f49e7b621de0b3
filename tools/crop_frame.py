"""Measure follow.HAAR_FRAME, and the classifier's accuracy for each crop_margin around it.

HAAR_FRAME is where the whole-frame search puts a face's box relative to its 68
landmarks: the mean over Training faces pasted at 112 px on a wall, as the FER-faces
video shows them. The margins are then scored on faces of another folder (PublicTest),
framed from their landmarks and by the whole-frame box itself.

    .venv/bin/python tools/crop_frame.py ../shared/data/fer2013-train \
        --val ../shared/data/fer2013-publictest
"""

import argparse
import random
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from emotion_perception.io.evaluation import labelled_images
from emotion_perception.vision.classifier import ExpressionClassifier
from emotion_perception.vision.detection import FaceDetector
from emotion_perception.vision.follow import HAAR_FRAME, Anchor
from emotion_perception.vision.landmarks import LandmarkEstimator, aligned_crop
from emotion_perception.vision.pipeline import ModelPaths

SIDE = 112


def pasted(folder: Path, count: int, detector: FaceDetector, landmarks: LandmarkEstimator):
    """(image, label, whole-frame box, landmarks) of faces pasted on a wall that Haar finds."""
    faces = labelled_images(folder)
    random.Random(3).shuffle(faces)
    wall = cv2.resize(data.brick(), (640, 480))
    x, y = 200, 150
    for path, label in faces[:count]:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        frame = wall.copy()
        frame[y:y + SIDE, x:x + SIDE] = cv2.resize(image, (SIDE, SIDE),
                                                   interpolation=cv2.INTER_CUBIC)
        boxes = [b for b in detector.detect(frame)
                 if abs(b.center[0] - x - SIDE / 2) < SIDE / 3
                 and abs(b.center[1] - y - SIDE / 2) < SIDE / 3]
        if boxes:
            yield frame, label, boxes[0], landmarks.landmarks(frame, boxes[0])


def main() -> None:
    """Print HAAR_FRAME as measured, then the accuracy of each framing and margin."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('train', type=Path, help='faces to measure the frame on (Training)')
    parser.add_argument('--val', type=Path, help='faces to score the margins on (PublicTest)')
    parser.add_argument('--count', type=int, default=1500)
    parser.add_argument('--classifier', default='trained', choices=['trained', 'fer'])
    args = parser.parse_args()
    models = ModelPaths.verified(classifier=args.classifier)
    detector, landmarks = FaceDetector(models.haar), LandmarkEstimator(models.landmarks)
    anchors = np.array([[a.dx, a.dy, a.width, a.height] for a in (
        Anchor.of(box, points)
        for _, _, box, points in pasted(args.train, args.count, detector, landmarks))])
    print(f'HAAR_FRAME over {len(anchors)} faces: Anchor'
          f'({", ".join(f"{v:.4f}" for v in anchors.mean(0))}), spread '
          f'{", ".join(f"{v:.4f}" for v in anchors.std(0))}')
    if not args.val:
        return
    classifier = ExpressionClassifier(models.emotion)
    margins = (-0.06, -0.03, 0.0, 0.03, 0.06, 0.1)
    right: dict[str, list[bool]] = {}
    for frame, label, box, points in pasted(args.val, 10 ** 6, detector, landmarks):
        crops = {f'{how} {margin:+.2f}': aligned_crop(frame, framed.grown(margin), points)
                 for margin in margins
                 for how, framed in (('landmarks', HAAR_FRAME.box(points)), ('box', box))}
        for key, scores in zip(crops, classifier.scores(list(crops.values()))):
            right.setdefault(key, []).append(int(np.argmax(scores)) == label)
    for key, hits in sorted(right.items()):
        print(f'{args.classifier} model, framed by {key}: {np.mean(hits):.4f} of {len(hits)}')


if __name__ == '__main__':
    main()
