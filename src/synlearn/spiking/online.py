"""Wake learning batch by batch with the baseline carried across calls, and the size of
every batch's weight change.

``learning.train`` runs a whole data set in one kernel call and starts its moving
average ``F_bar`` at the first batch's F. The pipeline needs more per batch: the maze
protocol trains in segments (target maze, control maze, back) whose baseline must carry
over from one segment to the next, learning curves stop at checkpoints without
restarting ``F_bar``, and the novelty statistics need the size of each batch's weight
change. ``train_online`` does what ``kernels.train_batches`` does, with the same kernels
(``run_wake`` with K = 1, ``eligibility``) and the same random numbers in the same
order, the SGD update in NumPy (elementwise, the same floating-point operations), so
from a fresh state it gives bit for bit the numbers of ``learning.train``
(``tests/spiking/test_online.py``).

Jimenez Rezende & Gerstner (2014), Section 2: the generative rule and the inference rule
modulated by ``F - F_bar``; see ``synlearn.spiking.learning``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import kernels
from .model import SPIKE, Params, Rule, Weights, check_raster, check_weights


class OnlineResult(NamedTuple):
    """``train_online``'s per-batch record (arrays of length ``n_batches``).

    Attributes
    ----------
    free_energy : ndarray
        F of every batch's wake sample, before its update; NaN from a diverged batch on.
    baseline : ndarray
        The ``F_bar`` the batch's Q update used (0 for the naive rule).
    dw_M, dw_Q : ndarray
        Root mean square over synapses (weights and biases) of the batch's change of the
        generative and the inference parameters.
    f_bar : float or None
        The moving average after the last batch, to pass to the next call (None if no
        batch was applied with the baseline rule).
    diverged : bool
    n_batches : int
        Batches whose update was applied.
    """

    free_energy: np.ndarray
    baseline: np.ndarray
    dw_M: np.ndarray
    dw_Q: np.ndarray
    f_bar: float | None
    diverged: bool
    n_batches: int


def train_online(weights: Weights, params: Params, rule: Rule, batches, rng: np.random.Generator,
                 f_bar: float | None = None) -> OnlineResult:
    """Train ``weights`` in place on ``batches`` (B, T, nV), one SGD update per batch.

    Parameters
    ----------
    weights : Weights
        Updated in place (as they were before a diverging batch's update, if one did).
    params : Params
    rule : Rule
    batches : array of 0/1, shape (B, T, nV)
    rng : numpy.random.Generator
        The wake samples' spike thresholds, batch after batch (``kernels`` order).
    f_bar : float, optional
        The moving average carried from a previous call; None starts it at the first
        batch's F, as ``learning.train`` does.

    Returns
    -------
    OnlineResult
    """
    check_weights(weights)
    data = check_raster("batches", batches, weights.n_visible, ndim=3,
                        columns="visible neurons")
    n_batches, n_bins, n_visible = data.shape
    n, n_hidden = weights.n_neurons, weights.n_hidden
    W_M, b_M, W_Q, b_Q = weights
    hidden = np.zeros((1, n_bins, n_hidden), dtype=SPIKE)
    factor_M = np.zeros((1, n_bins, n))
    factor_Q = np.zeros((1, n_bins, n_hidden))
    log_p, log_q = np.zeros(1), np.zeros(1)
    raster = np.zeros((n_bins, n), dtype=SPIKE)
    grad_WM, grad_bM = np.zeros((n, n)), np.zeros(n)
    grad_WQ, grad_bQ = np.zeros((n, n_hidden)), np.zeros(n_hidden)
    energies, baselines = np.full(n_batches, np.nan), np.full(n_batches, np.nan)
    dw_M, dw_Q = np.full(n_batches, np.nan), np.full(n_batches, np.nan)
    count_M, count_Q = n * n + n, n * n_hidden + n_hidden
    for b in range(n_batches):
        kernels.run_wake(weights, params, data[b], False, hidden, rng, log_p, log_q,
                         factor_M, factor_Q)
        f = float(log_q[0] - log_p[0])
        if not math.isfinite(f):
            return OnlineResult(energies, baselines, dw_M, dw_Q, f_bar, True, b)
        if rule.baseline:
            if f_bar is None:
                f_bar = f
            reference = f_bar
        else:
            reference = 0.0
        raster[:, :n_visible] = data[b]
        raster[:, n_visible:] = hidden[0]
        kernels.eligibility(raster, factor_M[0], params.decay_syn, grad_WM, grad_bM)
        kernels.eligibility(raster, factor_Q[0], params.decay_syn, grad_WQ, grad_bQ)
        step_M = rule.mu_M
        step_Q = -rule.mu_Q * (f - reference)
        change_WM, change_bM = step_M * grad_WM, step_M * grad_bM
        change_WQ, change_bQ = step_Q * grad_WQ, step_Q * grad_bQ
        W_M += change_WM
        W_Q += change_WQ
        b_M += change_bM
        b_Q += change_bQ
        if not all(np.isfinite(a).all() for a in weights):
            return OnlineResult(energies, baselines, dw_M, dw_Q, f_bar, True, b)
        energies[b], baselines[b] = f, reference
        dw_M[b] = math.sqrt((float(np.sum(change_WM * change_WM))
                             + float(np.sum(change_bM * change_bM))) / count_M)
        dw_Q[b] = math.sqrt((float(np.sum(change_WQ * change_WQ))
                             + float(np.sum(change_bQ * change_bQ))) / count_Q)
        if rule.baseline:
            f_bar += (f - f_bar) / rule.baseline_tau
    return OnlineResult(energies, baselines, dw_M, dw_Q, f_bar, False, n_batches)

