"""Layers, local pull-backs and back-prop against finite differences."""

import math

import numpy as np
import pytest

from synlearn.hsic import kernels
from synlearn.hsic.layers import (LAYER_NORM_EPS, MLP, Dense, Readout, make_mlp,
                                  truncated_lecun_normal)
from synlearn.hsic.objective import gaussian_kernel, global_signal, signal_coefficients
from synlearn.hsic.training import BioRule, backprop_gradients, bio_window_step, cross_entropy

from .reference import bias_relu_layer_norm_twin, numeric_gradient, relu_layer_norm_pull_back_twin

def layer_norm_relu(x, w, b):
    """``LN(ReLU(x W + b))`` for one sample, written out."""
    a = np.maximum(x @ w + b, 0.0)
    return (a - a.mean()) / math.sqrt(np.var(a) + LAYER_NORM_EPS)


def away_from_kinks(rng, n, fan_in, fan_out):
    """A Dense layer and inputs whose pre-activations are all at least 0.05 from zero."""
    while True:
        w = rng.standard_normal((fan_in, fan_out))
        b = rng.standard_normal(fan_out)
        x = rng.standard_normal((n, fan_in))
        pre = x @ w + b
        if np.abs(pre).min() > 0.05 and (pre > 0).sum(axis=1).min() >= 2:
            return Dense(w, b), x


def test_truncated_lecun_normal_has_variance_one_over_fan_in():
    fan_in, fan_out = 400, 500
    w = truncated_lecun_normal(np.random.default_rng(0), fan_in, fan_out)
    assert w.shape == (fan_in, fan_out) and w.dtype == np.float64
    assert np.var(w) * fan_in == pytest.approx(1.0, rel=0.01)
    assert abs(np.mean(w)) < 1e-3
    assert np.abs(w).max() <= 2.0 / (0.87962566103423978 * math.sqrt(fan_in)) * (1 + 1e-12)
    network = make_mlp((3, 5, 2), np.random.default_rng(1))
    assert isinstance(network.layers[0], Dense) and isinstance(network.layers[1], Readout)
    assert all(np.array_equal(layer.bias, np.zeros_like(layer.bias)) for layer in network.layers)
    assert network.sizes == (3, 5, 2)


def test_dense_forward_is_layer_norm_of_relu():
    rng = np.random.default_rng(2)
    layer, x = away_from_kinks(rng, 6, 4, 7)
    z, cache = layer.forward(x)
    expected = np.array([layer_norm_relu(row, layer.weight, layer.bias) for row in x])
    np.testing.assert_allclose(z, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-14)
    assert cache.outputs is z and cache.inputs is x


def test_dense_pull_back_is_the_gradient_of_its_local_loss():
    # The local update for the newest sample: the gradient of <xi, LN(ReLU(x_N W + b))>.
    rng = np.random.default_rng(3)
    layer, x = away_from_kinks(rng, 5, 3, 6)
    xi = rng.standard_normal(6)
    _, cache = layer.forward(x)
    grad_w, grad_b = layer.pull_back(cache, xi[None, :], slice(4, 5))

    def loss():
        return xi @ layer_norm_relu(x[-1], layer.weight, layer.bias)

    np.testing.assert_allclose(grad_w, numeric_gradient(loss, layer.weight), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad_b, numeric_gradient(loss, layer.bias), rtol=1e-6, atol=1e-9)
    # the outer product of the layer's input and the pulled-back vector
    np.testing.assert_allclose(grad_w, np.outer(x[-1], grad_b), rtol=1e-14)
    # the other samples of the window do not enter
    _, alone = layer.forward(x[-1:])
    alone_w, alone_b = layer.pull_back(alone, xi[None, :])
    np.testing.assert_allclose(alone_w, grad_w, rtol=1e-14)
    np.testing.assert_allclose(alone_b, grad_b, rtol=1e-14)


def test_readout_pull_back_is_the_gradient_of_its_local_loss():
    rng = np.random.default_rng(4)
    layer = Readout(rng.standard_normal((4, 3)), rng.standard_normal(3))
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    _, cache = layer.forward(x)
    grad_w, grad_b = layer.pull_back(cache, g)

    def loss():
        return np.sum(g * layer.forward(x)[0])

    np.testing.assert_allclose(grad_w, numeric_gradient(loss, layer.weight), rtol=1e-7)
    np.testing.assert_allclose(grad_b, numeric_gradient(loss, layer.bias), rtol=1e-7)


def test_backprop_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    dense1, x = away_from_kinks(rng, 6, 3, 5)
    # a second hidden layer whose pre-activations on these inputs avoid the kink too
    while True:
        dense2 = Dense(rng.standard_normal((5, 4)), rng.standard_normal(4))
        pre = dense1.forward(x)[0] @ dense2.weight + dense2.bias
        if np.abs(pre).min() > 0.05 and (pre > 0).sum(axis=1).min() >= 2:
            break
    network = MLP((dense1, dense2, Readout(rng.standard_normal((4, 3)), rng.standard_normal(3))))
    targets = np.eye(3)[rng.integers(0, 3, 6)]
    gradients, outputs = backprop_gradients(network, x, targets)
    assert len(outputs) == 3 and outputs[-1].shape == (6, 3)

    def loss():
        return cross_entropy(network.predict(x), targets)

    for layer, layer_gradients in zip(network.layers, gradients):
        for parameter, gradient in zip(layer.parameters, layer_gradients):
            np.testing.assert_allclose(gradient, numeric_gradient(loss, parameter),
                                       rtol=1e-5, atol=1e-9)


def test_bio_step_is_local_to_each_layer():
    rng = np.random.default_rng(6)
    network = make_mlp((3, 6, 5, 2), rng)
    x = rng.standard_normal((8, 3))
    y = np.eye(2)[rng.integers(0, 2, 8)]
    rule = BioRule("exact", 4.0, 0.5, 0.25, 1.0)
    step = bio_window_step(network, x, y, rule)
    outputs, caches = network.forward(x)
    beta = signal_coefficients(gaussian_kernel(x, 0.5), gaussian_kernel(y, 0.25), 4.0, "exact")
    for index, layer in enumerate(network.hidden):
        xi = global_signal(outputs[index], beta, 1.0)
        np.testing.assert_array_equal(step.signals[index], xi)
        expected = layer.pull_back(caches[index], xi[None, :], slice(7, 8))
        for got, want in zip(step.gradients[index], expected):
            np.testing.assert_array_equal(got, want)
    # the readout: the window's mean cross-entropy, through the readout only
    probs = np.exp(outputs[-1]) / np.exp(outputs[-1]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(step.gradients[-1][0], outputs[-2].T @ (probs - y) / 8, rtol=1e-12)
    # no error crosses layers: changing the layers above leaves a layer's update alone
    changed = network.copy()
    changed.layers[1].weight[:] = rng.standard_normal(changed.layers[1].weight.shape)
    changed.layers[2].weight[:] = rng.standard_normal(changed.layers[2].weight.shape)
    again = bio_window_step(changed, x, y, rule)
    for got, want in zip(again.gradients[0], step.gradients[0]):
        np.testing.assert_array_equal(got, want)


def test_layers_reject_wrong_dtypes():
    with pytest.raises(TypeError):
        Dense(np.zeros((2, 3), dtype=np.float32), np.zeros(3))
    with pytest.raises(ValueError):
        Readout(np.zeros((2, 3)), np.zeros(2))


@pytest.mark.parametrize("n,dim", [(1, 1), (3, 7), (8, 128)])
def test_layer_kernels_match_their_numpy_twins(n, dim):
    rng = np.random.default_rng(n * dim)
    pre, bias = rng.standard_normal((n, dim)), rng.standard_normal(dim)
    outputs, active, inv_std = pre.copy(), np.empty((n, dim), dtype=bool), np.empty(n)
    kernels.bias_relu_layer_norm(outputs, bias, LAYER_NORM_EPS, active, inv_std)
    want = bias_relu_layer_norm_twin(pre, bias, LAYER_NORM_EPS)
    np.testing.assert_allclose(outputs, want[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(active, want[1])
    np.testing.assert_allclose(inv_std, want[2], rtol=1e-12)
    g = rng.standard_normal((n, dim))
    delta = np.empty((n, dim))
    kernels.relu_layer_norm_pull_back(outputs, inv_std, active, g, delta)
    np.testing.assert_allclose(delta, relu_layer_norm_pull_back_twin(outputs, inv_std, active, g),
                               rtol=1e-11, atol=1e-13)
    out = np.empty((n, dim))
    kernels.outer(pre[:, 0].copy(), bias, out)
    np.testing.assert_array_equal(out, np.outer(pre[:, 0], bias))


def test_pull_back_checks_the_cotangent_shape():
    layer = make_mlp((3, 4, 2), np.random.default_rng(0)).layers[0]
    _, cache = layer.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="cotangent"):
        layer.pull_back(cache, np.ones((2, 4)), slice(4, 5))
