"""Slow, obvious plain-NumPy twins of the reservoir kernels.

Each twin follows the model equations line by line, one run at a time, with dense
matrices. The kernels must agree with them on small random inputs.
"""

from __future__ import annotations

import numpy as np


def trials_twin(reservoir, targets, target_index, rule, rate, n_trials, learn_every,
                pulse_steps, pulse_amplitude, init_std, noise_step_std, leak, rng,
                forgetting_decay=1.0):
    """One run of the ``trials`` protocol, with the draws taken in the kernel's order.

    Returns the final readout weights, the per-synapse rates (delta/bayes) and the
    summed squared error over the target periods.
    """
    J = reservoir.dense_weights()
    u, w_in, gains = reservoir.feedback, reservoir.input_weights, reservoir.readout_gains
    n = J.shape[0]
    f = targets[target_index]
    w = np.zeros(n)
    alpha = np.full(n, rate if rule != "rls" else 0.0)
    P = np.eye(n) / rate if rule == "rls" else None
    sq = 0.0
    for _ in range(n_trials):
        x = init_std * rng.standard_normal(n)
        r = np.tanh(x)
        z = w @ (gains * r)
        for step in range(pulse_steps + f.size):
            t = step - pulse_steps
            if t >= 0:
                e = f[t] - z
                sq += e * e
                if t % learn_every == 0:
                    s = gains * r
                    if rule == "rls":
                        k = P @ s
                        c = 1.0 / (1.0 + s @ k)
                        P = P - c * np.outer(k, k)
                        w = w + c * e * k
                    else:
                        if rule == "bayes":
                            alpha = alpha * forgetting_decay + rate * (1.0 - forgetting_decay)
                            alpha = 1.0 / (1.0 / alpha + s * s)
                        w = w + alpha * e * s
            drive = pulse_amplitude if t < 0 else 0.0
            noise = noise_step_std * rng.standard_normal(n) if noise_step_std > 0 else np.zeros(n)
            x = x + leak * (-x + J @ r + u * z + w_in * drive) + noise
            r = np.tanh(x)
            z = w @ (gains * r)
    return w, alpha, sq


def autonomous_twin(reservoir, x0, n_steps, leak):
    """Free dynamics without feedback (w = 0): ``x += leak (-x + J tanh x)``."""
    J = reservoir.dense_weights()
    x = x0.copy()
    path = np.empty((n_steps, x.size))
    for step in range(n_steps):
        x = x + leak * (-x + J @ np.tanh(x))
        path[step] = x
    return path
