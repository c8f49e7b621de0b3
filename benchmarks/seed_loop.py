"""The original webcam script's per-frame work, kept as the baseline for benchmarks.

Haar on every full frame with (1.1, 5, 30x30), then `model.predict` once per face on a
64x64 crop scaled x/255; the dlib predictor is loaded but, as in the original, unused.
Drawing and imshow are left out (no screen here), for the seeds and for us alike.
"""

from pathlib import Path

import cv2
import dlib
import keras
import numpy as np

from emotion_perception.vision.expressions import EXPRESSIONS


class SeedLoop:
    """Per-frame detection and per-face classification, exactly as the seeds did it."""

    def __init__(self, models_dir: Path) -> None:
        self.cascade = cv2.CascadeClassifier(
            str(models_dir / 'haarcascade_frontalface_default.xml'))
        self.predictor = dlib.shape_predictor(
            str(models_dir / 'shape_predictor_68_face_landmarks.dat'))
        self.model = keras.models.load_model(str(models_dir / 'emotion_model.hdf5'), compile=False)

    def process(self, frame: np.ndarray) -> list[dict]:
        """The seeds' JSON faces for one BGR frame."""
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        rects = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                              minSize=(30, 30))
        faces = []
        for x, y, w, h in rects:
            roi = cv2.resize(gray[y:y + h, x:x + w], (64, 64)).astype('float') / 255.0
            preds = self.model.predict(roi[np.newaxis, :, :, np.newaxis], verbose=0)[0]
            idx = int(np.argmax(preds))
            faces.append({'expressionIdx': idx, 'expression': EXPRESSIONS[idx],
                          'position': {'x': int(x), 'y': int(y), 'width': int(w),
                                       'height': int(h)}})
        return faces
