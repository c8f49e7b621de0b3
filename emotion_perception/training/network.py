"""The expression network: a small VGG-style CNN for 48x48 grayscale faces.

Plain 3x3 convolutions with batch normalisation, two per stage, widths doubling as the
resolution halves, then global average pooling: VGG-style nets are what reaches the
low 70s on FER2013 from scratch (Khaireddin & Chen 2021), and plain convolutions are what
XNNPACK runs fastest on one core. The width is chosen for the run-time budget (about a
millisecond a crop on one core), not for the largest accuracy at any cost.
"""

from dataclasses import dataclass

from emotion_perception.vision.expressions import EXPRESSIONS


@dataclass(frozen=True)
class NetworkConfig:
    """The network's shape; stored in every checkpoint so a resume builds the same net."""

    input_size: int = 48
    #: Channels of the four stages (each: two 3x3 convolutions, then 2x2 max pooling);
    #: the default is the shipped network's (models/expression_vgg.md).
    widths: tuple[int, ...] = (16, 32, 96, 192)
    dropout: float = 0.4
    #: Side of the square windows the network sees, cut at random from the input_size
    #: face in training and ten times (corners, centre, mirrored) in evaluation, as the
    #: references do (Khaireddin & Chen 2021: 40 of 48); 0: the whole face.
    crop: int = 0

    def __post_init__(self) -> None:
        """A window larger than the face is a mistake, said before any work."""
        if not 0 <= self.crop <= self.input_size:
            raise ValueError(f'crop {self.crop} must be between 0 and the face size '
                             f'{self.input_size}')

    @property
    def side(self) -> int:
        """Side of the network's input."""
        return self.crop or self.input_size

    def to_json(self) -> dict:
        """JSON-ready form (checkpoints, the model card)."""
        return {'input_size': self.input_size, 'widths': list(self.widths),
                'dropout': self.dropout, 'crop': self.crop}

    @classmethod
    def from_json(cls, data: dict) -> 'NetworkConfig':
        """Inverse of to_json (checkpoints from before `crop` have none)."""
        return cls(int(data['input_size']), tuple(int(w) for w in data['widths']),
                   float(data['dropout']), int(data.get('crop', 0)))


def build(config: NetworkConfig = NetworkConfig()):
    """The Keras model: (None, side, side, 1) faces in [-1, 1] -> (None, 7) probabilities."""
    import keras
    from keras import layers

    inputs = keras.Input((config.side, config.side, 1), name='face')
    x = inputs
    for stage, width in enumerate(config.widths):
        for conv in range(2):
            x = layers.Conv2D(width, 3, padding='same', use_bias=False,
                              name=f'conv{stage + 1}_{conv + 1}')(x)
            x = layers.BatchNormalization(name=f'bn{stage + 1}_{conv + 1}')(x)
            x = layers.ReLU(name=f'relu{stage + 1}_{conv + 1}')(x)
        x = layers.MaxPooling2D(2, name=f'pool{stage + 1}')(x)
    x = layers.GlobalAveragePooling2D(name='gap')(x)
    x = layers.Dropout(config.dropout, name='dropout')(x)
    x = layers.Dense(len(EXPRESSIONS), name='logits')(x)
    # Scores in float32 whatever the compute precision (bfloat16 training, see Recipe).
    outputs = layers.Softmax(name='scores', dtype='float32')(x)
    return keras.Model(inputs, outputs, name='expression_vgg')
