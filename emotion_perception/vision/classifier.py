"""The mini-XCEPTION expression CNN, run by LiteRT.

The Keras model is loaded and checked with Keras, then converted in memory to LiteRT
(TensorFlow Lite), whose XNNPACK kernels score a frame's crops 3x faster than TensorFlow
on this CPU (6 crops: 2.3 ms against 7.6 ms) with the same scores (max difference 1e-6).
A model LiteRT cannot convert runs on TensorFlow instead.
"""

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

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


def _litert(model, tf) -> Callable[[np.ndarray], np.ndarray]:
    """The model as a LiteRT interpreter on one thread: a batch in, scores out.

    Converted from the Keras model itself: a conversion from a traced function gives a
    model 5x slower under XNNPACK. The converter prints where it saved its temporary
    export; that says nothing to our users, so it is swallowed.
    """
    with banners_hidden(), contextlib.redirect_stdout(io.StringIO()):
        from ai_edge_litert.interpreter import Interpreter

        flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        interpreter = Interpreter(model_content=flat, num_threads=1)
        inp = interpreter.get_input_details()[0]['index']
        out = interpreter.get_output_details()[0]['index']
        interpreter.resize_tensor_input(inp, [1, *interpreter.get_input_details()[0]['shape'][1:]])
        interpreter.allocate_tensors()

    def infer(batch: np.ndarray) -> np.ndarray:
        # One crop per call: re-allocating for each new batch size costs about 1.2 ms,
        # more than batching saves (0.38 ms a crop either way on XNNPACK).
        scores = []
        for crop in batch:
            interpreter.set_tensor(inp, crop[np.newaxis])
            interpreter.invoke()
            scores.append(interpreter.get_tensor(out)[0].copy())
        return np.array(scores, dtype=np.float32).reshape(len(batch), -1)

    return infer


def _tensorflow(model, tf, size: int) -> Callable[[np.ndarray], np.ndarray]:
    """The model as one compiled TensorFlow function: a batch in, scores out."""
    spec = tf.TensorSpec([None, size, size, 1], tf.float32)
    function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return lambda batch: function(batch).numpy()


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
        try:
            self._infer = _litert(model, tf)
            self.runtime = 'LiteRT'
        except Exception as exc:  # noqa: BLE001 -- any conversion failure means: use TF
            logging.getLogger(__name__).warning(
                '%s: LiteRT cannot run this model (%s); using TensorFlow, about 3x slower',
                model_path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._infer = _tensorflow(model, tf, self.input_size)
            self.runtime = 'TensorFlow'
        with banners_hidden():
            self._infer(np.zeros((1, self.input_size, self.input_size, 1), np.float32))

    def scores(self, faces: Sequence[np.ndarray],
               views: Optional[Sequence[Optional[bool]]] = None) -> np.ndarray:
        """(n, 7) probabilities for n grayscale face crops (n may be 0).

        With flip_average a face is scored as it is and mirrored, and the two averaged;
        `views` may instead ask for one of them per face (False: as it is, True: its
        mirror image, None: both), which a tracked face alternating views over frames
        gets at half the cost.
        """
        if not faces:
            return np.zeros((0, len(EXPRESSIONS)), dtype=np.float32)
        batch = preprocess(faces, self.input_size)
        if not self.flip_average:
            return self._infer(batch)
        views = list(views) if views is not None else [None] * len(faces)
        plain = [i for i, v in enumerate(views) if v is not True]
        mirrored = [i for i, v in enumerate(views) if v is not False]
        both = self._infer(np.concatenate([batch[plain], batch[mirrored, :, ::-1, :]]))
        total = np.zeros((len(faces), both.shape[1]), dtype=np.float32)
        np.add.at(total, plain + mirrored, both)
        counts = np.bincount(plain + mirrored, minlength=len(faces))
        return total / counts[:, np.newaxis]
