"""The HSIC rule learns the small tasks; the loops are deterministic per seed."""

import numpy as np
import pytest

from synlearn.hsic.layers import make_mlp
from synlearn.hsic.optim import SGD, AdamW
from synlearn.hsic.tasks import linear_task, xor_task
from synlearn.hsic.training import BioRule, evaluate, train_backprop, train_bio

# The paper's linear-task settings: 2-4-2, window 64, gamma 10, sigmas 0.5 / 0.25 / 1.
# AdamW at the paper's lr 1e-4 needs ~10 epochs (test accuracy 0.87-0.95 over 3 seeds);
# lr 1e-2 gets there in one or two.
LR = 1e-2


@pytest.mark.parametrize("variant", ["release", "revised", "exact"])
def test_bio_rule_learns_the_linear_task(variant):
    task = linear_task(np.random.default_rng(0))
    network = make_mlp((2, 4, 2), np.random.default_rng(1))
    history = train_bio(network, AdamW(LR), task, BioRule(variant, 10.0, 0.5, 0.25, 1.0), 64, 3,
                        np.random.default_rng(2))
    assert history.train_accuracy.shape == history.test_accuracy.shape == (4,)
    assert history.test_accuracy[-1] > 0.85
    assert history.train_accuracy[-1] > 0.85
    assert history.test_accuracy[-1] == evaluate(network, task.test)


def test_exact_bio_rule_learns_xor():
    # XOR needs hidden features: training the readout alone reaches 0.6-0.96 (3 seeds).
    # Over seeds 0-9 the exact rule scores >= 0.98 after 5 epochs, 9 of 10 after one.
    rng = np.random.default_rng(0)
    task = xor_task(rng)
    network = make_mlp((2, 10, 4, 2), rng)
    history = train_bio(network, AdamW(LR), task, BioRule("exact"), 64, 2,
                        np.random.default_rng(100))
    assert history.test_accuracy[0] < 0.6
    assert history.test_accuracy[-1] > 0.95


def test_history_starts_with_the_untrained_model():
    task = linear_task(np.random.default_rng(3))
    network = make_mlp((2, 4, 2), np.random.default_rng(4))
    untrained = network.copy()
    history = train_bio(network, SGD(0.1), task, BioRule(), 100, 1, np.random.default_rng(5))
    assert history.train_accuracy[0] == evaluate(untrained, task.train)
    assert history.test_accuracy[0] == evaluate(untrained, task.test)
    assert not np.array_equal(network.layers[0].weight, untrained.layers[0].weight)
    empty = train_backprop(untrained.copy(), SGD(0.1), task, 10, 0, np.random.default_rng(5))
    assert empty.test_accuracy.shape == (1,)


@pytest.mark.parametrize("loop", ["bio", "backprop"])
def test_training_is_deterministic_per_seed(loop):
    def run(seed):
        rng = np.random.default_rng(seed)
        task = xor_task(rng)
        network = make_mlp((2, 6, 3, 2), rng)
        if loop == "bio":
            history = train_bio(network, AdamW(LR), task, BioRule("revised"), 16, 1, rng)
        else:
            history = train_backprop(network, AdamW(LR), task, 32, 2, rng)
        return history, network.parameters

    first, again, other = run(7), run(7), run(8)
    for a, b in zip(first[0] + first[1], again[0] + again[1]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1][0], other[1][0])


def test_loops_check_their_arguments():
    task = linear_task(np.random.default_rng(0))
    network = make_mlp((2, 4, 2), np.random.default_rng(0))
    with pytest.raises(ValueError, match="window"):
        train_bio(network, SGD(0.1), task, BioRule(), 1, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="variant"):
        train_bio(network, SGD(0.1), task, BioRule("paper"), 8, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size"):
        train_backprop(network, SGD(0.1), task, 0, 1, np.random.default_rng(0))
