"""The kernels' NamedTuples: built by their factories, with exact field types."""

from __future__ import annotations

import math

import numba
import numpy as np

from synlearn.synapse import kernels
from synlearn.synapse import simulation as ex
from synlearn.synapse.model import SynapseModel, check_rates, draw_rates

# the same model twice: integer-valued parameters and their float spelling
INT_MODEL = SynapseModel("cerebellar", n_synapses=6, tau=20, prior_mean=-1, sigma0=2,
                         threshold_sd=-2, sampling_variance_factor=0)
FLOAT_MODEL = SynapseModel("cerebellar", n_synapses=6, tau=20.0, prior_mean=-1.0,
                           sigma0=2.0, threshold_sd=-2.0, sampling_variance_factor=0.0)
RATES = np.array([30.0, 12.0, 5.0, 2.0, 1.0, 0.5])


def test_params_are_float64_whatever_the_spelling_of_the_model():
    params = INT_MODEL.kernel_params(RATES)
    assert all(type(value) is float for value in params)
    assert params == FLOAT_MODEL.kernel_params(RATES)
    assert numba.typeof(params) == numba.typeof(FLOAT_MODEL.kernel_params(RATES))
    assert str(numba.typeof(params)) == "Params(float64 x 10)"
    assert params.inv_tau == 1 / 20 and params.theta == -4.0
    assert params.const_noise_var == INT_MODEL.constant_noise_variance(RATES)
    static = SynapseModel("linear", n_synapses=6, tau=math.inf).kernel_params(RATES)
    assert static.inv_tau == 0.0 and type(static.inv_tau) is float


def test_options_are_int64_and_bool_whatever_the_spelling_of_the_arguments():
    spelled = INT_MODEL.kernel_options(np.bool_(True), np.int32(5), np.int64(2), 3.0)
    plain = FLOAT_MODEL.kernel_options(True, 5, 2, 3)
    assert spelled == plain
    assert [type(value) for value in spelled] == [int, bool, bool, bool, bool, int, int,
                                                  int]
    assert numba.typeof(spelled) == numba.typeof(plain)
    assert plain.feedback == kernels.CEREBELLAR and plain.burn_in == 5
    rl = SynapseModel("rl", n_synapses=6, rl_update="tanh", posterior_sampling=True,
                      noise_variance="constant").kernel_options(0, 0, 1, 1)
    assert (rl.feedback, rl.exact_noise, rl.posterior_sampling, rl.rl_tanh,
            rl.include_bayes) == (kernels.RL, False, True, True, False)


def test_an_integer_spelled_model_reuses_the_compiled_kernels_and_gives_the_same_run():
    kwargs = {"duration_tau": 0.5, "burn_in_tau": 0.1, "classical_etas": (1e-3, 1e-2),
              "seed": 1, "rates_hz": RATES}
    reference = ex.simulate(FLOAT_MODEL, **kwargs)
    compiled = len(kernels.simulate_event_driven.signatures)
    again = ex.simulate(INT_MODEL, **kwargs)
    assert len(kernels.simulate_event_driven.signatures) == compiled
    np.testing.assert_array_equal(again.bayes_mu, reference.bayes_mu)
    np.testing.assert_array_equal(again.err_classical, reference.err_classical)


def test_new_state_starts_every_rule_at_the_prior_with_zeroed_accumulators():
    params = FLOAT_MODEL.kernel_params(RATES)
    lam = np.linspace(-1.2, -0.2, 6)
    state = kernels.new_state(6, 2, params, lam, 3, 10, 4)
    assert isinstance(state, kernels.FilterState)
    np.testing.assert_array_equal(state.bayes_mu, np.full(6, params.mu_prior))
    np.testing.assert_array_equal(state.bayes_sig2, np.full(6, params.sigma2_prior))
    np.testing.assert_array_equal(state.classical_mu, np.full((6, 2), params.mu_prior))
    np.testing.assert_array_equal(state.touch_lam, lam)
    assert not np.shares_memory(state.touch_lam, lam)
    for name in ("touch_step", "err_bayes", "err_classical", "coverage_sum",
                 "variability_sum", "learning_rate_sum", "spikes_measured", "n_grid"):
        assert not np.any(getattr(state, name)), name
    assert state.diverged.shape == (3,) and not state.diverged.any()
    assert state.records.shape == (3, 3, 3) and np.isnan(state.records).all()
    assert state.touch_step.dtype == state.spikes_measured.dtype == np.int64


def test_new_world_casts_to_contiguous_int64_and_float64_without_copying_exact_input():
    exact = (np.array([0, 1, 2], dtype=np.int64), np.array([3, 4], dtype=np.int64),
             np.array([-0.5, -0.6]), np.zeros(2), np.zeros(3, dtype=np.int64),
             np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(2))
    world = kernels.new_world(*exact)
    assert isinstance(world, kernels.BlockWorld)
    assert all(np.shares_memory(field, given) or field.size == 0
               for field, given in zip(world, exact))
    loose = list(exact)
    loose[1] = np.array([[3, 9], [4, 9]], dtype=np.int32)[:, 0]  # strided int32
    loose[2] = np.array([-0.5, -0.6], dtype=np.float32)
    cast = kernels.new_world(*loose)
    assert numba.typeof(cast) == numba.typeof(world)
    np.testing.assert_array_equal(cast.spike_syn, exact[1])
    assert cast.spike_syn.flags.c_contiguous and cast.spike_lam.dtype == np.float64


def test_new_scratch_and_new_dense_world_have_the_kernel_layouts():
    scratch = kernels.new_scratch(5, 3)
    assert scratch.m.shape == scratch.w.shape == (5, 4)
    assert scratch.u_classical.shape == (3,)
    dense = kernels.new_dense_world(np.ones((4, 2), dtype=np.int8), np.zeros((5, 2)),
                                    np.zeros(4), np.zeros((4, 2), dtype=np.float32))
    assert isinstance(dense, kernels.DenseWorld)
    assert dense.spikes.dtype == np.bool_ and dense.spikes.all()
    assert dense.xi.dtype == np.float64


def test_rates_are_drawn_and_checked_by_the_model_module():
    model = SynapseModel("linear", n_synapses=50)
    rates = draw_rates(model, np.random.default_rng(0))
    assert rates.shape == (50,) and np.all(np.diff(rates) <= 0)
    assert np.all(rates * model.dt < 1)
    np.testing.assert_array_equal(check_rates(model, list(rates)), rates)
