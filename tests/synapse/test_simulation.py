"""Tests of the single-synapse Bayesian filter (Aitchison et al. 2021)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synlearn.core.errors import ConfigError
from synlearn.synapse import kernels
from synlearn.synapse import simulation as ex

from .reference import make_world, run_reference

ETAS = (1e-3, 1e-2, 0.1)
CONFIGS = [
    ("linear", {"noise_variance": "constant"}),
    ("linear", {"noise_variance": "exact"}),
    ("cerebellar", {"noise_variance": "constant"}),
    ("cerebellar", {"noise_variance": "exact"}),
    ("rl", {"noise_variance": "exact"}),
    ("rl", {"noise_variance": "constant"}),
    ("rl", {"rl_update": "tanh"}),
    ("rl", {"posterior_sampling": True}),
]
CONFIG_IDS = [f"{feedback}-{'-'.join(map(str, kw.values()))}" for feedback, kw in CONFIGS]


def small_world(feedback, options, n_steps=600, seed=3):
    # tau = 30 s makes the prior drift visible within the 6 s of the run
    model = ex.SynapseModel(feedback, n_synapses=40, tau=30.0, **options)
    world = make_world(model, n_steps, np.random.default_rng(seed))
    return model, world


@pytest.mark.parametrize(("feedback", "options"), CONFIGS, ids=CONFIG_IDS)
def test_dense_twin_matches_numpy_reference(feedback, options):
    model, world = small_world(feedback, options)
    ref = run_reference(model, *world, ETAS, burn_in_steps=100)
    dense = ex.simulate_on_inputs(model, *world, classical_etas=ETAS, burn_in_steps=100,
                                  method="dense")
    # the run must actually learn, or agreement would prove nothing
    assert np.max(np.abs(ref["bayes_mu"] - model.prior_mean)) > 1e-2
    assert np.max(np.abs(ref["classical_mu"] - model.prior_mean)) > 1e-2
    tight = {"rtol": 1e-9, "atol": 1e-12}
    np.testing.assert_allclose(dense.bayes_mu, ref["bayes_mu"], **tight)
    np.testing.assert_allclose(dense.bayes_sig2, ref["bayes_sig2"], **tight)
    np.testing.assert_allclose(dense.classical_mu, ref["classical_mu"], **tight)
    np.testing.assert_allclose(dense.u_trace, ref["u_trace"], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dense.err_bayes, ref["err_bayes"], **tight)
    np.testing.assert_allclose(dense.err_classical, ref["err_classical"], **tight)
    np.testing.assert_array_equal(dense.coverage_sum, ref["coverage_sum"])
    np.testing.assert_allclose(dense.learning_rate_sum, ref["learning_rate_sum"], **tight)


@pytest.mark.parametrize(("feedback", "options"), CONFIGS, ids=CONFIG_IDS)
def test_event_driven_equals_dense_twin(feedback, options):
    model, world = small_world(feedback, options)
    spikes = world[1]
    dense = ex.simulate_on_inputs(model, *world, classical_etas=ETAS, burn_in_steps=100,
                                  method="dense")
    event = ex.simulate_on_inputs(model, *world, classical_etas=ETAS, burn_in_steps=100,
                                  method="event")
    tight = {"rtol": 1e-9, "atol": 1e-12}
    np.testing.assert_allclose(event.bayes_mu, dense.bayes_mu, **tight)
    np.testing.assert_allclose(event.bayes_sig2, dense.bayes_sig2, **tight)
    np.testing.assert_allclose(event.classical_mu, dense.classical_mu, **tight)
    any_spike = spikes.any(axis=1)
    # the event kernel computes u only at steps with spikes, and must at all of them
    np.testing.assert_array_equal(np.isnan(event.u_trace[:, 0]), ~any_spike)
    np.testing.assert_allclose(event.u_trace[any_spike], dense.u_trace[any_spike],
                               rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(event.learning_rate_sum, dense.learning_rate_sum, **tight)
    np.testing.assert_array_equal(event.spikes_measured, spikes[100:].sum(axis=0))
    assert event.n_spikes == dense.n_spikes == spikes.sum()


def test_event_error_integral_matches_dense_average_on_same_world():
    # The event kernel integrates E[(mu - lambda)^2 | last touch] in closed form; the
    # dense twin averages the realised squared error. On one world they differ only by
    # the target's fluctuations between spikes (seed-to-seed sd about 1.5 % here).
    model = ex.SynapseModel("linear", n_synapses=200, tau=20.0)
    world = make_world(model, 20000, np.random.default_rng(2))
    kwargs = {"classical_etas": (1e-3, 1e-2), "burn_in_steps": 4000}
    dense = ex.simulate_on_inputs(model, *world, method="dense", **kwargs).summary()
    event = ex.simulate_on_inputs(model, *world, method="event", **kwargs).summary()
    np.testing.assert_allclose(event["mse"], dense["mse"], rtol=0.06)
    assert abs(event["coverage_2sd"][0] - dense["coverage_2sd"][0]) < 0.01


def test_expected_squared_error_matches_monte_carlo():
    rng = np.random.default_rng(11)
    dt, tau, var, span_steps = 0.01, 5.0, 0.07448, 300
    offset, start_excess, target_excess = 0.1, 0.3, -0.2
    n_paths = 20000
    a = math.exp(-dt / tau)
    lam = np.full(n_paths, target_excess)  # target minus its mean
    integral = np.zeros(n_paths)
    for step in range(span_steps):
        estimate = offset + start_excess * a ** step
        # trapezoid-free left sum at fine dt: O(dt/tau) bias, far below the MC error
        integral += (estimate - lam) ** 2 * dt
        lam = lam * a + math.sqrt(var * (1 - a * a)) * rng.standard_normal(n_paths)
    _, _, q1, q2 = kernels.transition(span_steps, dt, 1 / tau, var)
    exact = kernels.expected_squared_error(offset, start_excess - target_excess,
                                           span_steps * dt, q1, q2, var)
    standard_error = integral.std() / math.sqrt(n_paths)
    assert abs(integral.mean() - exact) < 4 * standard_error


def test_generated_event_driven_agrees_with_generated_dense():
    # independent random streams: exact geometric ISIs and OU transitions versus a
    # Bernoulli draw and an OU step per synapse per step; same law, so same averages
    model = ex.SynapseModel("linear", n_synapses=200, tau=50.0)
    kwargs = {"duration_tau": 20, "classical_etas": (1e-3,), "seed": 4}
    event = ex.simulate(model, method="event", **kwargs)
    dense = ex.simulate(model, method="dense", **kwargs)
    np.testing.assert_allclose(event.rates_hz, dense.rates_hz)
    expected = np.sum(event.rates_hz * model.dt) * event.n_steps
    assert abs(event.n_spikes - expected) < 4 * math.sqrt(expected)
    assert abs(dense.n_spikes - expected) < 4 * math.sqrt(expected)
    a, b = event.summary(), dense.summary()
    np.testing.assert_allclose(a["mse"], b["mse"], rtol=0.06)
    assert abs(a["coverage_2sd"][0] - b["coverage_2sd"][0]) < 0.01


def test_static_weight_posterior_is_the_kalman_filter():
    # Drift off, linear feedback: the filter must accumulate precision m_k^2 / S per
    # spike and information m_k (u_k + m_k mu_k) / S (the linearised observation), as
    # the closed-form Kalman filter for a static weight does. The synapse's first-order
    # step differs from the exact Kalman step by O(sigma^2 m^2 / S) per spike.
    model = ex.SynapseModel("linear", n_synapses=1, tau=math.inf, noise_variance="constant")
    rates, spikes, lam, noise, xi = make_world(model, 20000, np.random.default_rng(0),
                                               rates_hz=np.array([20.0]))
    assert np.all(lam == lam[0])
    run = ex.simulate_on_inputs(model, rates, spikes, lam, noise, xi,
                                record_synapses=[0], record_every_steps=1)
    noise_var = model.constant_noise_variance(rates)
    records = run.records[0]
    precision = 1 / model.prior_var
    information = model.prior_mean / model.prior_var
    worst = 0.0
    spike_steps = np.flatnonzero(spikes[:, 0])
    assert spike_steps.size > 3000
    for k in spike_steps:
        mu_k, sig2_k = records[k, 1], records[k, 2]
        worst = max(worst, abs(sig2_k * precision - 1))
        m_k = math.exp(mu_k + sig2_k / 2)
        precision += m_k * m_k / noise_var
        information += m_k * (run.u_trace[k, -1] + m_k * mu_k) / noise_var
    assert worst < 3e-3
    assert abs(1 / run.bayes_sig2[0] / precision - 1) < 3e-3
    assert abs(run.bayes_mu[0] - information / precision) < 0.02 * math.sqrt(
        run.bayes_sig2[0])
    # and the weight was actually learned: the posterior shrank about 35-fold
    assert run.bayes_sig2[0] < model.prior_var / 30


def test_coverage_is_near_95_percent_when_the_model_is_correct():
    # k = 0 (linear feedback transmits the mean, so no sampling noise) and the exact
    # noise variance: the synapse's generative model is the world's
    model = ex.SynapseModel("linear", tau=100.0, sampling_variance_factor=0.0,
                            noise_variance="exact")
    row = ex.simulate(model, duration_tau=50, classical_etas=(), seed=0).summary().iloc[0]
    assert abs(row["coverage_2sd"] - 0.95) < 0.01


def test_bayesian_beats_every_classical_rate_with_linear_feedback():
    etas = np.logspace(-3, -2, 5)
    table = ex.simulate(ex.SynapseModel("linear"), duration_tau=8, classical_etas=etas,
                        seed=1).summary()
    bayes = table[table.rule == "bayes"]["mse"].iloc[0]
    best = table[table.rule == "classical"]["mse"].min()
    # the classical curve is convex in log eta with its minimum inside this range
    classical = table[table.rule == "classical"]["mse"].to_numpy()
    assert classical.argmin() not in (0, etas.size - 1)
    assert bayes < 0.92 * best


def log_normal_cdf(z):
    if z > 0:  # log of a number near 1: go through the small upper tail
        return math.log1p(-0.5 * math.erfc(z / math.sqrt(2)))
    return math.log(0.5 * math.erfc(-z / math.sqrt(2)))


@pytest.mark.parametrize("z", [-8.0, -3.0, -1.0, 0.0, 1.0, 2.1, 5.0])
def test_normal_pdf_over_cdf_is_derivative_of_log_cdf(z):
    h = 1e-5
    numeric = (log_normal_cdf(z + h) - log_normal_cdf(z - h)) / (2 * h)
    assert kernels.normal_pdf_over_cdf(z) == pytest.approx(numeric, rel=1e-7)


def test_normal_pdf_over_cdf_is_continuous_across_the_asymptotic_branch():
    below, above = kernels.normal_pdf_over_cdf(-30.0 - 1e-9), \
        kernels.normal_pdf_over_cdf(-30.0 + 1e-9)
    assert below == pytest.approx(above, rel=1e-9)
    assert kernels.normal_pdf_over_cdf(-60.0) == pytest.approx(60.0 + 1 / 60.0, rel=1e-5)


def log_likelihood(feedback, weight, transmitted, u, noise_var, theta):
    """log P(feedback | this synapse's weight W), other synapses in the noise."""
    mean_u = weight - transmitted
    if feedback == kernels.LINEAR:
        return -0.5 * (u - mean_u) ** 2 / noise_var
    if feedback == kernels.CEREBELLAR:
        f = 1.0 if u >= theta else -1.0
        return log_normal_cdf(f * (mean_u - theta) / math.sqrt(noise_var))
    r = abs(u)
    return math.log(math.exp(-0.5 * (r - mean_u) ** 2 / noise_var)
                    + math.exp(-0.5 * (r + mean_u) ** 2 / noise_var))


STEP_CASES = [(feedback, u, noise_var, 0.0)
              for feedback in (kernels.LINEAR, kernels.CEREBELLAR, kernels.RL)
              for u, noise_var in ((-5.0, 4.5), (0.7, 6.0), (-4.3, 4.1))]
# only rl transmits a sampled weight, so only rl sees a deviation m - w
STEP_CASES += [(kernels.RL, -1.3, 5.0, 0.2), (kernels.RL, 3.0, 4.2, -0.25)]


@pytest.mark.parametrize(("feedback", "u", "noise_var", "deviation"), STEP_CASES)
def test_filter_step_is_gain_times_likelihood_derivatives(feedback, u, noise_var,
                                                          deviation):
    # Gaussian filter: d mu = sigma^2 m dlogL/dW, d sigma^2 = sigma^4 m^2 d2logL/dW2,
    # both at the mean weight W = m; finite differences of the likelihood itself
    m, sig2, theta = 0.55, 0.05, -4.2
    transmitted = m - deviation

    def ll(weight):
        return log_likelihood(feedback, weight, transmitted, u, noise_var, theta)

    h = 1e-4
    first = (ll(m + h) - ll(m - h)) / (2 * h)
    second = (ll(m + h) - 2 * ll(m) + ll(m - h)) / (h * h)
    d_mu, d_sig2 = kernels.bayes_likelihood_step(feedback, u, noise_var, m, deviation,
                                                 sig2, theta, True)
    assert d_mu == pytest.approx(sig2 * m * first, rel=1e-6, abs=1e-12)
    assert d_sig2 == pytest.approx(sig2 ** 2 * m ** 2 * second, rel=1e-4, abs=1e-10)


def test_linearised_rl_step_is_first_order_in_the_deviation():
    u, noise_var, m, sig2 = -2.5, 5.0, 0.6, 0.06
    for deviation in (1e-3, -2e-3):
        full = kernels.bayes_likelihood_step(kernels.RL, u, noise_var, m, deviation,
                                             sig2, 0.0, True)
        linear = kernels.bayes_likelihood_step(kernels.RL, u, noise_var, m, deviation,
                                               sig2, 0.0, False)
        assert linear[0] == pytest.approx(full[0], rel=1e-4)
        assert linear[1] == pytest.approx(full[1], rel=1e-4)


def test_same_seed_same_numbers_and_different_seeds_differ():
    model = ex.SynapseModel("rl", n_synapses=30, tau=20.0)
    kwargs = {"duration_tau": 6, "classical_etas": (1e-3, 1e-2)}
    first = ex.simulate(model, seed=7, **kwargs)
    again = ex.simulate(model, seed=7, **kwargs)
    other = ex.simulate(model, seed=8, **kwargs)
    pd.testing.assert_frame_equal(first.summary(), again.summary())
    np.testing.assert_array_equal(first.bayes_mu, again.bayes_mu)
    assert not np.array_equal(first.bayes_mu, other.bayes_mu)
    assert first.summary()["mse"].iloc[0] != other.summary()["mse"].iloc[0]


def test_tables_have_the_documented_columns():
    timeseries = ex.run_timeseries("linear", n_synapses=50, tau=20.0, duration_tau=3,
                                   seed=0)
    assert {"feedback", "seed", "synapse", "rate_hz", "time_s", "lambda_true", "mu",
            "sigma", "weight_true", "weight_mean", "weight_sd"} <= set(timeseries.columns)
    assert sorted(timeseries.synapse.unique()) == [0, 25, 49]
    assert timeseries.groupby("synapse").size().eq(300).all()
    assert np.isfinite(timeseries[["lambda_true", "mu", "sigma"]].to_numpy()).all()

    rates = ex.run_rate_table("linear", n_synapses=200, tau=20.0, duration_tau=20, seed=0)
    assert len(rates) == 200
    assert {"rate_hz", "normalised_variability", "normalised_learning_rate",
            "seed"} <= set(rates.columns)
    # the paper's prediction: faster inputs have lower variability and learning rate
    ranks = rates[["rate_hz", "normalised_variability", "normalised_learning_rate"]].rank()
    rho_var = ranks["rate_hz"].corr(ranks["normalised_variability"])  # Spearman
    rho_lr = ranks["rate_hz"].corr(ranks["normalised_learning_rate"])
    assert rho_var < -0.8 and rho_lr < -0.5

    summary = ex.run_summary("cerebellar", n_synapses=50, tau=20.0, duration_tau=5,
                             classical_etas=(1e-3, 1.0), seed=2)
    assert list(summary.rule) == ["bayes", "classical", "classical"]
    assert {"feedback", "rule", "eta", "seed", "mse", "coverage_2sd", "diverged",
            "n_spikes"} <= set(summary.columns)
    assert summary["seed"].eq(2).all()


def test_divergence_is_a_result_not_a_crash():
    # a huge fixed learning rate with rl feedback runs away; the run still returns
    table = ex.simulate(ex.SynapseModel("rl", n_synapses=50, tau=20.0), duration_tau=5,
                        classical_etas=(1e-4, 50.0), seed=0).summary()
    assert table["diverged"].tolist() == [False, False, True]
    assert np.isnan(table["mse"].iloc[2]) and np.isfinite(table["mse"].iloc[1])


@pytest.mark.parametrize(("make", "name"), [
    (lambda: ex.SynapseModel("hebbian"), "feedback"),
    (lambda: ex.SynapseModel("linear", tau=-1.0), "tau"),
    (lambda: ex.SynapseModel("linear", dt=0.0), "dt"),
    (lambda: ex.SynapseModel("linear", prior_var=-0.1), "prior_var"),
    (lambda: ex.SynapseModel("linear", sigma0=float("nan")), "sigma0"),
    (lambda: ex.SynapseModel("linear", n_synapses=0), "n_synapses"),
    (lambda: ex.SynapseModel("linear", sampling_variance_factor=-1.0),
     "sampling_variance_factor"),
    (lambda: ex.SynapseModel("linear", noise_variance="approx"), "noise_variance"),
    (lambda: ex.SynapseModel("rl", rl_update="exact"), "rl_update"),
    (lambda: ex.simulate(ex.SynapseModel("linear", n_synapses=3), rates_hz=[1, -2, 3]),
     "rates_hz"),
    (lambda: ex.simulate(ex.SynapseModel("linear", n_synapses=3), rates_hz=[1, 2]),
     "rates_hz"),
    (lambda: ex.simulate(ex.SynapseModel("linear"), classical_etas=[0.1, -1.0]),
     "classical_etas"),
    (lambda: ex.simulate(ex.SynapseModel("linear"), duration_tau=0.0), "duration_tau"),
    (lambda: ex.simulate(ex.SynapseModel("linear"), method="fast"), "method"),
    (lambda: ex.simulate(ex.SynapseModel("linear", n_synapses=3), record_synapses=[5]),
     "record_synapses"),
    (lambda: ex.run_paper_default(feedbacks=("linear", "motor")), "feedbacks"),
])
def test_bad_input_raises_config_error_naming_the_parameter(make, name):
    with pytest.raises(ConfigError, match=name):
        make()


@pytest.mark.parametrize("which", ["spikes", "target_path", "membrane_noise",
                                   "sampling_noise"])
def test_supplied_world_with_wrong_shape_is_rejected(which):
    model = ex.SynapseModel("linear", n_synapses=4, tau=10.0)
    world = list(make_world(model, 50, np.random.default_rng(0)))
    index = {"spikes": 1, "target_path": 2, "membrane_noise": 3, "sampling_noise": 4}
    world[index[which]] = world[index[which]][..., :-1]  # one synapse or step short
    with pytest.raises(ConfigError, match=which):
        ex.simulate_on_inputs(model, *world)


def test_a_finite_but_runaway_error_counts_as_diverged():
    """A fixed rate too large for rl feedback can run far away and stay finite: a
    rule whose MSE exceeds ten prior variances is diverged, and its MSE is NaN."""
    model = ex.SynapseModel("rl", n_synapses=100, tau=50.0)
    run = ex.simulate(model, duration_tau=5, classical_etas=(1e-4, 0.085), seed=0)
    raw = np.sum(run.err_classical, axis=0) / (model.n_synapses * run.measured_seconds)
    assert np.all(np.isfinite(raw)) and not run.diverged[:2].any()
    assert raw[1] > ex.DIVERGENCE_FACTOR * model.prior_var and raw[0] < 2 * model.prior_var
    table = run.summary().set_index("eta")
    assert table.loc[0.085, "diverged"] and np.isnan(table.loc[0.085, "mse"])
    assert not table.loc[1e-4, "diverged"] and table.loc[1e-4, "mse"] == pytest.approx(raw[0])
    assert "cpu_seconds" not in ex.run_summary("linear", n_synapses=20, tau=20.0,
                                               duration_tau=3, classical_etas=(1e-3,)).columns
