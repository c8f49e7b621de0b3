"""The expression CNN, a `.tflite` file run by LiteRT on one thread. No TensorFlow here.

Every classifier the pipeline can use takes (1, N, N, 1) float32 grayscale faces scaled to
[-1, 1] and gives the seven FER2013 probabilities in EXPRESSIONS order. `preprocess`
makes that input, at run time and in training (emotion_perception.training), so the
network is shown what it learnt from. LiteRT's XNNPACK kernels score a crop in about a
millisecond; leaving TensorFlow out of the running graph saves about 400 MB and two
seconds of start-up.
"""

from pathlib import Path
from typing import Callable, Optional, Sequence

import cv2
import numpy as np

from emotion_perception.vision.expressions import EXPRESSIONS
from emotion_perception.vision.model_store import ModelError
from emotion_perception.vision.native_logs import banners_hidden


def preprocess(faces: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Grayscale crops -> (n, size, size, 1) float32 in [-1, 1], as the models were trained.

    Enlarging uses bilinear interpolation (1.4 points better on FER2013 than area
    averaging), shrinking uses area averaging (no aliasing).
    """
    batch = np.empty((len(faces), size, size, 1), dtype=np.float32)
    for i, face in enumerate(faces):
        if face.shape[:2] == (size, size):
            batch[i, :, :, 0] = face
            continue
        shrink = face.shape[0] > size or face.shape[1] > size
        batch[i, :, :, 0] = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA
                                       if shrink else cv2.INTER_LINEAR)
    return batch / 127.5 - 1.0


def _interpreter(model_path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """A LiteRT interpreter on one thread for one crop at a time, and its input size.

    One crop per call: re-allocating for each new batch size costs about 1.2 ms, more
    than batching saves on XNNPACK.
    """
    from ai_edge_litert.interpreter import Interpreter

    if not model_path.is_file():
        raise ModelError(f'model file {model_path} not found')
    try:
        interpreter = Interpreter(model_path=str(model_path), num_threads=1)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f'{model_path} is not a LiteRT model: '
                         f'{str(exc).splitlines()[0] if str(exc) else exc}') from exc
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    shape = tuple(int(d) for d in inputs[0]['shape'])
    if (len(inputs) != 1 or len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1
            or inputs[0]['dtype'] != np.float32):
        raise ModelError(f'{model_path} takes input {shape} {inputs[0]["dtype"].__name__}; '
                         f'expected (1, N, N, 1) float32 grayscale faces')
    out_shape = tuple(int(d) for d in outputs[0]['shape'])
    if len(outputs) != 1 or out_shape[-1] != len(EXPRESSIONS) or len(out_shape) != 2:
        raise ModelError(f'{model_path} gives output {out_shape}; expected (1, '
                         f'{len(EXPRESSIONS)}) scores for {", ".join(EXPRESSIONS)}')
    inp, out = inputs[0]['index'], outputs[0]['index']
    interpreter.resize_tensor_input(inp, [1, *shape[1:]])
    interpreter.allocate_tensors()

    def infer(batch: np.ndarray) -> np.ndarray:
        scores = []
        for crop in batch:
            interpreter.set_tensor(inp, crop[np.newaxis])
            interpreter.invoke()
            scores.append(interpreter.get_tensor(out)[0].copy())
        return np.array(scores, dtype=np.float32).reshape(len(batch), -1)

    return infer, shape[1]


class ExpressionClassifier:
    """Loads a `.tflite` expression model once and scores batches of face crops."""

    runtime = 'LiteRT'

    def __init__(self, model_path: Path, flip_average: bool = True) -> None:
        self.model_path = Path(model_path)
        self.flip_average = flip_average
        with banners_hidden():  # LiteRT's XNNPACK line at the first interpreter
            self._infer, self.input_size = _interpreter(self.model_path)
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
