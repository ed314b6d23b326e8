"""The single-synapse model of Aitchison et al. (2021): parameters, rates, kernel tuples.

``SynapseModel`` holds the parameters of the world (presynaptic rates, OU targets,
membrane noise) and of the synapses' likelihood, checks them, and builds the kernels'
``Params`` and ``Options`` tuples (``kernel_params``, ``kernel_options``), casting every
field to its exact type so that Numba compiles one signature only. ``draw_rates`` draws
the presynaptic rates and ``check_rates`` validates supplied ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import ConfigError, require_positive
from . import kernels

FEEDBACKS = tuple(kernels.FEEDBACK_CODES)
NOISE_VARIANCES = ("constant", "exact")
RL_UPDATES = ("linearised", "tanh")
PAPER_N_SYNAPSES = {"linear": 1000, "cerebellar": 1000, "rl": 100}
PAPER_TAU = {"linear": 1000.0, "cerebellar": 1000.0, "rl": 5000.0}
# the authors' choice of likelihood noise variance per feedback (approx_method /
# const_pref in their code): time-averaged constant for linear and cerebellar, the
# running value over the spiking synapses for rl
PAPER_NOISE_VARIANCE = {"linear": "constant", "cerebellar": "constant", "rl": "exact"}


@dataclass(frozen=True)
class SynapseModel:
    """Parameters of the world and of the synapses' likelihood (the authors' values).

    Parameters
    ----------
    feedback : {"linear", "cerebellar", "rl"}
    n_synapses : int, optional
        Synapses onto the neuron; default 1000 (linear, cerebellar) or 100 (rl).
    tau : float, optional
        OU time constant of the target log-weights (s); default 1000 (5000 for rl).
        ``math.inf`` switches drift off (static targets, no prior drift).
    dt : float
        Step length (s).
    prior_mean, prior_var : float
        OU mean and stationary variance of the log-weight; the Bayesian synapse's prior
        uses the same values (no model mismatch).
    sigma0 : float
        Membrane noise sd (mV).
    threshold_sd : float
        Climbing-fibre threshold in units of ``sigma0`` (cerebellar).
    sampling_variance_factor : float
        ``k``: the transmitted weight in rl is ``w = m + sqrt(k m) xi``, and, as in the
        authors' code (``s2_var``), each spiking synapse adds ``s^2 + k m`` to the
        likelihood noise variance for every feedback type. 0.0877 in the paper.
    posterior_sampling : bool
        Bayesian rl samples ``w ~ N(m, s^2)`` and the noise share is ``2 s^2`` (the
        authors' setting for the rate-dependence figure, ``k = nan``).
    noise_variance : {"constant", "exact"}, optional
        Likelihood noise variance ``S``: the time-averaged constant
        ``sigma0^2 + sum_i p_i (1 - p_i) (s_prior^2 + k m_prior)`` or the running value
        ``sigma0^2 + sum_{i spiking} (s_i^2 + k m_i)``. Default: the authors' choice,
        constant for linear and cerebellar, exact for rl.
    rl_update : {"linearised", "tanh"}
        The authors' linearised rl filter step (their default) or the full tanh form.
    rate_log10_sd : float
        Sd of ``log10(rate / 1 Hz)``.
    """

    feedback: str = "linear"
    n_synapses: int | None = None
    tau: float | None = None
    dt: float = 0.01
    prior_mean: float = -0.669
    prior_var: float = 0.07448
    sigma0: float = 2.0
    threshold_sd: float = -2.1
    sampling_variance_factor: float = 0.0877
    posterior_sampling: bool = False
    noise_variance: str | None = None
    rl_update: str = "linearised"
    rate_log10_sd: float = 0.5

    def __post_init__(self):
        if self.feedback not in FEEDBACKS:
            raise ConfigError(
                f"feedback must be one of {', '.join(FEEDBACKS)}, got {self.feedback!r}")
        if self.n_synapses is None:
            object.__setattr__(self, "n_synapses", PAPER_N_SYNAPSES[self.feedback])
        if (isinstance(self.n_synapses, bool) or not isinstance(self.n_synapses,
                                                                (int, np.integer))
                or self.n_synapses < 1):
            raise ConfigError(f"n_synapses must be a positive integer, got "
                              f"{self.n_synapses!r}")
        object.__setattr__(self, "n_synapses", int(self.n_synapses))
        if self.tau is None:
            object.__setattr__(self, "tau", PAPER_TAU[self.feedback])
        if self.tau != math.inf:
            require_positive("tau", self.tau)
        object.__setattr__(self, "tau", float(self.tau))
        for name in ("dt", "prior_var", "sigma0", "rate_log10_sd"):
            object.__setattr__(self, name, require_positive(name, getattr(self, name)))
        for name in ("prior_mean", "threshold_sd"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        k = self.sampling_variance_factor
        if not isinstance(k, (int, float, np.floating)) or not (
                k >= 0 and math.isfinite(k)):
            raise ConfigError(
                f"sampling_variance_factor must be a finite number >= 0, got {k!r}")
        if self.noise_variance is None:
            object.__setattr__(self, "noise_variance", PAPER_NOISE_VARIANCE[self.feedback])
        if self.noise_variance not in NOISE_VARIANCES:
            raise ConfigError(f"noise_variance must be one of {', '.join(NOISE_VARIANCES)}"
                              f", got {self.noise_variance!r}")
        if self.rl_update not in RL_UPDATES:
            raise ConfigError(f"rl_update must be one of {', '.join(RL_UPDATES)}, got "
                              f"{self.rl_update!r}")

    @property
    def prior_weight_mean(self) -> float:
        """Mean of the log-normal prior/stationary weight, ``exp(m + v/2)``."""
        return math.exp(self.prior_mean + 0.5 * self.prior_var)

    @property
    def prior_weight_var(self) -> float:
        return self.prior_weight_mean ** 2 * math.expm1(self.prior_var)

    @property
    def theta(self) -> float:
        return self.threshold_sd * self.sigma0

    def constant_noise_variance(self, rates_hz: np.ndarray) -> float:
        """The authors' time-averaged ``S`` (``<sig2u>``): ``sigma0^2 + sum p(1-p) V``.

        ``V`` is the prior's ``s^2 + k m`` (``2 s^2`` with posterior sampling): the noise
        share of a synapse whose belief sits at the prior, weighted by the variance
        ``p (1 - p)`` of its spike indicator.
        """
        p = np.asarray(rates_hz, dtype=float) * self.dt
        if self.posterior_sampling:
            share = 2.0 * self.prior_weight_var
        else:
            share = self.prior_weight_var + self.sampling_variance_factor * \
                self.prior_weight_mean
        return self.sigma0 ** 2 + float(np.sum(p * (1.0 - p))) * share

    def kernel_params(self, rates_hz: np.ndarray) -> kernels.Params:
        """The kernels' ``Params``, every field a Python float (Numba float64).

        Parameters
        ----------
        rates_hz : (n,) array
            Presynaptic rates, for the constant noise variance.

        Returns
        -------
        kernels.Params
        """
        return kernels.Params(
            dt=float(self.dt),
            inv_tau=0.0 if self.tau == math.inf else float(1.0 / self.tau),
            mu_prior=float(self.prior_mean),
            sigma2_prior=float(self.prior_var),
            sigma0=float(self.sigma0),
            theta=float(self.theta),
            sampling_k=float(self.sampling_variance_factor),
            const_noise_var=float(self.constant_noise_variance(rates_hz)),
            h_plus=float(kernels.normal_pdf_over_cdf(-float(self.threshold_sd))),
            h_minus=float(kernels.normal_pdf_over_cdf(float(self.threshold_sd))),
        )

    def kernel_options(self, include_bayesian, burn_in_steps, measure_every_steps,
                       record_every_steps) -> kernels.Options:
        """The kernels' ``Options``, every field a Python int or bool (Numba int64/bool).

        Parameters
        ----------
        include_bayesian : bool
            Simulate the Bayesian synapse.
        burn_in_steps : int
            First step whose time enters the error and coverage averages.
        measure_every_steps : int
            Grid spacing of coverage and variability.
        record_every_steps : int
            Grid spacing of the recorded time series.

        Returns
        -------
        kernels.Options
        """
        return kernels.Options(
            feedback=int(kernels.FEEDBACK_CODES[self.feedback]),
            exact_noise=self.noise_variance == "exact",
            posterior_sampling=bool(self.posterior_sampling),
            rl_tanh=self.rl_update == "tanh",
            include_bayes=bool(include_bayesian),
            burn_in=int(burn_in_steps),
            measure_every=int(measure_every_steps),
            record_every=int(record_every_steps),
        )


def draw_rates(model: SynapseModel, rng: np.random.Generator) -> np.ndarray:
    """Presynaptic rates (Hz), ``log10(nu) ~ N(0, sd^2)``, sorted fastest first.

    As in the authors' ``get_nudt``, the whole vector is redrawn until every spike
    probability ``nu dt`` is below 1.
    """
    scale = model.rate_log10_sd * math.log(10.0)
    while True:
        rates = np.sort(np.exp(scale * rng.standard_normal(model.n_synapses)))[::-1]
        if np.all(rates * model.dt < 1.0):
            return np.ascontiguousarray(rates)


def check_rates(model: SynapseModel, rates_hz) -> np.ndarray:
    """Supplied presynaptic rates as a contiguous float array, or ConfigError.

    One positive finite rate per synapse, each with ``rate * dt < 1``.
    """
    rates = np.asarray(rates_hz, dtype=float)
    if rates.shape != (model.n_synapses,):
        raise ConfigError(f"rates_hz must have shape ({model.n_synapses},) (one rate per "
                          f"synapse), got {rates.shape}")
    if not np.all(np.isfinite(rates)) or np.any(rates <= 0) or np.any(rates * model.dt
                                                                        >= 1):
        raise ConfigError("rates_hz must be positive and finite with rate * dt < 1")
    return np.ascontiguousarray(rates)
