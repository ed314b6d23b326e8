"""Single-synapse Bayesian filtering against classical fixed-rate rules.

Reproduces the synapse experiments of Aitchison et al. (2021), "Synaptic plasticity as
Bayesian inference", Nat. Neurosci. 24, 565-571 (Figs. 2-3 and the rate dependence of
Supplementary Figs. 1-2), after the authors' code (Jegmi/the-bayesian-synapse,
``Bayesian_Synapse_Code.py``), rewritten from the equations as an exact event-driven
simulation (``synlearn.synapse.kernels``); the model's parameters and the presynaptic
rates are in ``synlearn.synapse.model``.

The world: ``n`` synapses onto one neuron, presynaptic Bernoulli spikes at rates with
``log10(nu / 1 Hz) ~ N(0, 0.5^2)``, target log-weights ``lambda_i`` following
Ornstein-Uhlenbeck processes (mean -0.669, variance 0.07448, time constant ``tau``), and
the membrane error ``u = sum_i x_i (exp(lambda_i) - w_i) + sigma0 xi``. Feedback is ``u``
(linear), ``sign(u - theta)`` with ``theta = -2.1 sigma0`` (cerebellar) or the reward
``-|u|`` (rl). Tables are tidy pandas DataFrames.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.errors import ConfigError, require_positive
from . import kernels
from .model import FEEDBACKS, SynapseModel, check_rates, draw_rates

PAPER_ETAS = np.logspace(-4.0, -1.0, 31)
PAPER_SEEDS = (0, 1, 2, 3, 4)
BLOCK_STEPS = 2048  # steps drawn per generator call: O(n) overhead per block stays small
DIVERGENCE_FACTOR = 10.0  # MSE above this many prior variances is divergence (SynapseRun._diverged)


def _check_etas(classical_etas, include_bayesian) -> np.ndarray:
    etas = np.atleast_1d(np.asarray(classical_etas, dtype=float))
    if etas.ndim != 1:
        raise ConfigError(f"classical_etas must be a 1-d list of rates, got shape "
                          f"{etas.shape}")
    if not np.all(np.isfinite(etas)) or np.any(etas <= 0):
        raise ConfigError(f"classical_etas must be positive and finite, got {etas}")
    if etas.size == 0 and not include_bayesian:
        raise ConfigError("no rule to simulate: give classical_etas or include_bayesian")
    return np.ascontiguousarray(etas)


def _steps(model: SynapseModel, seconds: float, name: str) -> int:
    require_positive(name, seconds)
    return max(1, int(round(seconds / model.dt)))


@dataclass
class SynapseRun:
    """Raw result of one simulation; ``summary``/``per_synapse``/``timeseries`` tidy it.

    Error accumulators are integrals over time (s) after burn-in; ``n_grid`` counts the
    measurement times of coverage and variability.
    """

    model: SynapseModel
    seed: int | None
    method: str
    rates_hz: np.ndarray
    etas: np.ndarray
    include_bayesian: bool
    n_steps: int
    burn_in_steps: int
    bayes_mu: np.ndarray
    bayes_sig2: np.ndarray
    classical_mu: np.ndarray
    err_bayes: np.ndarray
    err_classical: np.ndarray
    coverage_sum: np.ndarray
    variability_sum: np.ndarray
    learning_rate_sum: np.ndarray
    spikes_measured: np.ndarray
    n_grid: int
    diverged: np.ndarray
    n_spikes: int
    records: np.ndarray
    record_synapses: np.ndarray
    record_every_steps: int
    u_trace: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    cpu_seconds: float = float("nan")

    @property
    def measured_seconds(self) -> float:
        return (self.n_steps - self.burn_in_steps) * self.model.dt

    def _parameters(self) -> dict:
        m = self.model
        return {"feedback": m.feedback, "seed": self.seed, "method": self.method,
                "n_synapses": m.n_synapses, "tau": m.tau, "dt": m.dt,
                "duration_tau": self.n_steps * m.dt / m.tau,
                "burn_in_tau": self.burn_in_steps * m.dt / m.tau,
                "noise_variance": m.noise_variance,
                "sampling_variance_factor": m.sampling_variance_factor,
                "posterior_sampling": m.posterior_sampling, "rl_update": m.rl_update,
                "sigma0": m.sigma0}

    def _diverged(self, flagged: bool, mse: float) -> bool:
        """A rule diverged if its state ran away (``flagged``), its MSE is not finite, or
        its MSE exceeds ``DIVERGENCE_FACTOR`` times the prior variance of the log-weight.

        An estimate that ignores the data and sits at the prior mean scores the prior
        variance; one that tracks a copy of the target drawn independently scores twice
        that. Ten times it means the estimate has run away from every plausible weight,
        even if it is still a finite number (a fixed rate too large for rl feedback
        reached 4.5e52 without overflowing).
        """
        return flagged or not math.isfinite(mse) or mse > DIVERGENCE_FACTOR * self.model.prior_var

    def summary(self) -> pd.DataFrame:
        """One row per rule: ``mse``, ``coverage_2sd`` (Bayesian), ``diverged``, ..."""
        rows = []
        n = self.model.n_synapses
        measured = self.measured_seconds
        base = self._parameters()
        base.update({"n_spikes": self.n_spikes,
                     "mean_rate_hz": float(np.mean(self.rates_hz))})
        if self.include_bayesian:
            mse = float(np.sum(self.err_bayes) / (n * measured))
            coverage = float(np.sum(self.coverage_sum) / (n * self.n_grid)) \
                if self.n_grid else float("nan")
            bad = self._diverged(bool(self.diverged[-1]), mse)
            rows.append({**base, "rule": "bayes", "eta": float("nan"),
                         "mse": float("nan") if bad else mse,
                         "coverage_2sd": float("nan") if bad else coverage,
                         "diverged": bad})
        for r, eta in enumerate(self.etas):
            mse = float(np.sum(self.err_classical[:, r]) / (n * measured))
            bad = self._diverged(bool(self.diverged[r]), mse)
            rows.append({**base, "rule": "classical", "eta": float(eta),
                         "mse": float("nan") if bad else mse,
                         "coverage_2sd": float("nan"), "diverged": bad})
        return pd.DataFrame(rows)

    def per_synapse(self) -> pd.DataFrame:
        """Figure (c) table, one row per synapse (Bayesian rule).

        ``normalised_variability`` is the time average of ``s_i^2 / m_i`` (variance over
        mean of the weight) and ``normalised_learning_rate`` the average over the
        synapse's spikes of ``|Delta m_i| / m_i`` from the likelihood step, as in the
        authors' Supplementary Figs. 1-2.
        """
        if not self.include_bayesian:
            raise ConfigError("per_synapse needs a run with include_bayesian=True")
        with np.errstate(invalid="ignore", divide="ignore"):
            table = pd.DataFrame({
                "synapse": np.arange(self.model.n_synapses),
                "rate_hz": self.rates_hz,
                "normalised_variability": self.variability_sum / self.n_grid,
                "normalised_learning_rate": self.learning_rate_sum / self.spikes_measured,
                "n_spikes": self.spikes_measured,
                "mse": self.err_bayes / self.measured_seconds,
                "coverage_2sd": self.coverage_sum / self.n_grid,
            })
        for key, value in self._parameters().items():
            table[key] = value
        return table

    def timeseries(self) -> pd.DataFrame:
        """Recorded synapses: true log-weight, posterior mean and sd, and weight space."""
        frames = []
        times = np.arange(self.records.shape[1]) * self.record_every_steps * self.model.dt
        for slot, synapse in enumerate(self.record_synapses):
            lam, mu, sig2 = self.records[slot].T
            weight_mean = np.exp(mu + 0.5 * sig2)
            frames.append(pd.DataFrame({
                "synapse": int(synapse), "rate_hz": self.rates_hz[synapse],
                "time_s": times, "time_tau": times / self.model.tau,
                "lambda_true": lam, "mu": mu, "sigma": np.sqrt(sig2),
                "weight_true": np.exp(lam), "weight_mean": weight_mean,
                "weight_sd": weight_mean * np.sqrt(np.expm1(sig2)),
            }))
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for key, value in self._parameters().items():
            table[key] = value
        return table


def simulate(model: SynapseModel, *, duration_tau: float = 500.0, burn_in_tau: float = 2.0,
             classical_etas=PAPER_ETAS, include_bayesian: bool = True, seed: int = 0,
             rates_hz=None, measure_every_tau: float = 0.01, record_synapses=(),
             record_every_tau: float = 0.01, method: str = "event") -> SynapseRun:
    """Simulate the Bayesian synapse and classical rules on one shared world.

    Implements Aitchison et al. (2021), Methods (Eqs. for the linear, cerebellar and
    reinforcement-learning likelihoods, Gaussian filter plus OU prior drift of mean and
    variance), with the forms of the authors' code. All rules share spikes, targets,
    membrane noise and weight-sampling noise (common random numbers); each computes its
    own ``u``.

    With ``method="event"`` (default) each synapse is touched only when it spikes (or is
    recorded); its belief relaxes and its target moves by exact transitions in between.
    The time-averaged squared error ``(mu_i - lambda_i)^2`` is integrated in closed form
    between touches: the exact expectation given the state at the touch (the estimate
    relaxes deterministically, the target is Gaussian), which is unbiased and has less
    noise than sampling. Coverage (truth within 2 posterior sd) and normalised
    variability are evaluated on a grid of spacing ``measure_every_tau``, coverage as the
    exact conditional probability given the last touch. ``method="dense"`` runs the
    step-by-step twin (every synapse every step, error and coverage measured each step).

    Parameters
    ----------
    model : SynapseModel
    duration_tau, burn_in_tau : float
        Run length and discarded initial part, in units of ``tau`` (in seconds when
        ``tau`` is infinite).
    classical_etas : array_like
        Fixed learning rates of the classical rules (default: 31 log-spaced in
        [1e-4, 0.1]).
    include_bayesian : bool
    seed : int
        Seeds ``numpy.random.default_rng``; the rates are drawn from it first.
    rates_hz : array_like, optional
        Presynaptic rates; drawn (sorted fastest first) if omitted.
    measure_every_tau : float
        Grid spacing of coverage and variability, in units of ``tau``.
    record_synapses : sequence of int
        Synapses whose state is recorded every ``record_every_tau`` (time series).
    method : {"event", "dense"}

    Returns
    -------
    SynapseRun
    """
    if method not in ("event", "dense"):
        raise ConfigError(f"method must be 'event' or 'dense', got {method!r}")
    etas = _check_etas(classical_etas, include_bayesian)
    unit = model.tau if math.isfinite(model.tau) else 1.0
    n_steps = _steps(model, duration_tau * unit, "duration_tau")
    if not (burn_in_tau >= 0 and burn_in_tau < duration_tau):
        raise ConfigError(f"burn_in_tau must be >= 0 and < duration_tau, got {burn_in_tau}")
    burn_in_steps = int(round(burn_in_tau * unit / model.dt))
    measure_every = _steps(model, measure_every_tau * unit, "measure_every_tau")
    record_every = _steps(model, record_every_tau * unit, "record_every_tau")
    record = np.asarray(record_synapses, dtype=np.int64).reshape(-1)
    if np.any(record < 0) or np.any(record >= model.n_synapses) or \
            len(set(record.tolist())) != record.size:
        raise ConfigError(f"record_synapses must be distinct indices in "
                          f"[0, {model.n_synapses}), got {record_synapses!r}")
    if method == "dense" and record.size:
        raise ConfigError("record_synapses is only supported by method='event'")
    rng = np.random.default_rng(seed)
    rates = draw_rates(model, rng) if rates_hz is None else check_rates(model, rates_hz)
    params = model.kernel_params(rates)
    options = model.kernel_options(include_bayesian, burn_in_steps, measure_every,
                                   record_every)
    record_slot = np.full(model.n_synapses, -1, dtype=np.int64)
    record_slot[record] = np.arange(record.size)
    spike_prob = rates * model.dt

    start = time.process_time()
    if method == "event":
        state, n_spikes = kernels.simulate_event_driven(
            rng, n_steps, BLOCK_STEPS, spike_prob, params, options, etas, record_slot,
            record.size)
    else:
        empty2 = np.empty((0, 0))
        drawn = kernels.new_dense_world(np.empty((0, 0), dtype=np.bool_), empty2,
                                        np.empty(0), empty2)
        state, _, n_spikes = kernels.simulate_dense(
            rng, n_steps, spike_prob, params, options, etas, drawn, False)
    cpu = time.process_time() - start
    return _make_run(model, seed, method, rates, etas, include_bayesian, n_steps,
                     burn_in_steps, state, n_spikes, record, record_every, None, cpu)


def _make_run(model, seed, method, rates, etas, include_bayesian, n_steps, burn_in_steps,
              state, n_spikes, record, record_every, u_trace, cpu) -> SynapseRun:
    return SynapseRun(
        model=model, seed=seed, method=method, rates_hz=rates, etas=etas,
        include_bayesian=bool(include_bayesian), n_steps=n_steps,
        burn_in_steps=burn_in_steps, bayes_mu=state.bayes_mu,
        bayes_sig2=state.bayes_sig2, classical_mu=state.classical_mu,
        err_bayes=state.err_bayes, err_classical=state.err_classical,
        coverage_sum=state.coverage_sum, variability_sum=state.variability_sum,
        learning_rate_sum=state.learning_rate_sum,
        spikes_measured=state.spikes_measured, n_grid=int(state.n_grid[0]),
        diverged=state.diverged, n_spikes=int(n_spikes), records=state.records,
        record_synapses=record, record_every_steps=record_every,
        u_trace=np.empty((0, 0)) if u_trace is None else u_trace, cpu_seconds=cpu)


def simulate_on_inputs(model: SynapseModel, rates_hz, spikes, target_path, membrane_noise,
                       sampling_noise, *, classical_etas=(), include_bayesian=True,
                       burn_in_steps: int = 0, measure_every_steps: int = 1,
                       record_synapses=(), record_every_steps: int = 1,
                       method: str = "event") -> SynapseRun:
    """Run either simulator on a supplied world (validation: identical inputs).

    Parameters
    ----------
    rates_hz : (n,) array
        Rates used for the constant noise variance (the spikes are given).
    spikes : (K, n) bool array
        ``x_i`` at steps ``0 .. K-1``.
    target_path : (K + 1, n) array
        Target log-weights at times ``0 .. K``; the event-driven kernel reads it only at
        spikes and recording times.
    membrane_noise : (K,) array
        Standard normal ``xi`` of each step (``u`` gets ``sigma0 xi``).
    sampling_noise : (K, n) array
        Standard normals that sample the transmitted weights (rl).

    Returns
    -------
    SynapseRun with ``u_trace`` of shape ``(K, n_rules)`` (classical rules, then the
    Bayesian one; NaN at steps without spikes for ``method="event"``).
    """
    if method not in ("event", "dense"):
        raise ConfigError(f"method must be 'event' or 'dense', got {method!r}")
    etas = _check_etas(classical_etas, include_bayesian)
    rates = check_rates(model, rates_hz)
    x = np.asarray(spikes)
    n = model.n_synapses
    if x.ndim != 2 or x.shape[1] != n or x.shape[0] < 1:
        raise ConfigError(f"spikes must have shape (n_steps, {n}), got {x.shape}")
    n_steps = x.shape[0]
    x = np.ascontiguousarray(x.astype(np.bool_))
    lam = np.ascontiguousarray(target_path, dtype=float)
    if lam.shape != (n_steps + 1, n):
        raise ConfigError(f"target_path must have shape ({n_steps + 1}, {n}), got "
                          f"{lam.shape}")
    noise = np.ascontiguousarray(membrane_noise, dtype=float)
    if noise.shape != (n_steps,):
        raise ConfigError(f"membrane_noise must have shape ({n_steps},), got {noise.shape}")
    xi = np.ascontiguousarray(sampling_noise, dtype=float)
    if xi.shape != (n_steps, n):
        raise ConfigError(f"sampling_noise must have shape ({n_steps}, {n}), got "
                          f"{xi.shape}")
    if not (0 <= burn_in_steps < n_steps):
        raise ConfigError(f"burn_in_steps must be in [0, {n_steps}), got {burn_in_steps}")
    for name, value in (("measure_every_steps", measure_every_steps),
                        ("record_every_steps", record_every_steps)):
        if int(value) < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    record = np.asarray(record_synapses, dtype=np.int64).reshape(-1)
    if np.any(record < 0) or np.any(record >= n):
        raise ConfigError(f"record_synapses must be indices in [0, {n})")
    params = model.kernel_params(rates)
    options = model.kernel_options(include_bayesian, burn_in_steps, measure_every_steps,
                                   record_every_steps)
    record_slot = np.full(n, -1, dtype=np.int64)
    record_slot[record] = np.arange(record.size)

    start = time.process_time()
    if method == "event":
        steps, synapses = np.nonzero(x)  # row-major: by step, then synapse
        spike_ptr = np.searchsorted(steps, np.arange(n_steps + 1)).astype(np.int64)
        obs_steps = np.arange(0, n_steps, int(record_every_steps))
        obs_ptr = np.zeros(n_steps + 1, dtype=np.int64)
        obs_ptr[obs_steps + 1] = record.size
        obs_ptr = np.cumsum(obs_ptr)
        obs_syn = np.tile(record, obs_steps.size)
        obs_lam = lam[np.repeat(obs_steps, record.size), obs_syn]
        world = kernels.new_world(spike_ptr, synapses, lam[steps, synapses],
                                  xi[steps, synapses], obs_ptr, obs_syn, obs_lam, noise)
        state, u_trace = kernels.simulate_event_driven_on_inputs(
            world, lam[0].copy(), params, options, etas, record_slot, record.size, True)
        n_spikes = steps.size
    else:
        if record.size:
            raise ConfigError("record_synapses is only supported by method='event'")
        unused_stream = np.random.default_rng(0)  # the world is supplied, nothing is drawn
        supplied = kernels.new_dense_world(x, lam, noise, xi)
        state, u_trace, n_spikes = kernels.simulate_dense(
            unused_stream, n_steps, rates * model.dt, params, options, etas, supplied,
            True)
    cpu = time.process_time() - start
    return _make_run(model, None, method, rates, etas, include_bayesian, n_steps,
                     int(burn_in_steps), state, n_spikes, record,
                     int(record_every_steps), u_trace, cpu)


# ---------------------------------------------------------------------------------------
# Protocols: tidy tables for the three figures
# ---------------------------------------------------------------------------------------


def run_summary(feedback: str = "linear", *, seed: int = 0, duration_tau: float = 500.0,
                burn_in_tau: float = 2.0, classical_etas=PAPER_ETAS,
                include_bayesian: bool = True, n_synapses: int | None = None,
                tau: float | None = None, dt: float = 0.01,
                noise_variance: str | None = None, **model_options) -> pd.DataFrame:
    """Figure (b) table for one seed: one row per rule (Bayesian and each classical eta).

    Columns: ``feedback, rule, eta, seed, mse, coverage_2sd, diverged, n_spikes,
    mean_rate_hz`` and the model parameters (``n_synapses, tau, dt,
    duration_tau, burn_in_tau, noise_variance, sampling_variance_factor,
    posterior_sampling, rl_update, sigma0, method``). ``model_options`` go to
    ``SynapseModel``.
    """
    model = SynapseModel(feedback=feedback, n_synapses=n_synapses, tau=tau, dt=dt,
                         noise_variance=noise_variance, **model_options)
    run = simulate(model, duration_tau=duration_tau, burn_in_tau=burn_in_tau,
                   classical_etas=classical_etas, include_bayesian=include_bayesian,
                   seed=seed)
    return run.summary()


def run_timeseries(feedback: str = "linear", *, seed: int = 0, duration_tau: float = 5.0,
                   synapses=None, record_every_tau: float = 0.01,
                   n_synapses: int | None = None, tau: float | None = None,
                   dt: float = 0.01, **model_options) -> pd.DataFrame:
    """Figure (a) table: a few synapses' true weight and posterior through time.

    Bayesian synapse only, ``duration_tau`` (default 5) long. ``synapses`` defaults to the
    fastest, the median and the slowest input. Columns: ``feedback, seed, synapse,
    rate_hz, time_s, time_tau, lambda_true, mu, sigma, weight_true, weight_mean,
    weight_sd`` and the model parameters.
    """
    model = SynapseModel(feedback=feedback, n_synapses=n_synapses, tau=tau, dt=dt,
                         **model_options)
    if synapses is None:
        n = model.n_synapses
        synapses = sorted({0, n // 2, n - 1})
    run = simulate(model, duration_tau=duration_tau,
                   burn_in_tau=min(2.0, 0.5 * duration_tau), classical_etas=(),
                   include_bayesian=True, seed=seed, record_synapses=synapses,
                   record_every_tau=record_every_tau)
    return run.timeseries()


def run_rate_table(feedback: str = "linear", *, seed: int = 0, duration_tau: float = 100.0,
                   burn_in_tau: float = 2.0, posterior_sampling: bool = True,
                   n_synapses: int | None = None, tau: float | None = None,
                   dt: float = 0.01, **model_options) -> pd.DataFrame:
    """Figure (c) table: per synapse, input rate, normalised variability and learning rate.

    The paper's prediction: higher presynaptic rate, more observations, lower posterior
    variance, lower learning rate. As in the authors' runs for this figure the Bayesian
    synapse samples its weight from the posterior (``posterior_sampling=True``) and runs
    for 100 tau. Columns: ``feedback, seed, synapse, rate_hz, normalised_variability,
    normalised_learning_rate, n_spikes, mse, coverage_2sd`` and the model parameters.
    """
    model = SynapseModel(feedback=feedback, n_synapses=n_synapses, tau=tau, dt=dt,
                         posterior_sampling=posterior_sampling, **model_options)
    run = simulate(model, duration_tau=duration_tau, burn_in_tau=burn_in_tau,
                   classical_etas=(), include_bayesian=True, seed=seed)
    return run.per_synapse()


def _summary_job(args):
    feedback, seed, duration_tau, etas, kwargs = args
    return run_summary(feedback, seed=seed, duration_tau=duration_tau,
                       classical_etas=etas, **kwargs)


def run_paper_default(*, feedbacks=FEEDBACKS, seeds=PAPER_SEEDS,
                      duration_tau: float = 500.0, classical_etas=PAPER_ETAS,
                      max_workers: int = 1,
                      **kwargs) -> pd.DataFrame:
    """The paper-scale MSE experiment: every feedback x seed, Bayesian + 31 classical.

    One event-driven kernel call per (feedback, seed) serves all 32 rules. At the default
    (500 tau, 5 seeds, 3 feedback types) this is about 1.2e10 presynaptic spikes; see
    ``benchmarks/synapse.py`` for the measured cost. ``max_workers > 1`` runs the
    jobs in separate processes (results do not depend on it). ``kwargs`` go to
    ``run_summary``.
    """
    for feedback in feedbacks:
        if feedback not in FEEDBACKS:
            raise ConfigError(
                f"feedbacks must be drawn from {', '.join(FEEDBACKS)}, got {feedback!r}")
    if int(max_workers) < 1:
        raise ConfigError(f"max_workers must be a positive integer, got {max_workers!r}")
    jobs = [(feedback, int(seed), duration_tau, classical_etas, kwargs)
            for feedback in feedbacks for seed in seeds]
    if int(max_workers) == 1:
        tables = [_summary_job(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=int(max_workers)) as pool:
            tables = list(pool.map(_summary_job, jobs))
    return pd.concat(tables, ignore_index=True)
