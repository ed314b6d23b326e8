"""The novelty maze: the walker, the rates, the replaced rooms, and online training."""

import numpy as np
import pytest

from synlearn.core.datasets import load_digits
from synlearn.core.errors import ConfigError
from synlearn.spiking import learning, maze, model, online, stairs


def test_the_walker_moves_only_to_neighbours():
    rooms = maze.walk(np.random.default_rng(0), 5000, 0, 0.5)
    steps = np.flatnonzero(np.diff(rooms))
    assert 0.4 < steps.size / 4999 < 0.6  # leaves after half the batches
    for b in steps:
        row, col = divmod(rooms[b], 4)
        row2, col2 = divmod(rooms[b + 1], 4)
        assert abs(row - row2) + abs(col - col2) == 1  # one wall, no diagonal
    assert set(rooms) == set(range(16))
    assert maze.neighbours(0) == [1, 4] and maze.neighbours(5) == [1, 4, 6, 9]
    np.testing.assert_array_equal(rooms, maze.walk(np.random.default_rng(0), 5000, 0, 0.5))


def test_rates_are_linear_in_pixel_intensity():
    images = np.array([[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(maze.room_rates(images, 0.01, 9.0), [[0.01, 4.505, 9.0]])
    with pytest.raises(ConfigError, match="low_hz < high_hz"):
        maze.room_rates(images, 9.0, 1.0)
    rates = np.array([[0.01, 9.0]])
    spikes = maze.visible_batches(np.random.default_rng(1), np.zeros(2000, int), rates, 200)
    measured = spikes.mean(axis=(0, 1)) / 1e-3
    assert measured[0] < 0.1 and measured[1] == pytest.approx(9.0, rel=0.05)


def test_replaced_rooms_differ_only_where_said():
    digits = load_digits()
    flat = digits.images.reshape(len(digits.labels), -1)
    layout = maze.make_layout(np.random.default_rng(2), digits.labels, (5, 10, 15),
                              intensity=flat.sum(axis=1))
    differs = layout.target != layout.control
    np.testing.assert_array_equal(np.flatnonzero(differs), [5, 10, 15])
    np.testing.assert_array_equal(layout.replaced, differs)
    for room in (5, 10, 15):  # another digit, of about the same total intensity
        assert digits.labels[layout.control[room]] != digits.labels[layout.target[room]]
        assert abs(flat[layout.control[room]].sum() - flat[layout.target[room]].sum()) < 3
    assert len(set(layout.control)) == 16  # no image twice
    with pytest.raises(ConfigError, match=r"replaced_rooms\[1\]: room 16 does not exist"):
        maze.make_layout(np.random.default_rng(2), digits.labels, (5, 16))


def test_online_training_equals_train_and_carries_the_baseline():
    params = model.make_params()
    weights = model.init_weights(6, 4, np.random.default_rng(3), params=params)
    data = stairs.make_stairs(np.random.default_rng(4), 50, 40, block_size=2).raster
    reference = learning.train(weights, params, data, np.random.default_rng(5))
    trained, rng = weights.copy(), np.random.default_rng(5)
    first = online.train_online(trained, params, model.make_rule(), data[:15], rng)
    second = online.train_online(trained, params, model.make_rule(), data[15:], rng, first.f_bar)
    np.testing.assert_array_equal(np.r_[first.free_energy, second.free_energy],
                                  reference.free_energy)
    np.testing.assert_array_equal(np.r_[first.baseline, second.baseline], reference.baseline)
    for a, b in zip(trained, reference.weights):
        np.testing.assert_array_equal(a, b)
    assert np.all(first.dw_M > 0) and np.all(first.dw_Q >= 0)
    frozen = online.train_online(weights.copy(), params, model.make_rule(0.0, 0.0), data[:3],
                                 np.random.default_rng(5))
    assert np.all(frozen.dw_M == 0) and np.all(frozen.dw_Q == 0)
