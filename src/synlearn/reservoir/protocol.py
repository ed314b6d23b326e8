"""Reservoir readout learning: the delta rule, the per-synapse Bayesian rule and FORCE.

The protocol (trials or continuous), from plain parameters to tidy tables. One call
simulates every (target x rule setting) run on one network in a single batched kernel
call, so the recurrent matrix is read once per time step for all of them.

References
----------
Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from
chaotic neural networks. Neuron 63, 544-557.
Aitchison, L. et al. (2021). Synaptic plasticity as Bayesian inference. Nat. Neurosci.
24, 565-571.
Menendez, J. A. & Latham, P. E. Bayesian weight updates stabilize and improve local
learning in a recurrent neural network (poster).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.errors import ConfigError, require_positive
from . import kernels
from .network import Reservoir, network_state

_log = logging.getLogger(__name__)

RULES = tuple(kernels.RULE_CODES)
PROTOCOLS = ("trials", "continuous")


@dataclass(frozen=True)
class RuleSetting:
    """One learning rule with one hyper-parameter value.

    ``rate`` is the fixed learning rate eta (``delta``), the initial per-synapse rate
    ``eta0 = sigma_i^2(0) / sigma_l^2`` (``bayes``), or the regulariser alpha of
    ``P(0) = I / alpha`` (``rls``). ``forgetting_tau`` (ms, ``bayes`` only) relaxes each
    synapse's posterior variance toward its prior at rate ``2 / forgetting_tau``, the
    prior drift of Aitchison et al. (2021); ``None`` switches it off.
    """

    rule: str
    rate: float
    forgetting_tau: float | None = None

    def __post_init__(self):
        if self.rule not in RULES:
            raise ConfigError(f"unknown rule {self.rule!r}; allowed: {', '.join(RULES)}")
        require_positive(f"{self.rule} learning rate", self.rate)
        if self.forgetting_tau is not None:
            if self.rule != "bayes":
                raise ConfigError("forgetting_tau applies to the 'bayes' rule only")
            require_positive("forgetting_tau", self.forgetting_tau)


@dataclass(frozen=True)
class Protocol:
    """How a readout is trained and tested (times in ms).

    ``kind='trials'``: every trial starts from a fresh random state (std ``init_std``),
    an input pulse of ``pulse_ms`` and amplitude ``pulse_amplitude`` through fixed input
    weights sets the phase, then one target period runs with the output fed back and
    learning on. A test is ``n_test_trials`` such trials with the weights frozen, the
    MSE taken over the period after the pulse; the same test trials at every checkpoint.
    ``kind='continuous'``: one long run, a trial is one period; a test runs a copy of
    the state autonomously with frozen weights for ``test_periods`` periods.

    ``noise_std`` is the standard deviation that the private noise alone would give a
    unit's x (an Ornstein-Uhlenbeck input of time constant tau), so it is comparable
    across dt.

    ``readout_init_std`` is sigma_w of the initial readout ``w ~ N(0, sigma_w^2 / N)``,
    drawn once per network x target and shared by every rule setting (0: ``w = 0``).
    The authors' readouts did not start at zero: their trial-0 errors differ across
    networks for the same target (Aitchison et al. 2021 result files).
    """

    kind: str = "trials"
    dt: float = 1.0
    tau: float = 10.0
    learn_every: int = 2
    noise_std: float = 0.0
    init_std: float = 1.0
    pulse_ms: float = 50.0
    pulse_amplitude: float = 2.0
    n_test_trials: int = 5
    test_periods: int = 3
    checkpoints: tuple[int, ...] = (0, 10, 25, 50, 100, 200, 300, 500, 700, 1000)
    divergence_bound: float = 1e4
    readout_init_std: float = 0.0

    def __post_init__(self):
        if self.kind not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.kind!r}; allowed: {', '.join(PROTOCOLS)}")
        for name in ("dt", "tau", "init_std", "divergence_bound"):
            require_positive(name, getattr(self, name))
        if self.dt > self.tau:
            raise ConfigError(f"dt ({self.dt}) must not exceed tau ({self.tau})")
        for name in ("noise_std", "pulse_ms", "pulse_amplitude", "readout_init_std"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("learn_every", "n_test_trials", "test_periods"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        points = list(self.checkpoints)
        if not points or points != sorted(set(points)) or points[0] < 0:
            raise ConfigError(
                f"checkpoints must be distinct, increasing, non-negative trial counts; got {points}"
            )

    @property
    def leak(self) -> float:
        return self.dt / self.tau

    @property
    def noise_step_std(self) -> float:
        # Euler-Maruyama increment whose stationary OU std (without coupling) is noise_std.
        return self.noise_std * math.sqrt(2.0 * self.dt / self.tau)

    @property
    def pulse_steps(self) -> int:
        return int(round(self.pulse_ms / self.dt))


def batch_layout(n_targets: int, n_settings: int) -> tuple[np.ndarray, np.ndarray]:
    """The target and the rule setting of every run of a batch (int64, shape (n_runs,)).

    Run ``target * n_settings + setting`` learns ``target`` with ``settings[setting]``.
    """
    target_index = np.repeat(np.arange(n_targets, dtype=np.int64), n_settings)
    setting_index = np.tile(np.arange(n_settings, dtype=np.int64), n_targets)
    return target_index, setting_index


def readout_state(n_units: int, n_targets: int, settings: list[RuleSetting],
                  protocol: Protocol, initial_readout: np.ndarray | None = None) -> kernels.Readout:
    """The initial learning state of every (target x setting) run, as the kernels take it.

    ``w = 0``, or target ``j``'s column of ``initial_readout`` for every setting; ``delta``: ``alpha_i = eta``; ``bayes``: ``alpha_i = eta0`` and, with
    forgetting, ``alpha_decay = exp(-2 learn_every dt / forgetting_tau)`` and
    ``alpha_floor = eta0 (1 - alpha_decay)`` (Aitchison et al. 2021); ``rls``: its own
    ``P = I / alpha`` (Sussillo & Abbott 2009). Runs are laid out as ``batch_layout``.

    Parameters
    ----------
    n_units : int
        Number of units N of the network.
    n_targets : int
        Number of targets; every target is learned with every setting.
    settings : list of RuleSetting
    protocol : Protocol
        Its ``learn_every`` and ``dt`` set the forgetting per learning step.
    initial_readout : numpy.ndarray, shape (n_units, n_targets), optional
        The readout every run of a target starts from; default zero.

    Returns
    -------
    kernels.Readout
        Every array C-contiguous: float64, except ``target_index`` and ``rls_slot``
        (int64) and ``diverged`` (bool, all False).
    """
    n_units = int(n_units)
    target_index, setting_index = batch_layout(int(n_targets), len(settings))
    n_runs = target_index.size
    alpha = np.zeros((n_units, n_runs))
    alpha_decay = np.ones(n_runs)
    alpha_floor = np.zeros(n_runs)
    bayes = np.zeros(n_runs)
    rls_slot = np.full(n_runs, -1, dtype=np.int64)
    learn_interval = protocol.learn_every * protocol.dt
    n_rls = 0
    for run, k in enumerate(setting_index):
        setting = settings[k]
        rate = float(setting.rate)
        if setting.rule == "rls":
            rls_slot[run] = n_rls
            n_rls += 1
            continue
        alpha[:, run] = rate
        if setting.rule == "bayes":
            bayes[run] = 1.0
            if setting.forgetting_tau is not None:
                decay = math.exp(-2.0 * learn_interval / setting.forgetting_tau)
                alpha_decay[run] = decay
                alpha_floor[run] = rate * (1.0 - decay)
    P = np.zeros((n_rls, n_units, n_units))
    for run in np.flatnonzero(rls_slot >= 0):
        P[rls_slot[run]] = np.eye(n_units) / float(settings[setting_index[run]].rate)
    if initial_readout is None:
        w = np.zeros((n_units, n_runs))
    else:
        initial_readout = np.asarray(initial_readout, dtype=np.float64)
        if initial_readout.shape != (n_units, int(n_targets)):
            raise ConfigError(f"initial_readout must have shape ({n_units}, {n_targets}), "
                              f"got {initial_readout.shape}")
        if not np.all(np.isfinite(initial_readout)):
            raise ConfigError("initial_readout contains non-finite values")
        w = np.ascontiguousarray(initial_readout[:, target_index])
    return kernels.Readout(
        target_index=kernels.kernel_array(target_index, np.int64),
        w=w,
        alpha=kernels.kernel_array(alpha, np.float64),
        alpha_decay=kernels.kernel_array(alpha_decay, np.float64),
        alpha_floor=kernels.kernel_array(alpha_floor, np.float64),
        bayes=kernels.kernel_array(bayes, np.float64),
        rls_slot=kernels.kernel_array(rls_slot, np.int64),
        P=kernels.kernel_array(P, np.float64),
        diverged=np.zeros(n_runs, dtype=np.bool_),
    )


BATCH_MULTIPLE = 8
"""Batches are padded to a multiple of this many runs. The kernels' loops over a batch
run in SIMD blocks (4 doubles per AVX2 instruction, interleaved) and any remainder
one run at a time: at N = 500 a batch of 9 cost 170 us per step against 115 for 8."""


def pad_batch(readout: kernels.Readout, multiple: int | None = None) -> kernels.Readout:
    """``readout`` with idle runs appended, so that its batch is a multiple of ``multiple``.

    An idle run has ``w = 0`` and a fixed learning rate of 0 (a delta run that never
    learns), so its readout stays 0 and it never diverges; runs are independent of
    their batch neighbours, so the real runs' numbers do not change (bit for bit).
    Callers report the first ``n_runs`` runs only.

    Parameters
    ----------
    readout : kernels.Readout
        As built by ``readout_state``.
    multiple : int, optional
        The batch width is rounded up to a multiple of this; default ``BATCH_MULTIPLE``.

    Returns
    -------
    kernels.Readout
        A new state (the input is not changed); the same object if no padding is needed.
    """
    n_units, n_runs = readout.w.shape
    extra = -n_runs % (BATCH_MULTIPLE if multiple is None else multiple)
    if extra == 0:
        return readout

    def widened(values, fill):
        shape = values.shape[:-1] + (extra,)
        return np.ascontiguousarray(
            np.concatenate([values, np.full(shape, fill, dtype=values.dtype)], axis=-1))

    return kernels.Readout(
        target_index=widened(readout.target_index, 0),
        w=widened(readout.w, 0.0),
        alpha=widened(readout.alpha, 0.0),
        alpha_decay=widened(readout.alpha_decay, 1.0),
        alpha_floor=widened(readout.alpha_floor, 0.0),
        bayes=widened(readout.bayes, 0.0),
        rls_slot=widened(readout.rls_slot, -1),
        P=readout.P,
        diverged=widened(readout.diverged, False),
    )


def initial_readouts(n_units: int, std: float, generators) -> np.ndarray | None:
    """Initial readouts ``w ~ N(0, std^2 / N)``, one column per target (None if std = 0).

    Parameters
    ----------
    n_units : int
    std : float
        sigma_w; the readout output ``w . r`` then has a variance of about
        ``std^2 * mean(r^2)``, whatever N.
    generators : sequence of numpy.random.Generator
        One per target, so a target's readout does not depend on how many targets run.
    """
    if std == 0:
        return None
    return np.column_stack([std / math.sqrt(n_units) * rng.standard_normal(n_units)
                            for rng in generators])


def frozen_copy(readout: kernels.Readout) -> kernels.Readout:
    """A copy of the state a kernel changes (``w``, ``alpha``, ``P``, ``diverged``).

    For a test: running on the copy never changes the learning state. The other fields
    are shared, so the copy has the same Numba type as ``readout``.
    """
    return readout._replace(w=readout.w.copy(), alpha=readout.alpha.copy(), P=readout.P.copy(),
                            diverged=readout.diverged.copy())


def protocol_scalars(protocol: Protocol) -> kernels.Scalars:
    """The protocol's numbers as the kernels take them, as exact Python floats and ints.

    Parameters
    ----------
    protocol : Protocol

    Returns
    -------
    kernels.Scalars
        ``divergence_bound``, ``pulse_amplitude``, ``init_std``, ``noise_step_std`` and
        ``leak = dt / tau`` as float; ``learn_every`` and ``pulse_steps`` as int.
    """
    return kernels.Scalars(
        divergence_bound=float(protocol.divergence_bound),
        learn_every=int(protocol.learn_every),
        pulse_steps=int(protocol.pulse_steps),
        pulse_amplitude=float(protocol.pulse_amplitude),
        init_std=float(protocol.init_std),
        noise_step_std=float(protocol.noise_step_std),
        leak=float(protocol.leak),
    )


@dataclass
class ReadoutResult:
    """Tables from one batched simulation.

    ``curves``: one row per run x checkpoint (target, rule, rate, forgetting_tau,
    trial, test_mse, train_mse, diverged). ``traces``: readout and target during the
    last training trial and the first test trial at each checkpoint, for the runs
    whose target index is in ``trace_targets``. ``rates``: the per-synapse learning
    rates alpha_i of the Bayesian runs at each checkpoint, with each unit's readout
    gain, for the same runs.
    """

    curves: pd.DataFrame
    traces: pd.DataFrame
    rates: pd.DataFrame


def simulate_readout_learning(
    reservoir: Reservoir,
    targets: np.ndarray,
    settings: list[RuleSetting],
    protocol: Protocol,
    train_rng: np.random.Generator,
    test_seed_rng: np.random.Generator,
    trace_targets: tuple[int, ...] = (),
    initial_readout: np.ndarray | None = None,
) -> ReadoutResult:
    """Train every (target x setting) readout on one reservoir and test at checkpoints.

    Implements the readout rules of Sussillo & Abbott (2009, Eqs. 4-5; ``rls``), the
    classical delta rule (``delta``), and the per-synapse Bayesian rule
    ``w_i += alpha_i e s_i``, ``1/alpha_i(t) = 1/eta0 + sum_{t'<=t} s_i(t')^2``
    (Menendez & Latham poster; Aitchison et al. 2021), with the error
    ``e = f - z`` (target minus output) and ``s = g_out * r`` what the readout sees.

    Parameters
    ----------
    reservoir : Reservoir
        The network (shared by every run).
    targets : numpy.ndarray, shape (n_targets, period_steps)
        One period of each target, sampled at ``protocol.dt``.
    settings : list of RuleSetting
        Rule settings; every target is learned with every setting.
    protocol : Protocol
    train_rng : numpy.random.Generator
        Draws of the training trials (initial states, noise), shared by all runs.
    test_seed_rng : numpy.random.Generator
        Used once, to seed the test trials: every checkpoint sees the same test trials.
    trace_targets : tuple of int
        Target indices for which traces and per-synapse rates are recorded.
    initial_readout : numpy.ndarray, shape (n_units, n_targets), optional
        Where each target's readout starts (every setting of a target from the same
        weights); default zero. See ``initial_readouts``.

    Returns
    -------
    ReadoutResult
    """
    targets = np.ascontiguousarray(targets, dtype=np.float64)
    if targets.ndim != 2 or targets.shape[1] < 2:
        raise ConfigError(f"targets must be a (n_targets, period_steps) array, got {targets.shape}")
    if not np.all(np.isfinite(targets)):
        raise ConfigError("targets contain non-finite values")
    if not settings:
        raise ConfigError("no rule settings given")
    bad = [t for t in trace_targets if not 0 <= t < targets.shape[0]]
    if bad:
        raise ConfigError(f"trace_targets {bad} out of range for {targets.shape[0]} targets")

    network = network_state(reservoir)
    readout = pad_batch(readout_state(reservoir.n_units, targets.shape[0], settings, protocol,
                                      initial_readout))
    scalars = protocol_scalars(protocol)
    target_index, setting_index = batch_layout(targets.shape[0], len(settings))
    n_runs = target_index.size  # the reported runs; the kernels step `width` (padded)
    width = readout.w.shape[1]
    test_seed = int(test_seed_rng.integers(2**63 - 1))
    period = targets.shape[1]
    traced_runs = np.flatnonzero(np.isin(target_index, trace_targets))

    if protocol.kind == "trials":
        trial_steps = protocol.pulse_steps + period
        state = None
    else:
        trial_steps = period
        x = np.empty((reservoir.n_units, width))
        x[:] = protocol.init_std * train_rng.standard_normal(reservoir.n_units)[:, None]
        rates = np.empty_like(x)
        kernels.tanh_array(x, rates)
        state = [x, rates]
    global_step = 0

    rows, trace_frames, rate_frames = [], [], []
    done = 0
    started = time.perf_counter()
    for checkpoint in protocol.checkpoints:
        n_train = checkpoint - done
        train_sq = np.zeros(width)
        train_trace = np.zeros((trial_steps if n_train else 0, width))
        if n_train:
            if protocol.kind == "trials":
                kernels.run_trials(network, readout, scalars, targets, n_train, True,
                                   train_rng, train_sq, train_trace)
            else:
                whole = np.zeros((n_train * period, width))
                kernels.run_continuous(network, readout, scalars, targets, state[0], state[1],
                                       n_train * period, global_step, True, train_rng,
                                       train_sq, whole)
                train_trace = whole[-period:]
                global_step += n_train * period
        test_sq, test_trace, test_diverged = _test(
            network, readout, scalars, targets, protocol, np.random.default_rng(test_seed),
            state, global_step,
        )
        reported = slice(0, n_runs)
        diverged_in_training = readout.diverged[reported]
        train_mse = np.where(diverged_in_training, np.nan,
                             train_sq[reported] / max(n_train * period, 1))
        if not n_train:
            train_mse[:] = np.nan
        diverged_now = diverged_in_training | test_diverged[reported]
        n_test_steps = (protocol.n_test_trials if protocol.kind == "trials" else protocol.test_periods) * period
        test_mse = np.where(diverged_now, np.nan, test_sq[reported] / n_test_steps)
        rows.append(
            pd.DataFrame(
                {
                    "target": target_index,
                    "setting": setting_index,
                    "trial": checkpoint,
                    "test_mse": test_mse,
                    "train_mse": train_mse,
                    "diverged": diverged_now,
                }
            )
        )
        if traced_runs.size:
            trace_frames.append(
                _trace_table(target_index, setting_index, targets, protocol, traced_runs,
                             checkpoint, train_trace, test_trace, global_step,
                             diverged_in_training, diverged_now)
            )
            rate_frames.append(_rate_table(readout, settings, setting_index, reservoir,
                                           traced_runs, checkpoint))
        done = checkpoint
        _log.info("checkpoint %d of %d: trial %d, %d of %d runs diverged, %.1f s so far",
                  len(rows), len(protocol.checkpoints), checkpoint, int(diverged_now.sum()),
                  n_runs, time.perf_counter() - started)

    curves = pd.concat(rows, ignore_index=True)
    curves = _attach_settings(curves, settings)
    traces = _attach_settings(pd.concat(trace_frames, ignore_index=True), settings) if trace_frames else pd.DataFrame()
    rates = _attach_settings(pd.concat(rate_frames, ignore_index=True), settings) if rate_frames else pd.DataFrame()
    return ReadoutResult(curves=curves, traces=traces, rates=rates)


def _test(network, readout, scalars, targets, protocol, test_rng, state, global_step):
    """Test every run with frozen weights on copies of the learning state."""
    period = targets.shape[1]
    n_runs = readout.diverged.size
    frozen = frozen_copy(readout)
    sq = np.zeros(n_runs)
    if protocol.kind == "trials":
        trace = np.zeros((protocol.pulse_steps + period, n_runs))
        # The first test trial is the one shown in the trace figure.
        kernels.run_trials(network, frozen, scalars, targets, 1, False, test_rng, sq, trace)
        if protocol.n_test_trials > 1:
            kernels.run_trials(network, frozen, scalars, targets, protocol.n_test_trials - 1,
                               False, test_rng, sq, np.zeros((0, n_runs)))
    else:
        n_steps = protocol.test_periods * period
        trace = np.zeros((n_steps, n_runs))
        kernels.run_continuous(network, frozen, scalars, targets, state[0].copy(),
                               state[1].copy(), n_steps, global_step, False, test_rng, sq, trace)
    return sq, trace, frozen.diverged & ~readout.diverged


def _trace_table(target_index, setting_index, targets, protocol, runs, checkpoint, train_trace,
                 test_trace, global_step, diverged_in_training, diverged_by_test):
    """Readout and target of the traced runs; a diverged run's readout is NaN, not the
    zeros the kernel silences it with, and flagged."""
    period = targets.shape[1]
    frames = []
    for phase, trace, diverged in (("train", train_trace, diverged_in_training),
                                   ("test", test_trace, diverged_by_test)):
        n_steps = trace.shape[0]
        if n_steps == 0:
            continue
        if protocol.kind == "trials":
            offset = protocol.pulse_steps
            steps = np.arange(n_steps) - offset
            target_step = np.where(steps >= 0, steps, -1)
        else:
            start = global_step - (n_steps if phase == "train" else 0)
            steps = np.arange(n_steps)
            target_step = (start + steps) % period
        for run in runs:
            target = targets[target_index[run]]
            frames.append(
                pd.DataFrame(
                    {
                        "target": target_index[run],
                        "setting": setting_index[run],
                        "trial": checkpoint,
                        "phase": phase,
                        "time_ms": steps * protocol.dt,
                        "output": np.full(n_steps, np.nan) if diverged[run] else trace[:, run],
                        "target_value": np.where(target_step >= 0, target[target_step], np.nan),
                        "diverged": bool(diverged[run]),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _rate_table(readout, settings, setting_index, reservoir, runs, checkpoint):
    frames = []
    for run in runs:
        setting = settings[setting_index[run]]
        if setting.rule != "bayes":
            continue
        frames.append(
            pd.DataFrame(
                {
                    "target": readout.target_index[run],
                    "setting": setting_index[run],
                    "trial": checkpoint,
                    "unit": np.arange(reservoir.n_units),
                    "readout_gain": reservoir.readout_gains,
                    "alpha": np.full(reservoir.n_units, np.nan) if readout.diverged[run]
                    else readout.alpha[:, run],
                    "diverged": readout.diverged[run],
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _attach_settings(table: pd.DataFrame, settings: list[RuleSetting]) -> pd.DataFrame:
    if table.empty:
        return table
    described = pd.DataFrame(
        {
            "setting": np.arange(len(settings)),
            "rule": [s.rule for s in settings],
            "rate": [s.rate for s in settings],
            "forgetting_tau": [np.nan if s.forgetting_tau is None else s.forgetting_tau for s in settings],
        }
    )
    merged = table.merge(described, on="setting", how="left").drop(columns="setting")
    leading = ["target", "rule", "rate", "forgetting_tau"]
    return merged[leading + [c for c in merged.columns if c not in leading]]
