"""The mini-XCEPTION expression CNN: every face of a frame in one compiled, batched call."""

import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.model_store import ModelError
from emotion_perception.vision.native_logs import banners_hidden

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def _one_thread(tf) -> None:
    """Run TensorFlow on one thread.

    Our batches are small, and a second TensorFlow thread spin-waits on the core that
    Haar, dlib, decoding and DDS need (3 ms a frame here).
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow already started in this process; keep its settings


def preprocess(faces: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Grayscale crops -> (n, size, size, 1) float32 in [-1, 1], as the model was trained.

    Enlarging uses bilinear interpolation (1.4 points better on FER2013 than area
    averaging), shrinking uses area averaging (no aliasing).
    """
    batch = np.empty((len(faces), size, size, 1), dtype=np.float32)
    for i, face in enumerate(faces):
        shrink = face.shape[0] > size or face.shape[1] > size
        batch[i, :, :, 0] = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA
                                       if shrink else cv2.INTER_LINEAR)
    return batch / 127.5 - 1.0


class ExpressionClassifier:
    """Loads the Keras model once and scores batches of face crops."""

    def __init__(self, model_path: Path, flip_average: bool = True) -> None:
        with banners_hidden():
            import keras
            import tensorflow as tf

        _one_thread(tf)
        try:
            model = keras.models.load_model(str(model_path), compile=False)
        except (OSError, ValueError, TypeError) as exc:
            raise ModelError(f'{model_path} is not a Keras model this version can load: '
                             f'{exc}') from exc
        in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
        if len(in_shape) != 4 or in_shape[1] != in_shape[2] or in_shape[3] != 1:
            raise ModelError(f'{model_path} takes input {in_shape}; expected (None, N, N, 1) '
                             f'grayscale faces')
        if out_shape != (None, len(EXPRESSIONS)):
            raise ModelError(f'{model_path} gives output {out_shape}; expected '
                             f'(None, {len(EXPRESSIONS)}) scores for {", ".join(EXPRESSIONS)}')
        self.input_size = int(in_shape[1])
        self.flip_average = flip_average
        spec = tf.TensorSpec([None, self.input_size, self.input_size, 1], tf.float32)
        self._infer = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        self._infer(np.zeros((1, self.input_size, self.input_size, 1), np.float32))

    def scores(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """(n, 7) probabilities for n grayscale face crops (n may be 0)."""
        if not faces:
            return np.zeros((0, len(EXPRESSIONS)), dtype=np.float32)
        batch = preprocess(faces, self.input_size)
        if not self.flip_average:
            return self._infer(batch).numpy()
        both = self._infer(np.concatenate([batch, batch[:, :, ::-1, :]])).numpy()
        n = len(faces)
        return (both[:n] + both[n:]) / 2.0
