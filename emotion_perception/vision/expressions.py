"""The seven expression labels and the valence/arousal mapping of their scores."""

import numpy as np

#: Labels in the classifier's output order (FER2013), as the original scripts used them.
EXPRESSIONS: tuple[str, ...] = ('Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral')

#: Where each label sits on Russell's circumplex (valence, arousal), each in [-1, 1]:
#: the pleasure and arousal values of Russell & Mehrabian (1977, J. Res. Personality 11),
#: with Neutral at the origin. Same order as EXPRESSIONS.
CIRCUMPLEX = np.array([
    (-0.51, 0.59),   # Angry
    (-0.60, 0.35),   # Disgust
    (-0.64, 0.60),   # Fear
    (0.81, 0.51),    # Happy
    (-0.63, -0.27),  # Sad
    (0.40, 0.67),    # Surprise
    (0.00, 0.00),    # Neutral
], dtype=np.float32)


def valence_arousal(scores: np.ndarray) -> tuple[float, float]:
    """Probability-weighted circumplex position of a 7-score vector."""
    valence, arousal = np.asarray(scores, dtype=np.float32) @ CIRCUMPLEX
    return float(valence), float(arousal)
