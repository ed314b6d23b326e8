"""Numba kernels of the HSIC rule: the window kernels, the layer's elementwise passes and
the fused AdamW step.

The window of Daruwalla & Lipasti (2024) is short (B = 8 to 64 samples), so a window
step is a few dozen small array operations; done one NumPy call at a time, their call
overhead and temporaries, not their arithmetic, set the cost. Each kernel here does one
group in one pass. Measured single-threaded at B = 8 (784-128-64-10), Numba against
the NumPy twins: both kernel matrices from their Gram matrices plus the signal weights
1.2 us against 19 us; the global signal of a 128-unit layer 1.2 against 7.6 us; bias +
ReLU + LayerNorm of 8 x 128 2.2 against 20 us, its pull-back for one sample 1.0
against 12 us; the rank-one 784 x 128 weight gradient 11 us against 56 us for
``np.outer`` and 116 us for a k = 1 matmul; AdamW over the 109k parameters 99 us
against 1150 us.

The matrix products stay in NumPy/BLAS: the Gram matrices ``A A^T`` of the kernels
(a direct loop over the 784 pixel differences was slower at B = 8), a layer's forward
product and the weight gradient of several samples.

Array arguments are C-contiguous float64 (the ReLU masks bool) and scalars Python
floats or ints, so that each kernel compiles once. The plain-NumPy twins are in
``tests/hsic/reference.py``; the public entry points, with the equations, are in
``synlearn.hsic.objective``, ``synlearn.hsic.layers`` and ``synlearn.hsic.optim``.

Conventions (``objective`` derives them): the window's rows are its samples, the last
row is the current sample N = B; the global signal is
``xi = sum_{j} beta_j alpha_j`` with ``alpha_j = (2 / s_z^2) k_z(z_N, z_j) (z_N - z_j)``,
and ``beta`` holds every factor that depends on the inputs and labels only, so it is
computed once per window and shared by all layers.

References
----------
Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348 (Methods: the HSIC estimate, the layer-wise IB objective and the global
signal of the three-factor update; equation numbers are not quoted here).
"""

from __future__ import annotations

import math

from ..core.jit import njit
from ..core.rate import recurrent_input, tanh

RELEASE = 0
REVISED = 1
EXACT = 2
VARIANT_CODES = {"release": RELEASE, "revised": REVISED, "exact": EXACT}


@njit
def gaussian_from_gram(gram, scale, out):
    """``out[i, j] = exp(-(G_ii + G_jj - 2 G_ij) / (2 scale^2))`` from the Gram matrix G.

    The squared distances come from the BLAS Gram matrix ``G = A A^T`` (computed by the
    caller), clipped at zero against rounding; the lower triangle is mirrored, so the
    result is exactly symmetric with an exact unit diagonal.
    """
    n = gram.shape[0]
    factor = -0.5 / (scale * scale)
    for i in range(n):
        out[i, i] = 1.0
        for j in range(i):
            squared = gram[i, i] + gram[j, j] - 2.0 * gram[i, j]
            if squared < 0.0:
                squared = 0.0
            value = math.exp(factor * squared)
            out[i, j] = value
            out[j, i] = value


@njit
def signal_coefficients(kx, ky, gamma, variant, out):
    """The per-sample weights ``beta_j`` of the global signal, from the x and y kernels.

    With ``N = B`` the window length, ``c_i = kbar^x_ii - gamma kbar^y_ii`` and
    ``kbar_ii = K_ii - mean_l K_il``:

    - release: ``beta_j = c_N / (N (N - 1)^2)``;
    - revised: ``beta_j = (c_j + c_N) / (N (N - 1)^2)``;
    - exact: ``beta_j = -[H (K_x - gamma K_y) H]_{Nj} / (N - 1)^2``;

    for ``j < N``, and ``beta_N = 0`` (``alpha_N = 0`` in every variant).
    """
    n = kx.shape[0]
    last = n - 1
    norm = 1.0 / ((n - 1.0) * (n - 1.0))
    if variant == EXACT:
        # [H K H]_{Nj} = K_Nj - r_N - r_j + t, r the row means of the symmetric
        # K = K_x - gamma K_y and t their mean.
        total = 0.0
        for j in range(n):
            acc = 0.0
            for l in range(n):
                acc += kx[j, l] - gamma * ky[j, l]
            out[j] = acc / n
            total += out[j]
        total /= n
        row_last = out[last]
        for j in range(n):
            centred = (kx[last, j] - gamma * ky[last, j]) - row_last - out[j] + total
            out[j] = -centred * norm
    else:
        for i in range(n):
            acc_x = 0.0
            acc_y = 0.0
            for l in range(n):
                acc_x += kx[i, l]
                acc_y += ky[i, l]
            out[i] = (kx[i, i] - acc_x / n) - gamma * (ky[i, i] - acc_y / n)
        c_last = out[last]
        for j in range(last):
            if variant == RELEASE:
                out[j] = c_last / n * norm
            else:
                out[j] = (out[j] + c_last) / n * norm
    out[last] = 0.0


@njit
def global_signal(z, beta, scale, out):
    """``out = sum_{j < N} beta_j (2 / scale^2) k(z_N, z_j) (z_N - z_j)``, z_N the last row."""
    n, dim = z.shape
    last = n - 1
    inv = 1.0 / (scale * scale)
    for k in range(dim):
        out[k] = 0.0
    for j in range(last):
        acc = 0.0
        for k in range(dim):
            diff = z[last, k] - z[j, k]
            acc += diff * diff
        weight = beta[j] * 2.0 * inv * math.exp(-0.5 * inv * acc)
        for k in range(dim):
            out[k] += weight * (z[last, k] - z[j, k])


@njit
def adamw_step(param, grad, first, second, lr, beta1, beta2, eps, weight_decay,
               correction1, correction2):
    """One AdamW step on flat arrays, in place (Loshchilov & Hutter 2019; as optax.adamw).

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - lr ((m / c1) / (sqrt(v / c2) + eps) + wd p)`` with ``c = 1 - b^t``. The
    bias corrections are multiplications by ``1 / c`` (within an ulp of the division,
    and a third faster: one division per element is left).
    """
    inverse1 = 1.0 / correction1
    inverse2 = 1.0 / correction2
    for i in range(param.shape[0]):
        g = grad[i]
        m = beta1 * first[i] + (1.0 - beta1) * g
        v = beta2 * second[i] + (1.0 - beta2) * (g * g)
        first[i] = m
        second[i] = v
        update = (m * inverse1) / (math.sqrt(v * inverse2) + eps)
        param[i] = param[i] - lr * (update + weight_decay * param[i])


@njit
def bias_relu_layer_norm(pre, bias, eps, active, inv_std):
    """In place, row by row: ``pre <- LN(ReLU(pre + bias))``, LayerNorm without affine.

    Writes ``active = pre + bias > 0`` and ``inv_std = 1 / sqrt(var + eps)`` (the biased
    variance of the rectified row), which the pull-back needs.
    """
    n, dim = pre.shape
    for i in range(n):
        total = 0.0
        for k in range(dim):
            value = pre[i, k] + bias[k]
            positive = value > 0.0
            active[i, k] = positive
            if not positive:
                value = 0.0
            pre[i, k] = value
            total += value
        mean = total / dim
        acc = 0.0
        for k in range(dim):
            centred = pre[i, k] - mean
            pre[i, k] = centred
            acc += centred * centred
        scale = 1.0 / math.sqrt(acc / dim + eps)
        inv_std[i] = scale
        for k in range(dim):
            pre[i, k] *= scale


@njit
def relu_layer_norm_pull_back(outputs, inv_std, active, cotangent, out):
    """The cotangent on ``x W + b`` from one on ``z = LN(ReLU(x W + b))``, row by row.

    ``out = ReLU'(pre) (g - mean(g) - z mean(g z)) inv_std``.
    """
    n, dim = cotangent.shape
    for i in range(n):
        mean_g = 0.0
        mean_gz = 0.0
        for k in range(dim):
            mean_g += cotangent[i, k]
            mean_gz += cotangent[i, k] * outputs[i, k]
        mean_g /= dim
        mean_gz /= dim
        for k in range(dim):
            if active[i, k]:
                out[i, k] = (cotangent[i, k] - mean_g - outputs[i, k] * mean_gz) * inv_std[i]
            else:
                out[i, k] = 0.0


@njit
def outer(left, right, out):
    """``out = left right^T`` (a rank-one weight gradient); five times ``np.outer``'s speed."""
    for i in range(left.shape[0]):
        value = left[i]
        for j in range(right.shape[0]):
            out[i, j] = value * right[j]


# -- the working-memory reservoir (synlearn.hsic.memory) ---------------------------------
#
# One rate network stepped one state vector at a time (Daruwalla & Lipasti 2024, Methods:
# the working-memory reservoir; the network of Sussillo & Abbott 2009, Eq. 1):
# ``u <- u + (dt / tau) (-u + g W r + drive + W_fb z)``, ``r = tanh(u)``,
# ``z = W_o^T r``, LMS ``W_o <- W_o - lr r (z - xi)^T``. The CSR product and tanh are the
# ones the reservoir family steps with (``synlearn.core.rate``). The network and state
# tuples are built by ``synlearn.hsic.memory``; the twins are in ``tests/hsic/reference.py``.


@njit
def readout_into(w, features, out):
    """``out = w^T features`` for ``w`` of shape (n_features, n_outputs)."""
    n_features, n_outputs = w.shape
    for k in range(n_outputs):
        out[k] = 0.0
    for i in range(n_features):
        value = features[i]
        for k in range(n_outputs):
            out[k] += w[i, k] * value


@njit
def lms_update(w, features, output, target, learning_rate, scaled_error):
    """``w <- w - lr features (output - target)^T`` (LMS); ``scaled_error`` is scratch."""
    n_features, n_outputs = w.shape
    for k in range(n_outputs):
        scaled_error[k] = learning_rate * (output[k] - target[k])
    for i in range(n_features):
        value = features[i]
        for k in range(n_outputs):
            w[i, k] -= value * scaled_error[k]


@njit
def memory_sample(network, state, features, target, learning_rate, learn, first_scored,
                  outputs, predictions, scored_rates):
    """Hold one sample's input for ``outputs.shape[0]`` Euler steps of the reservoir.

    At every step, in the published order: the readout ``z = W_o^T r`` is recorded, then
    (if ``learn``) LMS moves ``W_o`` toward ``target``, then the state takes one Euler
    step with ``z`` fed back. ``predictions[t]`` (steps ``t >= first_scored``) is the
    readout as it was before this sample's updates applied to the same rates: what the
    reservoir predicts without having seen this sample's teacher; earlier rows are NaN.

    Parameters
    ----------
    network : synlearn.hsic.memory.MemoryNetwork
    state : synlearn.hsic.memory.MemoryState
        Updated in place (``u``, ``rates``, ``w_out``; the rest is scratch).
    features : ndarray, shape (n_inputs,)
        The held input ``v`` (its drive ``W_in v`` is computed once, here, so that a
        sample gives the same numbers alone and inside a stream).
    target : ndarray, shape (n_outputs,)
    learning_rate : float
    learn : bool
    first_scored : int
    outputs, predictions : ndarray, shape (n_steps, n_outputs)
        Receive ``z`` of every step and the predictions.
    scored_rates : ndarray, shape (n_units,) or (0,)
        Receives the mean over the scored steps of the rates the readout saw (nothing
        if empty).
    """
    u, rates, w = state.u, state.rates, state.w_out
    n_units = u.shape[0]
    n_steps, n_outputs = outputs.shape
    column = rates.reshape((n_units, 1))
    recurrent = state.recurrent
    z = state.z
    gain, leak, w_fb = network.gain, network.leak, network.w_fb
    drive = state.drive
    readout_into(network.w_in_t, features, drive)
    keep_rates = scored_rates.shape[0] > 0
    if keep_rates:
        for i in range(n_units):
            scored_rates[i] = 0.0
    if learn:
        # The teacher changes W_o within the sample, so the prediction needs the
        # readout it started with.
        state.w_start[:, :] = w
    for step in range(n_steps):
        readout_into(w, rates, z)
        for k in range(n_outputs):
            outputs[step, k] = z[k]
        if step >= first_scored:
            if keep_rates:
                for i in range(n_units):
                    scored_rates[i] += rates[i]
            if learn:
                readout_into(state.w_start, rates, state.prediction)
                for k in range(n_outputs):
                    predictions[step, k] = state.prediction[k]
            else:
                for k in range(n_outputs):
                    predictions[step, k] = z[k]
        else:
            for k in range(n_outputs):
                predictions[step, k] = math.nan
        if learn:
            lms_update(w, rates, z, target, learning_rate, state.scaled_error)
        recurrent_input(network.indptr, network.indices, network.weights, column, recurrent)
        for i in range(n_units):
            feedback = 0.0
            for k in range(n_outputs):
                feedback += w_fb[i, k] * z[k]
            u[i] += leak * (-u[i] + gain * recurrent[i, 0] + drive[i] + feedback)
            rates[i] = tanh(u[i])
    if keep_rates:
        inverse = 1.0 / (n_steps - first_scored)
        for i in range(n_units):
            scored_rates[i] *= inverse


@njit
def memory_stream(network, state, features, targets, learn, learning_rate, first_scored,
                  outputs, predictions, scored_rates):
    """``memory_sample`` for every sample of a stream, in order.

    Parameters
    ----------
    features : ndarray, shape (n_samples, n_inputs)
    targets : ndarray, shape (n_samples, n_outputs)
    learn : ndarray of bool, shape (n_samples,)
        Whether the readout learns during each sample.
    outputs, predictions : ndarray, shape (n_samples, n_steps, n_outputs)
    scored_rates : ndarray, shape (n_samples, n_units) or (n_samples, 0)
    """
    for s in range(features.shape[0]):
        memory_sample(network, state, features[s], targets[s], learning_rate, learn[s],
                      first_scored, outputs[s], predictions[s], scored_rates[s])


@njit
def lms_stream(w, features, targets, learn, learning_rate, outputs, scaled_error):
    """The memoryless control: LMS on each sample's own input, held ``n_steps`` steps.

    ``z = w^T v`` is recorded, then (if ``learn[s]``) ``w <- w - lr v (z - target)^T``,
    at every step, as the reservoir's readout does with its rates.

    Parameters
    ----------
    w : ndarray, shape (n_features, n_outputs)
        Updated in place.
    features : ndarray, shape (n_samples, n_features)
    targets : ndarray, shape (n_samples, n_outputs)
    learn : ndarray of bool, shape (n_samples,)
    learning_rate : float
    outputs : ndarray, shape (n_samples, n_steps, n_outputs)
    scaled_error : ndarray, shape (n_outputs,)
        Scratch.
    """
    n_samples, n_steps, n_outputs = outputs.shape
    for s in range(n_samples):
        for step in range(n_steps):
            readout_into(w, features[s], outputs[s, step])
            if learn[s]:
                lms_update(w, features[s], outputs[s, step], targets[s], learning_rate,
                           scaled_error)


# --- Leaky-integrator and spiking networks (``synlearn.hsic.leaky``) ---------------------
#
# A network is ``sizes = (d_0, ..., d_L)`` (int64) and one flat parameter vector
# ``theta`` laid out as ``MLP.parameters``: W_1 (d_0 x d_1, row-major), b_1, W_2, ...
# State and work arrays over n samples are flat too, layer l's block holding n x d_l
# row-major values from offset ``n (d_1 + ... + d_{l-1})``, so each kernel compiles once
# whatever the depth. ``neuron = (mode, rate, threshold, filter_rate, inv_dt, slope, eps)``
# with ``rate = dt / tau`` and ``filter_rate = dt / tau_s``; the spiking entries are
# ignored in the LEAKY mode. ``work = (outputs, potential, active, inv_std, zeros, spikes,
# grad, signals, scratch)`` is built by ``synlearn.hsic.leaky``. The NumPy twins are in
# ``tests/hsic/reference.py``.

LEAKY = 0
SPIKING = 1
OPTIMIZER_ADAMW = 0
OPTIMIZER_SGD = 1


@njit
def _block(flat, offset, rows, cols):
    """The (rows, cols) C-contiguous view of ``flat[offset:offset + rows cols]``."""
    return flat[offset:offset + rows * cols].reshape((rows, cols))


@njit
def _drive(inputs, weight, bias, out):
    """``out = inputs W + b``, row by row (the layers are narrow: a BLAS call costs more).

    Widening layers accumulate whole output rows (the loop over outputs vectorises),
    narrowing ones each output in a register: at B = 64, 2 -> 10 takes 0.6 us against
    1.4 us the other way round, 10 -> 4 1.2 us against 1.5-2.0 us.
    """
    n, fan_in = inputs.shape
    fan_out = weight.shape[1]
    if fan_in > fan_out:
        for i in range(n):
            for k in range(fan_out):
                acc = bias[k]
                for j in range(fan_in):
                    acc += inputs[i, j] * weight[j, k]
                out[i, k] = acc
        return
    for i in range(n):
        for k in range(fan_out):
            out[i, k] = bias[k]
        for j in range(fan_in):
            value = inputs[i, j]
            for k in range(fan_out):
                out[i, k] += value * weight[j, k]


@njit
def dynamics_step(sizes, theta, inputs, neuron, membrane, trace, work):
    """One Euler step of every layer for every row of ``inputs``, in place.

    Layer l integrates ``u += rate (x W + b - u)``, x the output of layer l - 1 at this
    step. Hidden outputs are ``LN(ReLU(u))`` (LEAKY) or, SPIKING, the LayerNorm of the
    filtered spike train ``r += filter_rate (s inv_dt - r)`` of a neuron that spikes
    (``s = 1``) when ``u >= threshold`` and is then reset to 0; the readout's output is
    its ``u``. SPIKING hidden layers keep the membrane before the reset in ``potential``
    (the surrogate's argument), set ``active`` True (no ReLU) and count their spikes in
    ``spikes[l]``.
    """
    mode, rate, threshold, filter_rate, inv_dt, _, eps = neuron
    outputs, potential, active, inv_std, zeros, spikes = work[:6]
    n = inputs.shape[0]
    depth = sizes.shape[0] - 1
    x = inputs
    p = 0
    s = 0
    for l in range(depth):
        fan_in = sizes[l]
        fan_out = sizes[l + 1]
        weight = _block(theta, p, fan_in, fan_out)
        bias = theta[p + fan_in * fan_out:p + fan_in * fan_out + fan_out]
        p += fan_in * fan_out + fan_out
        u = _block(membrane, s, n, fan_out)
        z = _block(outputs, s, n, fan_out)
        _drive(x, weight, bias, z)
        hidden = l < depth - 1
        if mode == SPIKING and hidden:
            r = _block(trace, s, n, fan_out)
            before_reset = _block(potential, s, n, fan_out)
            count = 0
            for i in range(n):
                for k in range(fan_out):
                    v = u[i, k] + rate * (z[i, k] - u[i, k])
                    before_reset[i, k] = v
                    # Selects and an integer count: spikes are irregular, so the loop
                    # should hold no data-dependent branch (nor a float reduction).
                    fired = v >= threshold
                    spike = 1.0 if fired else 0.0
                    u[i, k] = 0.0 if fired else v
                    count += 1 if fired else 0
                    r[i, k] += filter_rate * (spike * inv_dt - r[i, k])
                    z[i, k] = r[i, k]
            spikes[l] += count
        else:
            for i in range(n):
                for k in range(fan_out):
                    u[i, k] += rate * (z[i, k] - u[i, k])
                    z[i, k] = u[i, k]
        if hidden:
            mask = _block(active, s, n, fan_out)
            bias_relu_layer_norm(z, zeros[:fan_out], eps, mask, inv_std[l * n:(l + 1) * n])
            if mode == SPIKING:
                mask[:, :] = True
        s += n * fan_out
        x = z


@njit
def local_gradients(sizes, inputs, targets, beta, sigma_z, neuron, work):
    """Every layer's own-parameter gradient (into ``grad``) for the step just taken.

    Hidden layer l: ``xi`` of the current (last) row from the layer's outputs over the
    window (into ``signals``), pulled back through LayerNorm and ReLU (LEAKY; no ReLU
    when SPIKING), times ``rate`` (``du / d(x W + b)`` of one Euler step), SPIKING also
    times the surrogate ``ds / du = 1 / (1 + slope |u - threshold|)^2`` at the membrane
    before the reset and ``dr / ds = filter_rate inv_dt``; then the outer product with
    the layer's input of the last row. Readout: ``rate (softmax(u) - y) / n`` over all
    n rows. ``scratch`` holds d_L values.
    """
    mode, rate, threshold, filter_rate, inv_dt, slope, _ = neuron
    outputs, potential, active, inv_std, _, _, grad, signals, scratch = work
    n = inputs.shape[0]
    last = n - 1
    depth = sizes.shape[0] - 1
    x = inputs
    p = 0
    s = 0
    q = 0
    for l in range(depth):
        fan_in = sizes[l]
        fan_out = sizes[l + 1]
        grad_w = _block(grad, p, fan_in, fan_out)
        grad_b = grad[p + fan_in * fan_out:p + fan_in * fan_out + fan_out]
        p += fan_in * fan_out + fan_out
        z = _block(outputs, s, n, fan_out)
        if l < depth - 1:
            xi = signals[q:q + fan_out]
            q += fan_out
            global_signal(z, beta, sigma_z * math.sqrt(fan_out), xi)
            relu_layer_norm_pull_back(z[last:], inv_std[l * n + last:(l + 1) * n],
                                      _block(active, s, n, fan_out)[last:],
                                      xi.reshape((1, fan_out)), grad_b.reshape((1, fan_out)))
            if mode == SPIKING:
                before_reset = _block(potential, s, n, fan_out)
                height = rate * filter_rate * inv_dt
                for k in range(fan_out):
                    distance = 1.0 + slope * abs(before_reset[last, k] - threshold)
                    grad_b[k] *= height / (distance * distance)
            else:
                for k in range(fan_out):
                    grad_b[k] *= rate
            outer(x[last], grad_b, grad_w)
        else:
            grad_w[:, :] = 0.0
            grad_b[:] = 0.0
            scale = rate / n
            for i in range(n):
                top = z[i, 0]
                for k in range(1, fan_out):
                    top = max(top, z[i, k])
                total = 0.0
                for k in range(fan_out):
                    scratch[k] = math.exp(z[i, k] - top)
                    total += scratch[k]
                for k in range(fan_out):
                    scratch[k] = (scratch[k] / total - targets[i, k]) * scale
                    grad_b[k] += scratch[k]
                for j in range(fan_in):
                    value = x[i, j]
                    for k in range(fan_out):
                        grad_w[j, k] += value * scratch[k]
        s += n * fan_out
        x = z


@njit
def dynamics_gradients(sizes, theta, inputs, targets, beta, sigma_z, neuron, membrane, trace,
                       work):
    """``dynamics_step`` then ``local_gradients``: one time step of training, no update."""
    dynamics_step(sizes, theta, inputs, neuron, membrane, trace, work)
    local_gradients(sizes, inputs, targets, beta, sigma_z, neuron, work)


@njit
def optimizer_step(theta, grad, first, second, count, optimizer):
    """Step number ``count`` (from 1) of AdamW or SGD over the flat parameters, in place.

    ``optimizer = (code, lr, beta1, beta2, eps, weight_decay)``; SGD uses lr only. The
    bias corrections take ``beta ** float(count)``, the libm ``pow`` that
    ``synlearn.hsic.optim.AdamW`` calls too, so that both agree bit for bit.
    """
    code, lr, beta1, beta2, eps, weight_decay = optimizer
    if code == OPTIMIZER_ADAMW:
        adamw_step(theta, grad, first, second, lr, beta1, beta2, eps, weight_decay,
                   1.0 - beta1 ** float(count), 1.0 - beta2 ** float(count))
    else:
        for i in range(theta.shape[0]):
            theta[i] -= lr * grad[i]


@njit
def window_kernel(samples, scale, out, slide):
    """The Gaussian kernel of a window, ``exp(-|a_i - a_j|^2 / (2 scale^2))``, in place.

    With ``slide`` the window has moved on by one sample since ``out`` was computed: the
    old rows and columns 1.. become 0.. and only the newest row is computed. Every pair
    is computed as ``a_i - a_j`` with i > j either way, so sliding gives the same bits
    as computing afresh.
    """
    n, dim = samples.shape
    factor = -0.5 / (scale * scale)
    first = 0
    if slide:
        for i in range(n - 1):
            for j in range(n - 1):
                out[i, j] = out[i + 1, j + 1]
        first = n - 1
    for i in range(first, n):
        out[i, i] = 1.0
        for j in range(i):
            acc = 0.0
            for k in range(dim):
                diff = samples[i, k] - samples[j, k]
                acc += diff * diff
            value = math.exp(factor * acc)
            out[i, j] = value
            out[j, i] = value


@njit
def window_coefficients(inputs, targets, rule, kx, ky, beta, slide):
    """``beta`` of a window (``signal_coefficients``) from its input and label kernels.

    ``rule = (gamma, variant, scale_x, scale_y, sigma_z)``; ``kx`` and ``ky`` are kept
    for the next, slid window (``window_kernel``).
    """
    gamma, variant, scale_x, scale_y, _ = rule
    window_kernel(inputs, scale_x, kx, slide)
    window_kernel(targets, scale_y, ky, slide)
    signal_coefficients(kx, ky, gamma, variant, beta)


@njit
def dynamics_run(sizes, theta, inputs, steps, readout_steps, neuron, membrane, trace, work,
                 mean_logits):
    """``steps`` steps from the given state (in place); ``mean_logits`` receives the readout
    averaged over the last ``readout_steps``, ``work`` the last step's outputs."""
    n = inputs.shape[0]
    classes = sizes[sizes.shape[0] - 1]
    outputs = work[0]
    logits = _block(outputs, outputs.shape[0] - n * classes, n, classes)
    mean_logits[:, :] = 0.0
    for t in range(steps):
        dynamics_step(sizes, theta, inputs, neuron, membrane, trace, work)
        if t >= steps - readout_steps:
            for i in range(n):
                for k in range(classes):
                    mean_logits[i, k] += logits[i, k]
    for i in range(n):
        for k in range(classes):
            mean_logits[i, k] /= readout_steps


@njit
def window_accuracy(sizes, theta, inputs, labels, steps, readout_steps, neuron, membrane,
                    trace, work, mean_logits):
    """The accuracy on a window of ``steps`` steps run from a copy of its state, scored on
    the logits averaged over the last ``readout_steps`` (first maximum on ties)."""
    dynamics_run(sizes, theta, inputs, steps, readout_steps, neuron, membrane.copy(),
                 trace.copy(), work, mean_logits)
    n, classes = mean_logits.shape
    correct = 0
    for i in range(n):
        best = 0
        for k in range(1, classes):
            if mean_logits[i, k] > mean_logits[i, best]:
                best = k
        if best == labels[i]:
            correct += 1
    return correct / n


@njit
def dynamics_epoch(sizes, theta, first, second, count, optimizer, stream_inputs,
                   stream_targets, stream_labels, steps, readout_steps, neuron, rule,
                   membrane, trace, work, kx, ky, beta, mean_logits):
    """One epoch of the HSIC rule on a stream, AdamW or SGD fused in.

    Every window of ``n = beta.shape[0]`` consecutive samples (``window_coefficients``),
    ``steps`` time steps (``dynamics_gradients``), each followed by an optimiser step
    (``optimizer_step``, step ``count + 1`` onwards); then the window's accuracy
    (``window_accuracy``). The state (``membrane``, ``trace``, n rows) carries on from
    window to window. Returns the step count reached and the sum of the windows'
    accuracies.
    """
    n = beta.shape[0]
    sigma_z = rule[4]
    grad = work[6]
    total = 0.0
    for start in range(stream_labels.shape[0] - n + 1):
        inputs = stream_inputs[start:start + n]
        targets = stream_targets[start:start + n]
        window_coefficients(inputs, targets, rule, kx, ky, beta, start > 0)
        for _ in range(steps):
            dynamics_gradients(sizes, theta, inputs, targets, beta, sigma_z, neuron, membrane,
                               trace, work)
            count += 1
            optimizer_step(theta, grad, first, second, count, optimizer)
        total += window_accuracy(sizes, theta, inputs, stream_labels[start:start + n], steps,
                                 readout_steps, neuron, membrane, trace, work, mean_logits)
    return count, total
