"""AdamW and SGD against hand-written references."""

import math

import numpy as np

from synlearn.hsic import kernels
from synlearn.hsic.optim import SGD, AdamW

from .reference import adamw_twin


def test_adamw_two_steps_against_a_hand_written_reference():
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.99, 1e-8, 1e-4
    weight = np.array([[1.0, -2.0], [0.5, 3.0]])
    bias = np.array([0.25, -0.75])
    g1 = (np.array([[0.1, -0.2], [0.3, 0.0]]), np.array([1.0, -1.0]))
    g2 = (np.array([[-0.4, 0.5], [0.2, 0.1]]), np.array([0.5, 2.0]))
    expected = []
    for p, first, second in zip((weight, bias), (g1[0], g1[1]), (g2[0], g2[1])):
        p = p.copy()
        # step 1: m = 0.1 g, v = 0.01 g^2, m_hat = g, v_hat = g^2
        m, v = 0.1 * first, 0.01 * first ** 2
        p = p - lr * ((m / 0.1) / (np.sqrt(v / 0.01) + eps) + wd * p)
        # step 2
        m, v = 0.9 * m + 0.1 * second, 0.99 * v + 0.01 * second ** 2
        p = p - lr * ((m / (1 - 0.9 ** 2)) / (np.sqrt(v / (1 - 0.99 ** 2)) + eps) + wd * p)
        expected.append(p)
    # step 1 moves every nonzero-gradient entry by lr (sign) plus the decay
    step1 = weight - lr * (np.sign(g1[0]) + wd * weight)
    parameters = (weight.copy(), bias.copy())
    optimizer = AdamW(lr, b1, b2, eps, wd)
    state = optimizer.init(parameters)
    state = optimizer.step(parameters, g1, state)
    np.testing.assert_allclose(parameters[0], step1, rtol=1e-6)  # eps is not zero
    state = optimizer.step(parameters, g2, state)
    assert state.count == 2
    for got, want in zip(parameters, expected):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    # decoupled weight decay on every parameter, biases too: from fresh moments a zero
    # gradient moves nothing but the decay
    fresh = (weight.copy(), bias.copy())
    optimizer.step(fresh, (np.zeros((2, 2)), np.zeros(2)), optimizer.init(fresh))
    np.testing.assert_array_equal(fresh[1], bias - lr * wd * bias)
    np.testing.assert_array_equal(fresh[0], weight - lr * wd * weight)

def test_adamw_kernel_matches_its_numpy_twin():
    rng = np.random.default_rng(0)
    n = 1001
    arrays = [rng.standard_normal(n) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])
    twin = [a.copy() for a in arrays]
    args = (3e-3, 0.9, 0.99, 1e-8, 1e-4, 1 - 0.9 ** 5, 1 - 0.99 ** 5)
    kernels.adamw_step(*arrays, *args)
    adamw_twin(*twin, *args)
    for got, want in zip(arrays, twin):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_sgd_step():
    p = (np.array([1.0, 2.0]), np.array([[3.0]]))
    optimizer = SGD(0.5)
    state = optimizer.step(p, (np.array([2.0, -2.0]), np.array([[1.0]])), optimizer.init(p))
    assert state.count == 1
    np.testing.assert_array_equal(p[0], [0.0, 3.0])
    np.testing.assert_array_equal(p[1], [[2.5]])
    assert math.isclose(p[1][0, 0], 2.5)
