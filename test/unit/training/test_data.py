"""The training data's pieces that decide what a teacher learns from and is judged on."""

import json

import numpy as np
import pytest

from emotion_perception.training.data import FaceSet, five_windows, random_windows
from emotion_perception.training.loop import Recipe
from emotion_perception.training.network import NetworkConfig


def _faces(count: int) -> FaceSet:
    images = np.arange(count * 48 * 48, dtype=np.uint32).reshape(count, 48, 48) % 251
    names = tuple(f'Training_{i:08d}.jpg' for i in range(count))
    return FaceSet(images.astype(np.uint8), np.arange(count) % 7, names, names)


def test_the_held_out_slice_is_fixed_by_file_name_and_disjoint():
    faces = _faces(2000)
    rest, held = faces.split(10)
    assert len(rest) + len(held) == 2000 and 150 < len(held) < 250
    assert not set(rest.names) & set(held.names)
    shuffled = FaceSet(faces.images[::-1], faces.labels[::-1], faces.digests[::-1],
                       faces.names[::-1])
    assert set(shuffled.split(10)[1].names) == set(held.names)  # order does not matter
    assert set(faces.split(20)[1].names) > set(held.names)  # a larger slice holds it


def test_ten_crop_views_are_the_corners_and_the_centre():
    images = _faces(3).images
    windows = five_windows(images, 40)
    assert len(windows) == 5 and all(w.shape == (3, 40, 40) for w in windows)
    np.testing.assert_array_equal(windows[0], images[:, :40, :40])
    np.testing.assert_array_equal(windows[3], images[:, 8:, 8:])
    np.testing.assert_array_equal(windows[-1], images[:, 4:44, 4:44])


def test_random_windows_stay_inside_the_face():
    images = _faces(50).images
    windows = random_windows(images, 40, np.random.default_rng(0))
    assert windows.shape == (50, 40, 40)
    for image, window in zip(images, windows):
        found = [(y, x) for y in range(9) for x in range(9)
                 if np.array_equal(image[y:y + 40, x:x + 40], window)]
        assert found


def test_a_recipe_and_its_network_survive_a_checkpoint_and_old_ones_still_read():
    recipe = Recipe(network=NetworkConfig(widths=(64, 128, 256, 512), crop=40, dropout=0.2),
                    weight_decay_in_gradient=True, keep_optimizer=False, label_smoothing=0.0)
    assert Recipe.from_json(json.loads(json.dumps(recipe.to_json()))) == recipe
    old = {'input_size': 48, 'widths': [16, 32, 96, 192], 'dropout': 0.4}
    assert NetworkConfig.from_json(old).crop == 0 and NetworkConfig.from_json(old).side == 48
    with pytest.raises(ValueError, match='crop 50 must be between 0 and the face size 48'):
        NetworkConfig(crop=50)
