"""The network of Jimenez Rezende & Gerstner (2014) in discrete time: the groups of
arrays the kernels take, their factories, and the Bernoulli likelihood.

The model (our discrete-time reading of the paper's Section 2)
--------------------------------------------------------------
Time runs in bins of ``dt`` (default 1 ms); ``X_i(t)`` in {0, 1} says whether neuron
``i`` spiked in bin ``t``. Neurons ``0 .. nV-1`` are visible, ``nV .. N-1`` hidden
(``N = nV + nH``). Neuron i's membrane potential in bin t is

    u_i(t) = sum_j w_ij phi_j(t) + eta_0 psi_i(t) + b_i,

with the presynaptic traces and the neuron's own (adaptation) trace

    phi_j(t + 1) = exp(-dt / tau_syn)   phi_j(t) + X_j(t),     phi_j(0) = 0,
    psi_i(t + 1) = exp(-dt / tau_adapt) psi_i(t) + X_i(t),     psi_i(0) = 0.

Normalisation: a spike in bin s adds exactly 1 to the trace in bin s + 1, which then
decays by ``exp(-dt / tau)`` a bin (the kernel ``eps(k) = exp(-(k - 1) dt / tau)`` at
lag ``k >= 1`` bins, peak 1, zero at lag 0). So a weight ``w_ij`` is the jump of
``u_i`` one bin after a spike of j, in units of u (``delta_u = 1`` by default), and the
kernel's amplitude does not change with ``dt``. Causality: a bin's potential depends on
spikes of earlier bins only (t' < t), never on the bin itself; this holds for the
generative and the inference weights alike, and for the visible neurons' input to the
inference network too. Every episode (a batch, a held-out raster) starts from rest,
all traces 0.

Escape noise: ``rho_i(t) = rho_0 exp((u_i(t) - theta) / delta_u)`` (Hz) and the spike
probability of a bin is ``p_i(t) = 1 - exp(-rho_i(t) dt)``. Units: the public functions
take ``dt`` and the time constants in ms and ``rho_0`` in Hz; ``Params`` stores ``dt``
in seconds, and the kernels work with the dimensionless expected count of a bin,
``a = rho dt = exp(log_a0 + u / delta_u)``, ``log_a0 = log(rho_0 dt) - theta / delta_u``.

Two weight sets on the same neurons (``Weights``): the generative model M (every
neuron receives from every neuron, visible and hidden, recurrent; the self-connection
``w_ii`` is allowed and learned: it acts on the neuron's own trace next to the fixed
adaptation ``eta_0 psi_i``, a learnable correction to the reset when
``tau_syn = tau_adapt``), with bias ``b^M``, defines

    p(X_V, X_H) = prod_t prod_i Bernoulli(X_i(t) | p^M_i(t));

the inference model Q (weights from every neuron into the hidden neurons only, bias
``b^Q``, the same adaptation ``eta_0 psi``) defines

    q(X_H | X_V) = prod_t prod_{h in H} Bernoulli(X_h(t) | p^Q_h(t)).

Log-likelihood of a bin, exactly: ``X log p + (1 - X) log(1 - p) = X log(-expm1(-a))
- (1 - X) a``. Its derivative in u, the post-synaptic factor of the learning rules:

    d/du [X log p + (1 - X) log(1 - p)] = (1 / delta_u) (a / p) (X - p),

(``da/du = a / delta_u``; for X = 1, ``(a / delta_u) e^{-a} / p = (1 / delta_u)
a / (e^a - 1)``, for X = 0, ``-a / delta_u``). As ``a -> 0`` it tends to the
point-process factor ``(X - a) / delta_u``: exactly for X = 0, and for X = 1 as
``a / (e^a - 1) = 1 - a/2 + O(a^2)``, i.e. off by ``X a / (2 delta_u)``, the same order
as the Bernoulli likelihood's distance from its point-process limit
(``tests/spiking/test_gradients.py`` checks both against finite differences).

Array layout: weights are stored presynaptic x postsynaptic, ``W_M[j, i] = w_ij``
(``u = phi @ W_M``), so the weights a spike of j sends out are the contiguous row
``W_M[j]``: the kernels keep the filtered input ``sum_j w_ij phi_j`` itself and add
the rows of the neurons that spiked in the last bin (O(N x spikes) a bin, not O(N^2)).

References
----------
Jimenez Rezende, D. & Gerstner, W. (2014). Stochastic variational learning in recurrent
spiking networks. Front. Comput. Neurosci. 8, 38 (Section 2: the generative and the
inference network, the free energy and its local learning rules; equation numbers are
not quoted here).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.errors import ConfigError, require_positive

FLOAT = np.float64
SPIKE = np.uint8

# Defaults (see the README table; the reasons are in ``make_params``' docstring).
DT_MS = 1.0
TAU_SYN_MS = 10.0
TAU_ADAPT_MS = 10.0
ETA_0 = -5.0
RHO_0_HZ = 10.0
THETA = 0.0
DELTA_U = 1.0


class Params(NamedTuple):
    """The neuron model's scalars, as float64 (built by ``make_params`` only).

    Attributes
    ----------
    dt : float
        Bin length (s).
    decay_syn : float
        ``exp(-dt / tau_syn)``: a bin's decay of the presynaptic traces ``phi``.
    decay_adapt : float
        ``exp(-dt / tau_adapt)``: a bin's decay of the adaptation trace ``psi``.
    eta_0 : float
        Amplitude of the adaptation (reset) kernel, units of u (negative: a reset).
    log_a0 : float
        ``log(rho_0 dt) - theta / delta_u``: ``a = rho dt = exp(log_a0 + u / delta_u)``.
    inv_delta_u : float
        ``1 / delta_u``.
    rho_0 : float
        Intensity at ``u = theta`` (Hz).
    theta : float
        Soft threshold (units of u).
    delta_u : float
        Escape-noise width (units of u).
    tau_syn, tau_adapt : float
        Time constants (s).
    """

    dt: float
    decay_syn: float
    decay_adapt: float
    eta_0: float
    log_a0: float
    inv_delta_u: float
    rho_0: float
    theta: float
    delta_u: float
    tau_syn: float
    tau_adapt: float


class Weights(NamedTuple):
    """Generative (M) and inference (Q) weights and biases (built by ``make_weights``).

    N = nV + nH neurons, visible first. Layout presynaptic x postsynaptic.

    Attributes
    ----------
    W_M : ndarray, float64, shape (N, N)
        ``W_M[j, i]``: generative weight from neuron j to neuron i.
    b_M : ndarray, float64, shape (N,)
        Generative biases.
    W_Q : ndarray, float64, shape (N, nH)
        ``W_Q[j, h]``: inference weight from neuron j to hidden neuron ``nV + h``.
    b_Q : ndarray, float64, shape (nH,)
        Inference biases of the hidden neurons.
    """

    W_M: np.ndarray
    b_M: np.ndarray
    W_Q: np.ndarray
    b_Q: np.ndarray

    @property
    def n_neurons(self) -> int:
        return self.b_M.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.b_Q.shape[0]

    @property
    def n_visible(self) -> int:
        return self.b_M.shape[0] - self.b_Q.shape[0]

    def copy(self) -> "Weights":
        """Independent copies of the four arrays."""
        return Weights(*(a.copy() for a in self))


class Rule(NamedTuple):
    """The learning rule's scalars (built by ``make_rule`` only).

    Attributes
    ----------
    mu_M : float
        Learning rate of the generative weights and biases.
    mu_Q : float
        Learning rate of the inference weights and biases.
    baseline : bool
        True: the Q update is modulated by ``F - F_bar`` (novelty); False: by F (naive).
    baseline_tau : float
        Time constant of the moving average ``F_bar``, in batches.
    """

    mu_M: float
    mu_Q: float
    baseline: bool
    baseline_tau: float


def _finite(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return number


def make_params(dt_ms: float = DT_MS, tau_syn_ms: float = TAU_SYN_MS,
                tau_adapt_ms: float = TAU_ADAPT_MS, eta_0: float = ETA_0,
                rho_0_hz: float = RHO_0_HZ, theta: float = THETA,
                delta_u: float = DELTA_U) -> Params:
    """The neuron model's scalars, validated and converted to the kernels' units.

    Parameters
    ----------
    dt_ms : float
        Bin length (ms). Default 1 ms: below the 10 ms kernels, and at the stairs' peak
        rate (80 Hz) a bin holds a spike with probability 0.08, so the Bernoulli model
        is close to its point-process limit.
    tau_syn_ms : float
        Time constant of the presynaptic traces (ms). Default 10 ms, the data's fastest
        structure (a stair step lasts 10-30 ms).
    tau_adapt_ms : float
        Time constant of the adaptation kernel (ms). Default 10 ms, as tau_syn.
    eta_0 : float
        Adaptation amplitude (units of u). Default -5: one bin after a spike the
        intensity is ``e^-5 ~ 0.7 %`` of its value, a soft refractory period of a few ms.
    rho_0_hz : float
        Intensity at ``u = theta`` (Hz). Default 10 Hz: a bias of 0 starts a neuron
        between the data's background (2 Hz) and peak (80 Hz) rates.
    theta : float
        Soft threshold (units of u). Default 0: redundant with the biases.
    delta_u : float
        Escape-noise width; sets the unit of u. Default 1.

    Returns
    -------
    Params

    Raises
    ------
    ConfigError
        A time constant, ``dt``, ``rho_0`` or ``delta_u`` not positive, or ``eta_0`` or
        ``theta`` not finite.
    """
    dt = require_positive("dt_ms", dt_ms) * 1e-3
    tau_syn = require_positive("tau_syn_ms", tau_syn_ms) * 1e-3
    tau_adapt = require_positive("tau_adapt_ms", tau_adapt_ms) * 1e-3
    rho_0 = require_positive("rho_0_hz", rho_0_hz)
    delta_u = require_positive("delta_u", delta_u)
    theta = _finite("theta", theta)
    eta_0 = _finite("eta_0", eta_0)
    return Params(dt=float(dt), decay_syn=math.exp(-dt / tau_syn),
                  decay_adapt=math.exp(-dt / tau_adapt), eta_0=float(eta_0),
                  log_a0=math.log(rho_0 * dt) - theta / delta_u, inv_delta_u=1.0 / delta_u,
                  rho_0=float(rho_0), theta=float(theta), delta_u=float(delta_u),
                  tau_syn=float(tau_syn), tau_adapt=float(tau_adapt))


def dt_ms(params: Params) -> float:
    """The bin length of ``params`` in ms."""
    return params.dt * 1e3


def make_rule(mu_M: float = 3e-3, mu_Q: float = 3e-5, baseline: bool = True,
              baseline_tau: float = 10.0) -> Rule:
    """The learning rule's scalars.

    Parameters
    ----------
    mu_M, mu_Q : float
        Learning rates (0 freezes that set). Chosen on the stairs (30 visible, 50
        hidden, 200 ms batches, defaults otherwise, one seed). ``mu_M = 3e-3``: the best
        held-out IS log-likelihood of the grid 1e-4, 1e-3, 3e-3, 1e-2 after 2000
        batches (1e-2 falls faster, then stalls higher). ``mu_Q = 3e-5``: stable over
        5000 batches for ``baseline_tau`` 1, 3, 10 and 30; 1e-4 diverged in one run of
        those four (``baseline_tau = 1``, after 1250 batches), 3e-4 in all four, 1e-3
        within 15 batches. The Q gradient is F - F_bar, tens of nats, times an
        eligibility, hence the much smaller rate; the naive rule (F itself, ~10^3
        nats) diverged within 2000 batches at every ``mu_Q >= 1e-5`` (1e-6 was stable).
    baseline : bool
        True (default): the novelty rule with ``F - F_bar``; False: the naive rule with F.
    baseline_tau : float
        Time constant of ``F_bar`` in batches (default 10: it follows the training
        trend within a few dozen batches but averages over the batch-to-batch noise;
        1 to 30 made no difference above).

    Returns
    -------
    Rule
    """
    for name, value in (("mu_M", mu_M), ("mu_Q", mu_Q)):
        if not _finite(name, value) >= 0:
            raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
    tau = require_positive("baseline_tau", baseline_tau)
    if tau < 1:
        raise ConfigError(f"baseline_tau must be at least 1 batch, got {baseline_tau!r}")
    return Rule(float(mu_M), float(mu_Q), bool(baseline), float(tau))


def _array(name, value, shape) -> np.ndarray:
    try:
        array = np.array(value, dtype=FLOAT, order="C", copy=True)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an array of numbers") from None
    if array.shape != shape:
        raise ConfigError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{name} must be finite")
    return array


def make_weights(W_M, b_M, W_Q, b_Q) -> Weights:
    """Copies of the four arrays as a ``Weights``, cast to C-contiguous float64.

    Parameters
    ----------
    W_M : array, shape (N, N)
        Generative weights, presynaptic x postsynaptic.
    b_M : array, shape (N,)
    W_Q : array, shape (N, nH)
        Inference weights into the hidden neurons, presynaptic x postsynaptic.
    b_Q : array, shape (nH,)

    Returns
    -------
    Weights

    Raises
    ------
    ConfigError
        Inconsistent shapes, no visible or no hidden neuron, or non-finite values.
    """
    b_M = np.asarray(b_M)
    b_Q = np.asarray(b_Q)
    if b_M.ndim != 1 or b_Q.ndim != 1:
        raise ConfigError("b_M and b_Q must be one-dimensional")
    n, n_hidden = b_M.shape[0], b_Q.shape[0]
    if n_hidden < 1 or n - n_hidden < 1:
        raise ConfigError(f"need at least one visible and one hidden neuron, got "
                          f"N = {n} (b_M) and nH = {n_hidden} (b_Q)")
    return Weights(_array("W_M", W_M, (n, n)), _array("b_M", b_M, (n,)),
                   _array("W_Q", W_Q, (n, n_hidden)), _array("b_Q", b_Q, (n_hidden,)))


def init_weights(n_visible: int, n_hidden: int, rng: np.random.Generator,
                 weight_std: float = 0.1, rate_hz: float = 10.0,
                 params: Params | None = None) -> Weights:
    """Random initial weights: independent normals, biases at a rate without input.

    Parameters
    ----------
    n_visible, n_hidden : int
        nV and nH (default in the pipeline: 30 visible for the stairs, 50 hidden).
    rng : numpy.random.Generator
        Draws ``W_M`` (N x N), then ``W_Q`` (N x nH), in that order.
    weight_std : float
        Standard deviation of every weight (default 0.1: at ~30 Hz inputs, the traces
        average ~0.3, so the summed input of 80 neurons varies by ~0.3 delta_u).
    rate_hz : float
        The intensity of a neuron without input and without adaptation: every bias is
        ``theta + delta_u log(rate_hz / rho_0)`` (default 10 Hz).
    params : Params, optional
        For ``theta``, ``delta_u``, ``rho_0`` (default: ``make_params()``).

    Returns
    -------
    Weights
    """
    n_visible = _count("n_visible", n_visible)
    n_hidden = _count("n_hidden", n_hidden)
    std = _finite("weight_std", weight_std)
    if std < 0:
        raise ConfigError(f"weight_std must be non-negative, got {weight_std!r}")
    rate = require_positive("rate_hz", rate_hz)
    params = make_params() if params is None else params
    n = n_visible + n_hidden
    bias = params.theta + params.delta_u * math.log(rate / params.rho_0)
    W_M = std * rng.standard_normal((n, n))
    W_Q = std * rng.standard_normal((n, n_hidden))
    return make_weights(W_M, np.full(n, bias), W_Q, np.full(n_hidden, bias))


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_weights(weights: Weights, n_visible: int | None = None) -> Weights:
    """Check that ``weights`` is a consistent ``Weights`` (shapes, dtypes, finite).

    Raises
    ------
    ConfigError
        Naming the field, or the visible size if ``n_visible`` does not match.
    """
    if not isinstance(weights, Weights):
        raise ConfigError(f"weights must be a synlearn.spiking.model.Weights, got "
                          f"{type(weights).__name__}")
    n, n_hidden = weights.b_M.shape[0], weights.b_Q.shape[0]
    expected = {"W_M": (n, n), "b_M": (n,), "W_Q": (n, n_hidden), "b_Q": (n_hidden,)}
    for name, shape in expected.items():
        array = getattr(weights, name)
        if (not isinstance(array, np.ndarray) or array.dtype != FLOAT
                or array.shape != shape or not array.flags.c_contiguous):
            raise ConfigError(f"weights.{name} must be a C-contiguous float64 array of "
                              f"shape {shape}; build weights with make_weights")
    if n_visible is not None and weights.n_visible != n_visible:
        raise ConfigError(f"the data have {n_visible} visible neurons but the weights "
                          f"{weights.n_visible} (N = {n}, nH = {n_hidden})")
    return weights


def check_params(params: Params) -> Params:
    if not isinstance(params, Params):
        raise ConfigError(f"params must be a synlearn.spiking.model.Params (make_params), "
                          f"got {type(params).__name__}")
    return params


def n_bins(duration_ms: float, params: Params, name: str = "duration_ms") -> int:
    """``duration_ms / dt`` as an integer; ConfigError if not a whole number of bins."""
    duration = require_positive(name, duration_ms)
    bins = duration / dt_ms(params)
    whole = round(bins)
    if whole < 1 or abs(bins - whole) > 1e-9 * max(1.0, bins):
        raise ConfigError(f"{name} = {duration_ms!r} ms is not a whole number of bins of "
                          f"dt = {dt_ms(params):g} ms")
    return int(whole)


def check_raster(name: str, raster, n_columns: int | None = None, ndim: int = 2,
                 columns: str = "neurons") -> np.ndarray:
    """A spike raster as C-contiguous uint8 of 0/1; ConfigError naming ``name`` if not.

    ``columns`` names what the ``n_columns`` expected columns are, for the message.
    """
    array = np.asarray(raster)
    if array.ndim != ndim:
        raise ConfigError(f"{name} must be a {ndim}-dimensional raster "
                          f"({'(batches, bins, neurons)' if ndim == 3 else '(bins, neurons)'}), "
                          f"got shape {array.shape}")
    if array.shape[-2] < 1:
        raise ConfigError(f"{name} has no time bins")
    if n_columns is not None and array.shape[-1] != n_columns:
        raise ConfigError(f"{name} has {array.shape[-1]} neurons (columns) but the weights "
                          f"have {n_columns} {columns}")
    if array.dtype != SPIKE:
        if not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_
                or np.issubdtype(array.dtype, np.floating)):
            raise ConfigError(f"{name} must hold 0/1 spike indicators, got dtype {array.dtype}")
    if not np.all((array == 0) | (array == 1)):
        raise ConfigError(f"{name} must hold 0/1 spike indicators only")
    return np.ascontiguousarray(array, dtype=SPIKE)


# --------------------------------------------------------------------------------------
# The likelihood of a raster given its intensities (NumPy; the kernels inline the same)


def bernoulli_log_likelihood(raster, rho_hz, dt_ms: float) -> float:
    """Exact log-likelihood of a raster under the Bernoulli (discrete-time) model.

    ``sum_{i,t} [X log p + (1 - X) log(1 - p)] = sum [X log(-expm1(-a)) - (1 - X) a]``,
    ``a = rho dt``, ``p = 1 - exp(-a)``.

    Parameters
    ----------
    raster : array of 0/1, shape (T, n)
    rho_hz : array, shape (T, n)
        The intensity of every neuron in every bin (Hz).
    dt_ms : float
        Bin length (ms).

    Returns
    -------
    float
    """
    x, a = _raster_and_mean_counts(raster, rho_hz, dt_ms)
    with np.errstate(divide="ignore"):
        spikes = np.where(x > 0, np.log(-np.expm1(-a)), 0.0)
    return float(np.sum(spikes) - np.sum((1.0 - x) * a))


def _raster_and_mean_counts(raster, rho_hz, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """The raster as floats and ``a = rho dt`` per bin, checked to have one shape."""
    dt = require_positive("dt_ms", dt_ms) * 1e-3
    x = np.asarray(raster, dtype=FLOAT)
    a = np.asarray(rho_hz, dtype=FLOAT) * dt
    if x.shape != a.shape:
        raise ConfigError(f"raster {x.shape} and rho_hz {a.shape} must have the same shape")
    return x, a


def continuous_log_likelihood(raster, rho_hz, dt_ms: float) -> float:
    """The point-process (continuous-time) limit of ``bernoulli_log_likelihood``.

    ``sum_i int (X_i log rho_i - rho_i) dt`` on the grid, the spike train a sum of
    deltas, plus the ``n_spikes log dt`` that a density in 1/s omits:
    ``sum_{i,t} [X log(rho dt) - rho dt]``. Per bin it differs from the Bernoulli term by
    ``X (log(p / a) + a) = X (a / 2 + O(a^2))``, so the two agree to O(dt) as dt -> 0
    (``tests/spiking/test_likelihood.py``).

    Parameters
    ----------
    raster : array of 0/1, shape (T, n)
    rho_hz : array, shape (T, n)
    dt_ms : float

    Returns
    -------
    float
    """
    x, a = _raster_and_mean_counts(raster, rho_hz, dt_ms)
    with np.errstate(divide="ignore"):
        spikes = np.where(x > 0, np.log(a), 0.0)
    return float(np.sum(spikes) - np.sum(a))


def postsynaptic_factor(x, u, params: Params) -> np.ndarray:
    """``d/du`` of a bin's Bernoulli log-likelihood: ``(1/delta_u) (a / p) (X - p)``.

    Parameters
    ----------
    x : array of 0/1
        Spike indicators.
    u : array
        Membrane potentials (same shape).
    params : Params

    Returns
    -------
    ndarray
        The factor; ``(X - a) / delta_u + X a / (2 delta_u) + O(a^2)``, ``a = rho dt``.
    """
    a = np.exp(params.log_a0 + np.asarray(u, dtype=FLOAT) * params.inv_delta_u)
    p = -np.expm1(-a)
    ratio = np.where(p > 0, a / np.where(p > 0, p, 1.0), 1.0)
    # Branch by branch, as the kernels: X = 1 gives (a / p) e^-a (1 - p loses digits).
    return params.inv_delta_u * np.where(np.asarray(x) > 0, ratio * np.exp(-a), -a)


def bin_log_likelihood(x, u, params: Params) -> np.ndarray:
    """A bin's Bernoulli log-likelihood ``X log p + (1 - X) log(1 - p)`` at potential u."""
    a = np.exp(params.log_a0 + np.asarray(u, dtype=FLOAT) * params.inv_delta_u)
    with np.errstate(divide="ignore"):
        return np.where(np.asarray(x) > 0, np.log(-np.expm1(-a)), -a)
