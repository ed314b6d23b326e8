"""Convolutional blocks: im2col against direct convolution, adjoints, finite differences,
the block-local pull-back of xi, and the CNN through the existing training steps."""

import numpy as np
import pytest

from synlearn.hsic.conv import (
    CNN, ConvBlock, PooledReadout, avg_pool, avg_pool_backward, col2im, im2col, make_cnn,
    multiply_adds,
)
from synlearn.hsic.layers import Readout
from synlearn.hsic.objective import gaussian_kernel, global_signal, signal_coefficients
from synlearn.hsic.optim import AdamW
from synlearn.hsic.tasks import Task, make_dataset
from synlearn.hsic.training import (
    BioRule, backprop_gradients, bio_window_step, cross_entropy, train_backprop, train_bio,
)

from .conv_reference import (
    block_twin, conv_input_gradient_twin, conv_twin, conv_weight_gradient_twin, pool_backward_twin,
    pool_twin,
)
from .reference import numeric_gradient


def random_block(rng, c_in, c_out, height, width, **geometry):
    weight = rng.standard_normal((9 * c_in, c_out)) / 3.0
    return ConvBlock(weight, 0.3 * rng.standard_normal(c_out), height, width, **geometry)


def kernel4(block):
    return block.weight.reshape(3, 3, block.in_channels, block.out_channels)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 2), (2, 4, 4, 3)])
def test_im2col_convolution_matches_the_direct_twin(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    kernel, bias = rng.standard_normal((3, 3, shape[3], 4)), rng.standard_normal(4)
    columns = im2col(x)
    assert columns.shape == (np.prod(shape[:3]), 9 * shape[3]) and columns.flags.c_contiguous
    out = (columns @ kernel.reshape(-1, 4) + bias).reshape(*shape[:3], 4)
    np.testing.assert_allclose(out, conv_twin(x, kernel, bias), rtol=1e-12, atol=1e-12)
    # the backward products: dK = columns^T g, dx = col2im(g K^T)
    g = rng.standard_normal((*shape[:3], 4))
    np.testing.assert_allclose((columns.T @ g.reshape(-1, 4)).reshape(kernel.shape),
                               conv_weight_gradient_twin(x, g), rtol=1e-12, atol=1e-12)
    dx = col2im(g.reshape(-1, 4) @ kernel.reshape(-1, 4).T, shape)
    np.testing.assert_allclose(dx, conv_input_gradient_twin(g, kernel), rtol=1e-12, atol=1e-12)


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 2))
    c = rng.standard_normal((24, 18))
    assert np.sum(im2col(x) * c) == pytest.approx(np.sum(x * col2im(c, x.shape)), rel=1e-12)


def test_pool_and_its_backward_match_the_twins():
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((2, 4, 6, 3)), rng.standard_normal((2, 2, 3, 3))
    np.testing.assert_allclose(avg_pool(x), pool_twin(x), rtol=1e-14)
    np.testing.assert_allclose(avg_pool_backward(g), pool_backward_twin(g), rtol=1e-14)
    assert np.sum(avg_pool(x) * g) == pytest.approx(np.sum(x * avg_pool_backward(g)), rel=1e-12)


@pytest.mark.parametrize("pool_input,pool_output", [(False, True), (False, False), (True, False)])
def test_block_forward_matches_the_twin(pool_input, pool_output):
    rng = np.random.default_rng(3)
    block = random_block(rng, 2, 5, 4, 4, pool_input=pool_input, pool_output=pool_output)
    x = rng.standard_normal((3, *block.input_shape))
    z, cache = block.forward(x.reshape(3, -1))
    want = block_twin(x, kernel4(block), block.bias, pool_input, pool_output)
    assert z.shape == (3, np.prod(block.output_shape)) == (3, want[0].size)
    np.testing.assert_allclose(z, want.reshape(3, -1), rtol=1e-10, atol=1e-12)
    assert cache.count == 3 and cache.normed.shape == (3 * 16, 5)


def away_from_kinks(rng, make, inputs_shape, tries=200):
    """A block (``make(rng)``) and inputs whose pre-activations are all >= 0.005 from 0
    (finite differences of step 1e-6 then never cross a ReLU kink)."""
    for _ in range(tries):
        block = make(rng)
        x = rng.standard_normal(inputs_shape)
        images = x.reshape(inputs_shape[0], *block.input_shape)
        if block.pool_input:
            images = pool_twin(images)
        pre = conv_twin(images, kernel4(block), block.bias)
        if np.abs(pre).min() > 0.005:
            return block, x
    raise AssertionError("no block away from the ReLU kink")


@pytest.mark.parametrize("pool_input,pool_output", [(False, True), (True, False)])
def test_block_backward_matches_finite_differences(pool_input, pool_output):
    rng = np.random.default_rng(4)
    shape_in = (2, 4, 4, 2) if not pool_input else (2, 8, 4, 2)
    height, width = (4, 4) if not pool_input else (4, 2)
    block, x = away_from_kinks(
        rng, lambda r: random_block(r, 2, 3, height, width, pool_input=pool_input,
                                    pool_output=pool_output),
        (2, int(np.prod(shape_in[1:]))))
    z, cache = block.forward(x)
    g = rng.standard_normal(z.shape)
    (grad_w, grad_b), grad_x = block.backward(cache, g)

    def loss():
        return float(np.sum(g * block.forward(x)[0]))

    np.testing.assert_allclose(grad_w, numeric_gradient(loss, block.weight), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(grad_b, numeric_gradient(loss, block.bias), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(grad_x, numeric_gradient(loss, x), rtol=1e-5, atol=1e-8)
    # pull_back over every sample is backward's parameter part
    for got, want in zip(block.pull_back(cache, g), (grad_w, grad_b)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_pull_back_of_xi_is_the_gradient_of_the_current_samples_local_loss():
    # The local update of the newest sample: the gradient of <xi, block(x_N)> through the
    # block alone; the other samples of the window do not enter.
    rng = np.random.default_rng(5)
    block, x = away_from_kinks(rng, lambda r: random_block(r, 2, 3, 4, 4), (4, 32))
    z, cache = block.forward(x)
    xi = rng.standard_normal(z.shape[1])
    grad_w, grad_b = block.pull_back(cache, xi[None, :], slice(3, 4))

    def loss():
        return float(xi @ block.forward(x[-1:])[0][0])

    np.testing.assert_allclose(grad_w, numeric_gradient(loss, block.weight), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(grad_b, numeric_gradient(loss, block.bias), rtol=1e-5, atol=1e-8)
    _, alone = block.forward(x[-1:])
    for got, want in zip(block.pull_back(alone, xi[None, :]), (grad_w, grad_b)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="cotangent"):
        block.pull_back(cache, xi[None, :], slice(2, 4))
    with pytest.raises(ValueError, match="contiguous"):
        block.pull_back(cache, xi[None, :], slice(0, 4, 2))


@pytest.mark.parametrize("tap", ["after_pool", "before_pool"])
def test_cnn_backprop_gradients_match_finite_differences(tap):
    rng = np.random.default_rng(6)
    network = make_cnn(np.random.default_rng(7), (3, 4), (4, 4, 2), n_classes=3, tap=tap)
    x = rng.standard_normal((3, 32))
    targets = np.eye(3)[[0, 2, 1]]
    gradients, outputs = backprop_gradients(network, x, targets)
    assert outputs[-1].shape == (3, 3)

    def loss():
        return cross_entropy(network.predict(x), targets)

    for layer, layer_gradients in zip(network.layers, gradients):
        for parameter, gradient in zip(layer.parameters, layer_gradients):
            np.testing.assert_allclose(gradient, numeric_gradient(loss, parameter),
                                       rtol=1e-4, atol=1e-8)


def test_both_taps_compute_the_same_function_and_tap_where_asked():
    rng = np.random.default_rng(8)
    after = make_cnn(np.random.default_rng(9), (3, 4), (8, 8, 3), tap="after_pool")
    before = make_cnn(np.random.default_rng(9), (3, 4), (8, 8, 3), tap="before_pool")
    assert isinstance(before.layers[-1], PooledReadout) and type(after.layers[-1]) is Readout
    assert before.layers[1].pool_input and not before.layers[0].pool_output
    # the image's cotangent is not computed (back-prop discards it)
    assert not after.layers[0].propagate and after.layers[1].propagate
    _, cache = after.layers[0].forward(np.zeros((1, 192)))
    assert after.layers[0].backward(cache, np.ones((1, 48)))[1] is None
    x = rng.standard_normal((5, 192))
    np.testing.assert_allclose(after.predict(x), before.predict(x), rtol=1e-12, atol=1e-12)
    assert after.sizes == (192, 4 * 4 * 3, 2 * 2 * 4, 10)
    assert before.sizes == (192, 8 * 8 * 3, 4 * 4 * 4, 10)
    paper = make_cnn(np.random.default_rng(0))
    assert paper.sizes == (3072, 16 * 16 * 128, 8 * 8 * 256, 10)
    counts = multiply_adds(paper)
    assert counts["forward"] == 32 * 32 * 27 * 128 + 16 * 16 * 1152 * 256 + 16384 * 10
    assert 79e6 < counts["forward"] < 80e6  # "about 80 M multiply-adds" (issue 11)


def test_bio_window_step_takes_the_cnn_and_is_local_to_each_block():
    rng = np.random.default_rng(10)
    network = make_cnn(np.random.default_rng(11), (3, 4), (4, 4, 3), n_classes=2)
    x = rng.standard_normal((6, 48))
    y = np.eye(2)[rng.integers(0, 2, 6)]
    rule = BioRule("exact", 50.0, 1.0, 0.2, 0.5)
    step = bio_window_step(network, x, y, rule)
    outputs, caches = network.forward(x)
    beta = signal_coefficients(gaussian_kernel(x, 1.0), gaussian_kernel(y, 0.2), 50.0, "exact")
    for index, layer in enumerate(network.hidden):
        xi = global_signal(outputs[index], beta, 0.5)  # s_z = 0.5 sqrt(H W C) from the width
        assert xi.shape == (int(np.prod(layer.output_shape)),)
        np.testing.assert_array_equal(step.signals[index], xi)
        for got, want in zip(step.gradients[index],
                             layer.pull_back(caches[index], xi[None, :], slice(5, 6))):
            np.testing.assert_array_equal(got, want)
    changed = network.copy()
    assert isinstance(changed, CNN) and changed.layers[0].height == 4
    changed.layers[1].weight[:] = rng.standard_normal(changed.layers[1].weight.shape)
    again = bio_window_step(changed, x, y, rule)
    for got, want in zip(again.gradients[0], step.gradients[0]):
        np.testing.assert_array_equal(got, want)


def test_the_training_loops_take_the_cnn_unchanged_and_are_deterministic():
    rng = np.random.default_rng(12)
    labels = rng.integers(0, 2, 40)
    inputs = rng.standard_normal((40, 4 * 4 * 3)) + labels[:, None]
    task = Task(make_dataset(inputs[:30], labels[:30], 2), make_dataset(inputs[30:], labels[30:], 2))
    runs = []
    for _ in range(2):
        bio = make_cnn(np.random.default_rng(13), (2, 3), (4, 4, 3), n_classes=2, chunk=7)
        bp = bio.copy()
        runs.append((train_bio(bio, AdamW(1e-3), task, BioRule("release", 50.0, 1.0, 0.2, 0.5),
                               4, 1, np.random.default_rng(14)),
                     train_backprop(bp, AdamW(1e-3), task, 8, 1, np.random.default_rng(15)),
                     bio.parameters[0].copy()))
    for first, second in zip(runs[0][:2], runs[1][:2]):
        np.testing.assert_array_equal(first.train_accuracy, second.train_accuracy)
        np.testing.assert_array_equal(first.test_accuracy, second.test_accuracy)
        assert first.diverged_at == -1
    np.testing.assert_array_equal(runs[0][2], runs[1][2])


def test_blocks_reject_bad_shapes():
    with pytest.raises(TypeError):
        ConvBlock(np.zeros((9, 2), dtype=np.float32), np.zeros(2), 4, 4)
    with pytest.raises(ValueError, match="9 C_in"):
        ConvBlock(np.zeros((8, 2)), np.zeros(2), 4, 4)
    with pytest.raises(ValueError, match="even"):
        ConvBlock(np.zeros((9, 2)), np.zeros(2), 3, 4)
    block = ConvBlock(np.zeros((9, 2)), np.zeros(2), 4, 4)
    with pytest.raises(ValueError, match="NHWC"):
        block.forward(np.zeros((2, 15)))
    with pytest.raises(ValueError, match="tap"):
        make_cnn(np.random.default_rng(0), tap="middle")
    with pytest.raises(ValueError, match="divisible"):
        make_cnn(np.random.default_rng(0), (2, 2), (6, 6, 3))


@pytest.mark.parametrize("pool_input", [False, True])
def test_both_input_cotangent_paths_agree(monkeypatch, pool_input):
    # col2im (C_in >= COL2IM_MIN_CHANNELS) and the transposed convolution (fewer channels)
    from synlearn.hsic import conv

    rng = np.random.default_rng(16)
    block = random_block(rng, 3, 4, 4, 6, pool_input=pool_input, pool_output=not pool_input)
    x = rng.standard_normal((2, int(np.prod(block.input_shape))))
    z, cache = block.forward(x)
    g = rng.standard_normal(z.shape)
    results = []
    for threshold in (1, 1000):
        monkeypatch.setattr(conv, "COL2IM_MIN_CHANNELS", threshold)
        results.append(block.backward(cache, g)[1])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-13)
    images = pool_twin(x.reshape(2, *block.input_shape)) if pool_input else None
    assert images is None or images.shape == (2, 4, 6, 3)
