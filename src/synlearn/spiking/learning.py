"""Wake learning, sleep sampling, the free energy and the importance-sampled likelihood.

Jimenez Rezende & Gerstner (2014), Section 2 (the model: ``synlearn.spiking.model``).

Free energy of an episode of T bins, one sample ``X_H ~ q(. | X_V)``:

    F = log q(X_H | X_V) - log p(X_V, X_H),    E_q[F] = -log p(X_V) + KL(q || p(.|X_V)),

so ``E_q[F] >= -log p(X_V)``, with equality when q is the true posterior.

Learning (``train``), once per batch, plain SGD, local in the sense of the paper: a
post-synaptic factor ``f_i(t) = d/du_i [X log p + (1 - X) log(1 - p)]`` (see
``model``) times the presynaptic trace ``phi_j(t)``, summed over the batch:

- generative weights (all neurons i): ``dw^M_ij = mu_M sum_t f^M_i(t) phi_j(t)``,
  ``db^M_i = mu_M sum_t f^M_i(t)``: ascent on ``log p(X_V, X_H)`` at the wake sample;
- inference weights (hidden i only): ``dw^Q_ij = -mu_Q (F - F_bar) sum_t f^Q_i(t)
  phi_j(t)``, likewise for ``b^Q``: the score-function (REINFORCE) estimate of
  ``-d E_q[F] / dw^Q``. ``dF / dw^Q = d log q / dw^Q`` has zero mean under q, so the
  one-global-factor estimator is unbiased; so is it with any baseline that does not
  depend on the current sample. ``F_bar`` is the moving average of F over the previous
  batches (time constant ``Rule.baseline_tau`` in batches), and ``F - F_bar`` is the
  paper's novelty (surprise) signal; the naive rule uses ``F_bar = 0``.

Importance sampling (``log_likelihood_is``): with K samples from q, all in one kernel
call (one pass over the samples per time step),

    log p(x_V) ~ log (1/K) sum_k exp(-F_k) = logsumexp_k(-F_k) - log K,

an estimate biased low by Jensen, consistent as K grows. Its standard error by the
delta method: with ``w_k = exp(-F_k - max_l(-F_l))``, ``se = sd(w) / (sqrt(K) mean(w))``;
the effective sample size is ``(sum w)^2 / sum w^2``.

References
----------
Jimenez Rezende, D. & Gerstner, W. (2014). Stochastic variational learning in recurrent
spiking networks. Front. Comput. Neurosci. 8, 38 (Section 2: the free energy, the
learning rules of the generative and the inference weights and the novelty signal).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.errors import ConfigError
from . import kernels
from .model import (
    FLOAT, SPIKE, Params, Rule, Weights, check_params, check_raster, check_weights,
    make_rule, n_bins,
)

DEFAULT_BATCH_MS = 200.0
DEFAULT_SAMPLES = 500
_EMPTY_SPIKES = np.zeros((0, 0, 0), dtype=SPIKE)
_EMPTY_FLOATS = np.zeros((0, 0, 0), dtype=FLOAT)


class WakeSamples(NamedTuple):
    """Wake samples of one visible raster (``free_energy``).

    Attributes
    ----------
    free_energy : ndarray, shape (K,)
        ``F_k = log q - log p`` of every sample.
    log_p : ndarray, shape (K,)
        ``log p(X_V, X_H^k)``.
    log_q : ndarray, shape (K,)
        ``log q(X_H^k | X_V)``.
    hidden : ndarray of uint8, shape (K, T, nH)
        The sampled hidden rasters.
    """

    free_energy: np.ndarray
    log_p: np.ndarray
    log_q: np.ndarray
    hidden: np.ndarray


class Evaluation(NamedTuple):
    """The log-likelihoods of given rasters and their gradients (``evaluate``).

    Attributes
    ----------
    log_p, log_q : ndarray, shape (K,)
    grad_log_p : Weights or None
        Per raster (leading axis K) the gradient of ``log p(X_V, X_H)`` in ``W_M`` and
        ``b_M``, in the ``W_M`` / ``b_M`` fields (``W_Q`` and ``b_Q`` fields zero-size).
    grad_log_q : Weights or None
        Per raster the gradient of ``log q(X_H | X_V)`` in ``W_Q`` and ``b_Q``, in the
        ``W_Q`` / ``b_Q`` fields.
    """

    log_p: np.ndarray
    log_q: np.ndarray
    grad_log_p: object
    grad_log_q: object


class ISEstimate(NamedTuple):
    """``log_likelihood_is``'s result.

    Attributes
    ----------
    estimate : float
        ``logsumexp_k(-F_k) - log K`` (nats).
    standard_error : float
        Delta-method standard error of the estimate (nats).
    ess : float
        Effective sample size ``(sum w)^2 / sum w^2`` (1 to K).
    """

    estimate: float
    standard_error: float
    ess: float


class TrainResult(NamedTuple):
    """``train``'s result.

    Attributes
    ----------
    weights : Weights
        The weights after training (as they were when a run diverged).
    free_energy : ndarray, shape (n_batches,)
        F of every batch's wake sample, before that batch's update; NaN from the batch
        a run diverged on.
    baseline : ndarray, shape (n_batches,)
        The ``F_bar`` every batch's Q update used (0 for the naive rule); NaN likewise.
    diverged : bool
        Whether F or the weights became non-finite (training then stopped).
    n_batches : int
        Batches whose update was applied.
    """

    weights: Weights
    free_energy: np.ndarray
    baseline: np.ndarray
    diverged: bool
    n_batches: int


def _generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator (e.g. "
                          f"synlearn.core.seeding.generator), got {type(rng).__name__}")
    return rng


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _visible(weights: Weights, params: Params, x_visible) -> np.ndarray:
    check_params(params)
    check_weights(weights)
    x = check_raster("x_visible", x_visible)
    check_weights(weights, x.shape[1])
    return x


def free_energy(weights: Weights, params: Params, x_visible, rng: np.random.Generator,
                n_samples: int = 1) -> WakeSamples:
    """Wake samples and their free energies ``F = log q(X_H|X_V) - log p(X_V, X_H)``.

    Jimenez Rezende & Gerstner (2014), Section 2: the free energy whose expectation
    under q bounds ``-log p(X_V)`` from above.

    Parameters
    ----------
    weights : Weights
    params : Params
    x_visible : array of 0/1, shape (T, nV)
        The visible raster, clamped; the episode starts from rest.
    rng : numpy.random.Generator
        Draws the spike thresholds, in the order ``kernels`` documents.
    n_samples : int
        K, run as one batch.

    Returns
    -------
    WakeSamples

    Raises
    ------
    ConfigError
        Shapes that do not match, a raster that is not 0/1, a bad ``n_samples``.
    """
    x = _visible(weights, params, x_visible)
    k = _count("n_samples", n_samples)
    rng = _generator(rng)
    hidden = np.zeros((k, x.shape[0], weights.n_hidden), dtype=SPIKE)
    log_p, log_q = np.empty(k), np.empty(k)
    kernels.run_wake(weights, params, x, False, hidden, rng, log_p, log_q, _EMPTY_FLOATS,
                     _EMPTY_FLOATS)
    return WakeSamples(log_q - log_p, log_p, log_q, hidden)


def evaluate(weights: Weights, params: Params, x_visible, hidden,
             gradients: bool = False) -> Evaluation:
    """``log p(X_V, X_H)`` and ``log q(X_H | X_V)`` of given rasters, and their gradients.

    The gradients are the local rules' sums, post-synaptic factor times presynaptic
    trace (Jimenez Rezende & Gerstner 2014, Section 2): ``d log p / dw^M_ij =
    sum_t f^M_i(t) phi_j(t)`` for every neuron i, ``d log q / dw^Q_ij = sum_t f^Q_i(t)
    phi_j(t)`` for the hidden ones.

    Parameters
    ----------
    weights : Weights
    params : Params
    x_visible : array of 0/1, shape (T, nV)
    hidden : array of 0/1, shape (T, nH) or (K, T, nH)
        One or K hidden rasters, evaluated side by side.
    gradients : bool
        Also return the gradients (per raster).

    Returns
    -------
    Evaluation
        Leading axis K (1 for a single raster).
    """
    x = _visible(weights, params, x_visible)
    h = np.asarray(hidden)
    h = check_raster("hidden", h[None] if h.ndim == 2 else h, weights.n_hidden, ndim=3,
                     columns="hidden neurons")
    if h.shape[1] != x.shape[0]:
        raise ConfigError(f"hidden has {h.shape[1]} bins, x_visible {x.shape[0]}")
    k, n_t = h.shape[0], x.shape[0]
    n, n_hidden = weights.n_neurons, weights.n_hidden
    log_p, log_q = np.empty(k), np.empty(k)
    factor_M = np.zeros((k, n_t, n)) if gradients else _EMPTY_FLOATS
    factor_Q = np.zeros((k, n_t, n_hidden)) if gradients else _EMPTY_FLOATS
    kernels.run_wake(weights, params, x, True, h, np.random.default_rng(0), log_p, log_q,
                     factor_M, factor_Q)
    if not gradients:
        return Evaluation(log_p, log_q, None, None)
    gW_M, gb_M = np.zeros((k, n, n)), np.zeros((k, n))
    gW_Q, gb_Q = np.zeros((k, n, n_hidden)), np.zeros((k, n_hidden))
    raster = np.empty((n_t, n), dtype=SPIKE)
    for s in range(k):
        raster[:, :weights.n_visible] = x
        raster[:, weights.n_visible:] = h[s]
        kernels.eligibility(raster, factor_M[s], params.decay_syn, gW_M[s], gb_M[s])
        kernels.eligibility(raster, factor_Q[s], params.decay_syn, gW_Q[s], gb_Q[s])
    empty2, empty1 = np.zeros((k, 0, 0)), np.zeros((k, 0))
    return Evaluation(log_p, log_q, Weights(gW_M, gb_M, empty2, empty1),
                      Weights(empty2, empty1, gW_Q, gb_Q))


def importance_statistics(free_energies) -> ISEstimate:
    """The importance-sampling estimate of ``log p(x_V)`` from K free energies.

    ``logsumexp_k(-F_k) - log K``; delta-method standard error ``sd(w) / (sqrt(K)
    mean(w))`` with ``w_k = exp(-F_k - max(-F))`` (``sd`` with ``K - 1``; NaN for K = 1);
    effective sample size ``(sum w)^2 / sum w^2``.
    """
    f = np.asarray(free_energies, dtype=FLOAT)
    if f.ndim != 1 or f.size < 1:
        raise ConfigError("free_energies must be a non-empty one-dimensional array")
    if not np.all(np.isfinite(f)):
        return ISEstimate(math.nan, math.nan, math.nan)
    k = f.size
    shift = float(np.max(-f))
    w = np.exp(-f - shift)
    mean = float(np.mean(w))
    estimate = shift + math.log(mean)
    se = float(np.std(w, ddof=1)) / (math.sqrt(k) * mean) if k > 1 else math.nan
    ess = float(np.sum(w) ** 2 / np.sum(w * w))
    return ISEstimate(estimate, se, ess)


def log_likelihood_is(weights: Weights, params: Params, x_visible,
                      K: int = DEFAULT_SAMPLES, rng: np.random.Generator | None = None
                      ) -> ISEstimate:
    """Importance-sampled log-likelihood ``log p(x_V)`` of a held-out visible raster.

    ``log p(x_V) ~ logsumexp_k(-F_k) - log K`` with K samples ``X_H^k ~ q(.|x_V)`` run as
    one batch in one kernel call (Jimenez Rezende & Gerstner 2014, Section 2: the free
    energy F; the estimator is the standard one for a variational posterior used as
    proposal).

    Parameters
    ----------
    weights : Weights
    params : Params
    x_visible : array of 0/1, shape (T, nV)
        The held-out raster (the episode starts from rest).
    K : int
        Samples (default 500).
    rng : numpy.random.Generator
        Required; draws the spike thresholds (see ``kernels``).

    Returns
    -------
    ISEstimate
        ``(estimate, standard_error, ess)``; NaNs if a free energy is not finite.
    """
    x = _visible(weights, params, x_visible)
    k = _count("K", K)
    rng = _generator(rng)
    log_p, log_q = np.empty(k), np.empty(k)
    kernels.run_wake(weights, params, x, False, _EMPTY_SPIKES, rng, log_p, log_q,
                     _EMPTY_FLOATS, _EMPTY_FLOATS)
    return importance_statistics(log_q - log_p)


def sleep(weights: Weights, params: Params, n_bins: int, rng: np.random.Generator
          ) -> np.ndarray:
    """A raster sampled from the generative model M alone (the sleep phase), from rest.

    Jimenez Rezende & Gerstner (2014), Section 2: ``p(X_V, X_H)``, every neuron sampled.

    Parameters
    ----------
    weights : Weights
    params : Params
    n_bins : int
        T.
    rng : numpy.random.Generator
        Draws the spike thresholds (see ``kernels``).

    Returns
    -------
    ndarray of uint8, shape (T, N)
        Visible neurons in columns ``0 .. nV-1``, hidden ones after.
    """
    check_params(params)
    check_weights(weights)
    t = _count("n_bins", n_bins)
    rng = _generator(rng)
    raster = np.zeros((t, weights.n_neurons), dtype=SPIKE)
    kernels.run_sleep(weights, params, rng, raster, np.zeros(1))
    return raster


def _batches(data, params: Params, batch_ms: float | None, n_visible: int) -> np.ndarray:
    array = np.asarray(data)
    if array.ndim == 3:
        batches = check_raster("data", array, n_visible, ndim=3, columns="visible neurons")
        if batch_ms is not None and n_bins(batch_ms, params, "batch_ms") != batches.shape[1]:
            raise ConfigError(f"batch_ms = {batch_ms!r} is {n_bins(batch_ms, params)} bins "
                              f"but the data's batches have {batches.shape[1]}")
        return batches
    stream = check_raster("data", array, n_visible, columns="visible neurons")
    length = n_bins(DEFAULT_BATCH_MS if batch_ms is None else batch_ms, params, "batch_ms")
    if stream.shape[0] % length:
        raise ConfigError(f"data has {stream.shape[0]} bins, not a whole number of batches "
                          f"of {length} bins (batch_ms)")
    return stream.reshape(-1, length, n_visible)


def train(weights: Weights, params: Params, data, rng: np.random.Generator,
          rule: Rule | None = None, *, batch_ms: float | None = None,
          copy: bool = True) -> TrainResult:
    """Wake learning of M and Q on a visible data stream, one SGD update per batch.

    Jimenez Rezende & Gerstner (2014), Section 2: the generative rule (post-synaptic
    factor times presynaptic trace) and the inference rule modulated by the novelty
    ``F - F_bar`` (or by F, the naive rule); see the module docstring.

    Parameters
    ----------
    weights : Weights
        The initial weights (copied unless ``copy=False``, then trained in place).
    params : Params
    data : array of 0/1, shape (n_batches, T, nV) or (n_bins, nV)
        The visible rasters; a 2-D stream is cut into batches of ``batch_ms``. Every
        batch starts from rest.
    rng : numpy.random.Generator
        Draws the wake samples' spike thresholds, batch after batch.
    rule : Rule, optional
        Learning rates and baseline (default ``make_rule()``: the novelty rule).
    batch_ms : float, optional
        Batch length (ms): a whole number of bins. Default: 200 ms for a stream; for 3-D
        data the data's own, and if given it must match.
    copy : bool

    Returns
    -------
    TrainResult

    Raises
    ------
    ConfigError
        Mismatched visible size, batch length not a whole number of bins, bad raster.
    """
    check_params(params)
    check_weights(weights)
    rule = make_rule() if rule is None else rule
    if not isinstance(rule, Rule):
        raise ConfigError(f"rule must be a synlearn.spiking.model.Rule (make_rule), got "
                          f"{type(rule).__name__}")
    batches = _batches(data, params, batch_ms, weights.n_visible)
    rng = _generator(rng)
    trained = weights.copy() if copy else weights
    n = batches.shape[0]
    energies = np.full(n, np.nan)
    baselines = np.full(n, np.nan)
    done, diverged = kernels.train_batches(trained, params, rule, batches, rng, energies,
                                           baselines)
    return TrainResult(trained, energies, baselines, bool(diverged), int(done))
