"""A trained network's weights carried into a wider one that computes the same function.

Net2WiderNet (Chen, Goodfellow & Shlens 2016): each new channel of a stage copies an
existing one (its filters and batch normalisation), and the next layer divides the
weights it reads from a copied channel by the number of copies, so the sum it forms is
unchanged. Training the wider net then starts from the narrow net's accuracy instead of
from scratch: on 2 CPU cores an epoch of a wider net costs minutes, and a run from
scratch needs 50 of them. A little noise on the copies' incoming filters lets them
drift apart (identical copies would get identical gradients and stay identical).
"""

from typing import Mapping, Sequence

import numpy as np


def _channel_map(old: int, new: int, rng: np.random.Generator) -> np.ndarray:
    """For each of `new` channels, the old channel it copies: itself first, then at random."""
    if new < old:
        raise ValueError(f'cannot narrow a stage from {old} to {new} channels')
    return np.concatenate([np.arange(old), rng.integers(0, old, new - old)])


def widened_weights(layers: Sequence[tuple[str, list[np.ndarray]]], widths: Mapping[str, int],
                    rng: np.random.Generator, noise: float = 0.0
                    ) -> list[tuple[str, list[np.ndarray]]]:
    """The weights of `layers` (network.build's, in order) for convolutions `widths` wide.

    `layers` are (name, weights) of the convolutions (`conv*`: kernel), batch
    normalisations (`bn*`: gamma, beta, mean, variance) and the final dense layer
    (`logits`: kernel, bias). `noise` is the standard deviation, relative to each
    kernel's own, of the noise added to the copies' incoming filters (0: exactly the
    same function).
    """
    readers = np.arange(1)  # the input's one gray channel, not widened
    out: list[tuple[str, list[np.ndarray]]] = []
    channels = np.arange(1)
    for name, weights in layers:
        if name.startswith('conv'):
            kernel = weights[0]
            copies = np.bincount(readers, minlength=kernel.shape[2]).astype(kernel.dtype)
            channels = _channel_map(kernel.shape[3], widths[name], rng)
            wide = kernel[:, :, readers, :][..., channels] / copies[readers][:, None]
            fresh = np.arange(len(channels)) >= kernel.shape[3]
            if noise and fresh.any():
                scale = noise * float(kernel.std())
                wide[..., fresh] += rng.normal(0.0, scale, wide[..., fresh].shape)
            out.append((name, [wide.astype(kernel.dtype)]))
            readers = channels
        elif name.startswith('bn'):
            out.append((name, [w[channels] for w in weights]))
        elif name == 'logits':
            kernel, bias = weights
            copies = np.bincount(readers, minlength=kernel.shape[0]).astype(kernel.dtype)
            out.append((name, [kernel[readers] / copies[readers][:, None], bias]))
        elif weights:
            raise ValueError(f'layer {name} has weights widen does not know how to carry')
    return out


def widen_into(source, target, rng: np.random.Generator, noise: float = 0.0) -> None:
    """Set the Keras `target` (network.build, wider) from the trained Keras `source`."""
    layers = [(layer.name, layer.get_weights()) for layer in source.layers]
    widths = {layer.name: layer.filters for layer in target.layers
              if layer.name.startswith('conv')}
    for name, weights in widened_weights(layers, widths, rng, noise):
        target.get_layer(name).set_weights(weights)
