"""Plain-NumPy twins of the HSIC kernels (``synlearn.hsic.kernels``).

Each twin is written from the equations with whole-array NumPy operations (explicit
centering matrix, explicit pairwise differences). The kernels must agree with them.
"""

from __future__ import annotations

import numpy as np

from synlearn.hsic.kernels import EXACT, RELEASE


def gaussian_kernel_twin(samples, scale):
    """``K_ij = exp(-|a_i - a_j|^2 / (2 scale^2))`` from explicit pairwise differences."""
    diff = samples[:, None, :] - samples[None, :, :]
    return np.exp(-np.sum(diff * diff, axis=2) / (2.0 * scale * scale))


def signal_coefficients_twin(kx, ky, gamma, variant):
    """``beta`` of ``xi = sum_j beta_j alpha_j``, from the definitions."""
    n = kx.shape[0]
    norm = 1.0 / (n - 1.0) ** 2
    if variant == EXACT:
        h = np.eye(n) - np.ones((n, n)) / n
        m = h @ (kx - gamma * ky) @ h
        beta = -m[-1] * norm
    else:
        c = (np.diag(kx) - kx.mean(axis=1)) - gamma * (np.diag(ky) - ky.mean(axis=1))
        if variant == RELEASE:
            beta = np.full(n, c[-1] / n * norm)
        else:
            beta = (c + c[-1]) / n * norm
    beta[-1] = 0.0
    return beta


def global_signal_twin(z, beta, scale):
    """``sum_{j<N} beta_j (2 / scale^2) k(z_N, z_j) (z_N - z_j)``."""
    diff = z[-1] - z
    k = np.exp(-np.sum(diff * diff, axis=1) / (2.0 * scale * scale))
    weights = beta * (2.0 / scale ** 2) * k
    weights[-1] = 0.0
    return weights @ diff


def adamw_twin(param, grad, first, second, lr, beta1, beta2, eps, weight_decay,
               correction1, correction2):
    """One AdamW step, in place, as ``synlearn.hsic.kernels.adamw_step``."""
    first *= beta1
    first += (1.0 - beta1) * grad
    second *= beta2
    second += (1.0 - beta2) * (grad * grad)
    update = (first * (1.0 / correction1)) / (np.sqrt(second * (1.0 / correction2)) + eps)
    param -= lr * (update + weight_decay * param)


def bias_relu_layer_norm_twin(pre, bias, eps):
    """``LN(ReLU(pre + bias))`` row-wise; returns (outputs, active, inv_std)."""
    shifted = pre + bias
    active = shifted > 0
    rectified = np.maximum(shifted, 0.0)
    centred = rectified - rectified.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.var(rectified, axis=1) + eps)
    return centred * inv_std[:, None], active, inv_std


def relu_layer_norm_pull_back_twin(outputs, inv_std, active, cotangent):
    """``ReLU'(pre) (g - mean(g) - z mean(g z)) inv_std`` row-wise."""
    g = cotangent
    delta = (g - g.mean(axis=1, keepdims=True)
             - outputs * np.mean(g * outputs, axis=1, keepdims=True))
    return delta * inv_std[:, None] * active


# --- leaky-integrator and spiking networks (synlearn.hsic.leaky) -------------------------
#
# Per-layer lists of arrays instead of the kernels' flat blocks. ``spiking`` is None for
# leaky-integrator layers or ``(threshold, filter_rate, dt, slope)``.


def softmax_twin(logits):
    """Row-wise ``exp(o - max) / sum exp(o - max)``."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def leaky_step_twin(weights, biases, membrane, trace, inputs, rate, spiking=None, eps=1e-6):
    """One Euler step of every layer; ``membrane`` and ``trace`` (lists) are replaced.

    Returns per layer (outputs, ReLU masks, inv_std, membrane before the reset); the
    last two are None where they do not apply.
    """
    outputs, masks, inv_stds, potentials = [], [], [], []
    x = inputs
    depth = len(weights)
    for l in range(depth):
        drive = x @ weights[l] + biases[l]
        potential = membrane[l] + rate * (drive - membrane[l])
        hidden = l < depth - 1
        if spiking is not None and hidden:
            threshold, filter_rate, dt, _ = spiking
            fired = potential >= threshold
            membrane[l] = np.where(fired, 0.0, potential)
            trace[l] = trace[l] + filter_rate * (fired / dt - trace[l])
            z, _, inv_std = bias_relu_layer_norm_twin(trace[l], 0.0, eps)
            mask = np.ones(z.shape, dtype=bool)
            potentials.append(potential)
        else:
            membrane[l] = potential
            potentials.append(None)
            if hidden:
                z, mask, inv_std = bias_relu_layer_norm_twin(potential, 0.0, eps)
            else:
                z, mask, inv_std = potential.copy(), None, None
        outputs.append(z)
        masks.append(mask)
        inv_stds.append(inv_std)
        x = z
    return outputs, masks, inv_stds, potentials


def leaky_gradients_twin(inputs, targets, step, beta, sigma_z, rate, spiking=None):
    """Per layer ``(dW, db)`` of one time step, and every hidden layer's xi.

    Hidden: xi of the last row pulled back through LN (and ReLU), times ``rate`` (and,
    spiking, ``filter_rate / dt`` times the surrogate at the membrane before the reset);
    readout: ``rate (softmax - y) / n`` over every row.
    """
    outputs, masks, inv_stds, potentials = step
    gradients, signals = [], []
    x = inputs
    for l, z in enumerate(outputs):
        if l < len(outputs) - 1:
            xi = global_signal_twin(z, beta, sigma_z * np.sqrt(z.shape[1]))
            signals.append(xi)
            delta = relu_layer_norm_pull_back_twin(z[-1:], inv_stds[l][-1:], masks[l][-1:],
                                                   xi[None, :])[0] * rate
            if spiking is not None:
                threshold, filter_rate, dt, slope = spiking
                delta = delta * (filter_rate / dt) / (
                    1.0 + slope * np.abs(potentials[l][-1] - threshold)) ** 2
            gradients.append((np.outer(x[-1], delta), delta))
        else:
            g = rate * (softmax_twin(z) - targets) / z.shape[0]
            gradients.append((x.T @ g, g.sum(axis=0)))
        x = z
    return gradients, signals


def leaky_run_twin(weights, biases, membrane, trace, inputs, steps, readout_steps, rate,
                   spiking=None):
    """``steps`` steps; the logits averaged over the last ``readout_steps``."""
    total = np.zeros((inputs.shape[0], weights[-1].shape[1]))
    for t in range(steps):
        outputs = leaky_step_twin(weights, biases, membrane, trace, inputs, rate, spiking)[0]
        if t >= steps - readout_steps:
            total += outputs[-1]
    return total / readout_steps


def optimizer_twin(kind, lr, parameters, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=1e-4):
    """An update ``step(gradients)`` over ``parameters`` (flat list) in place: AdamW as
    ``adamw_twin`` with its step count, or SGD."""
    first = [np.zeros_like(p) for p in parameters]
    second = [np.zeros_like(p) for p in parameters]
    count = [0]

    def step(gradients):
        count[0] += 1
        for p, g, m, v in zip(parameters, gradients, first, second):
            if kind == "adamw":
                adamw_twin(p, g, m, v, lr, beta1, beta2, eps, weight_decay,
                           1.0 - beta1 ** count[0], 1.0 - beta2 ** count[0])
            else:
                p -= lr * g

    return step


def leaky_stream_twin(weights, biases, membrane, trace, inputs, targets, labels, window, steps,
                      readout_steps, rate, rule, step_parameters, spiking=None):
    """One epoch of the HSIC rule on a stream, every time step followed by
    ``step_parameters(flat gradients)``; returns the mean window accuracy.

    ``rule = (gamma, variant code, sigma_x, sigma_y, sigma_z)``. The window's kernels are
    computed afresh; the state lists carry on from window to window; each window's
    accuracy is a run of ``steps`` from a copy of the state.
    """
    gamma, variant, sigma_x, sigma_y, sigma_z = rule
    total = 0.0
    starts = range(labels.size - window + 1)
    for start in starts:
        x, y = inputs[start:start + window], targets[start:start + window]
        beta = signal_coefficients_twin(
            gaussian_kernel_twin(x, sigma_x * np.sqrt(x.shape[1])),
            gaussian_kernel_twin(y, sigma_y * np.sqrt(y.shape[1])), gamma, variant)
        for _ in range(steps):
            step = leaky_step_twin(weights, biases, membrane, trace, x, rate, spiking)
            gradients, _ = leaky_gradients_twin(x, y, step, beta, sigma_z, rate, spiking)
            step_parameters([g for pair in gradients for g in pair])
        logits = leaky_run_twin(weights, biases, [m.copy() for m in membrane],
                                [r.copy() for r in trace], x, steps, readout_steps, rate,
                                spiking)
        total += np.mean(np.argmax(logits, axis=1) == labels[start:start + window])
    return total / len(starts)


# -- the working-memory reservoir (synlearn.hsic.memory) ---------------------------------


def memory_sample_twin(dense_w, gain, w_fb, drive, w_out, u, target, leak, learning_rate,
                       learn, first_scored, n_steps):
    """One sample held for ``n_steps`` Euler steps, from the equations with dense arrays.

    ``z = W_o^T r``; LMS ``W_o <- W_o - lr r (z - target)^T``; then
    ``u <- u + leak (-u + g W r + drive + W_fb z)``, ``r = tanh(u)``. Returns
    ``(outputs, predictions, scored_rates, u, w_out)``, the inputs left unchanged.
    """
    u, w_out = u.copy(), w_out.copy()
    w_start = w_out.copy()
    outputs = np.empty((n_steps, w_out.shape[1]))
    predictions = np.full_like(outputs, np.nan)
    rate_sum = np.zeros(u.shape)
    for step in range(n_steps):
        r = np.tanh(u)
        z = w_out.T @ r
        outputs[step] = z
        if step >= first_scored:
            predictions[step] = w_start.T @ r
            rate_sum += r
        if learn:
            w_out -= learning_rate * np.outer(r, z - target)
        u = u + leak * (-u + gain * (dense_w @ r) + drive + w_fb @ z)
    return outputs, predictions, rate_sum / (n_steps - first_scored), u, w_out


def lms_twin(w, features, target, learning_rate, learn, n_steps):
    """The memoryless control on one sample: ``z = w^T v`` then LMS, ``n_steps`` times.
    Returns ``(outputs, w)``."""
    w = w.copy()
    outputs = np.empty((n_steps, w.shape[1]))
    for step in range(n_steps):
        outputs[step] = w.T @ features
        if learn:
            w -= learning_rate * np.outer(features, outputs[step] - target)
    return outputs, w


def numeric_gradient(loss, array, step=1e-6):
    """Central differences of ``loss()`` with respect to every entry of ``array``
    (changed in place and restored)."""
    grad = np.empty_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + step
        up = loss()
        flat[i] = keep - step
        down = loss()
        flat[i] = keep
        out[i] = (up - down) / (2 * step)
    return grad
