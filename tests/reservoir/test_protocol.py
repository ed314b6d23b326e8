"""The readout-learning protocol: batching, divergence, determinism, learning."""

import numpy as np
import pandas as pd
import pytest

from synlearn.reservoir import kernels
from synlearn.reservoir.targets import four_sines, sample_periodic_gp
from synlearn.core.errors import ConfigError
from synlearn.reservoir.protocol import (Protocol, RuleSetting, frozen_copy, protocol_scalars,
                                         readout_state, simulate_readout_learning)
from synlearn.reservoir.network import make_reservoir, network_state

PROTOCOL = Protocol(noise_std=0.05, pulse_ms=10, n_test_trials=2, checkpoints=(0, 3, 6))


def simulate(settings, protocol=PROTOCOL, n_targets=2, n_units=60, seed=0, trace_targets=()):
    reservoir = make_reservoir(n_units, 0.2, 1.5, np.random.default_rng(seed), 0.5)
    targets = sample_periodic_gp(n_targets, 40, 0.5, np.random.default_rng(seed + 1))
    return simulate_readout_learning(reservoir, targets, settings, protocol,
                                     np.random.default_rng(seed + 2), np.random.default_rng(seed + 3),
                                     trace_targets=trace_targets)


def rows_of(curves, rule, rate):
    return curves[(curves["rule"] == rule) & (curves["rate"] == rate)].reset_index(drop=True)


@pytest.mark.parametrize("kind", ["trials", "continuous"])
def test_a_run_is_bit_identical_alone_and_in_a_batch(kind):
    protocol = Protocol(kind=kind, noise_std=0.05, pulse_ms=10, n_test_trials=2, test_periods=2,
                        checkpoints=(0, 3, 6))
    settings = [RuleSetting("delta", 1e-3), RuleSetting("bayes", 1e-2), RuleSetting("rls", 1.0)]
    batched = simulate(settings, protocol).curves
    for setting in settings:
        alone = simulate([setting], protocol).curves
        pd.testing.assert_frame_equal(rows_of(batched, setting.rule, setting.rate),
                                      rows_of(alone, setting.rule, setting.rate))


@pytest.mark.parametrize("kind", ["trials", "continuous"])
def test_padding_the_batch_changes_no_number(kind, monkeypatch):
    from synlearn.reservoir import protocol as protocol_module

    protocol = Protocol(kind=kind, noise_std=0.05, pulse_ms=10, n_test_trials=2, test_periods=2,
                        checkpoints=(0, 3))
    settings = [RuleSetting("delta", 1e-3), RuleSetting("bayes", 1e-2), RuleSetting("rls", 1.0)]
    padded = simulate(settings, protocol, n_targets=3, trace_targets=(1,))  # 9 runs -> 16
    monkeypatch.setattr(protocol_module, "BATCH_MULTIPLE", 1)
    unpadded = simulate(settings, protocol, n_targets=3, trace_targets=(1,))
    for name in ("curves", "traces", "rates"):
        pd.testing.assert_frame_equal(getattr(padded, name), getattr(unpadded, name))
    assert len(padded.curves) == 9 * 2


def test_pad_batch_appends_idle_runs_only():
    from synlearn.reservoir.protocol import pad_batch

    settings = [RuleSetting("delta", 1e-3), RuleSetting("bayes", 1e-2), RuleSetting("rls", 1.0)]
    readout = readout_state(5, 3, settings, PROTOCOL)
    padded = pad_batch(readout, 8)
    assert padded.w.shape == (5, 16) and padded.diverged.shape == (16,)
    for field in kernels.Readout._fields:
        if field != "P":
            np.testing.assert_array_equal(getattr(padded, field)[..., :9], getattr(readout, field))
            assert getattr(padded, field).dtype == getattr(readout, field).dtype
            assert getattr(padded, field).flags.c_contiguous
    assert np.all(padded.alpha[:, 9:] == 0) and np.all(padded.rls_slot[9:] == -1)
    assert np.all(padded.bayes[9:] == 0) and padded.P is readout.P
    assert pad_batch(padded, 8) is padded


def test_a_diverging_run_is_flagged_and_stops_alone():
    settings = [RuleSetting("delta", 1e-3), RuleSetting("delta", 5.0)]
    curves = simulate(settings).curves
    wild = rows_of(curves, "delta", 5.0)
    tame = rows_of(curves, "delta", 1e-3)
    assert wild["diverged"].iloc[-1]
    assert wild.loc[wild["diverged"], "test_mse"].isna().all()
    assert not tame["diverged"].any()
    assert np.isfinite(tame["test_mse"]).all()
    pd.testing.assert_frame_equal(tame, rows_of(simulate([settings[0]]).curves, "delta", 1e-3))


def test_same_seed_same_numbers_different_seed_different_numbers():
    settings = [RuleSetting("bayes", 1e-2)]
    first = simulate(settings, seed=4).curves
    pd.testing.assert_frame_equal(first, simulate(settings, seed=4).curves)
    other = simulate(settings, seed=5).curves
    assert not np.allclose(first["test_mse"].iloc[2:], other["test_mse"].iloc[2:])


def test_untrained_readout_has_unit_test_mse_and_learning_lowers_it():
    protocol = Protocol(noise_std=0.05, pulse_ms=10, n_test_trials=2, checkpoints=(0, 30))
    curves = simulate([RuleSetting("bayes", 1e-2), RuleSetting("rls", 1.0)], protocol).curves
    start = curves[curves["trial"] == 0]
    np.testing.assert_allclose(start["test_mse"], 1.0, rtol=1e-12)  # z = 0, unit-variance targets
    end = curves[curves["trial"] == 30]
    assert (end["test_mse"] < 0.75).all()


def test_force_suppresses_the_error_from_the_first_period():
    """FORCE's signature: the output follows the target while learning, from the start."""
    reservoir = make_reservoir(200, 0.1, 1.5, np.random.default_rng(0))
    target = four_sines(1000.0)[None, :]
    protocol = Protocol(kind="continuous", checkpoints=(0, 1), test_periods=1)
    settings = [RuleSetting("rls", 1.0), RuleSetting("delta", 1e-3)]
    curves = simulate_readout_learning(reservoir, target, settings, protocol,
                                       np.random.default_rng(1), np.random.default_rng(2)).curves
    first = curves[curves["trial"] == 1].set_index("rule")["train_mse"]
    assert first["rls"] < 0.01  # a silent readout scores 1
    assert first["rls"] < first["delta"] / 10


def test_test_trials_are_the_same_at_every_checkpoint():
    """A frozen readout (learning off via rate ~ 0) gives the same test MSE at every checkpoint."""
    curves = simulate([RuleSetting("delta", 1e-300)]).curves
    np.testing.assert_allclose(curves["test_mse"], curves["test_mse"].iloc[0], rtol=1e-12)


def test_traces_and_rates_tables():
    result = simulate([RuleSetting("delta", 1e-3), RuleSetting("bayes", 1e-2)], trace_targets=(0,))
    traces, rates = result.traces, result.rates
    assert set(traces["phase"]) == {"train", "test"}
    assert set(traces["target"]) == {0}
    pulse = traces[traces["time_ms"] < 0]
    assert pulse["target_value"].isna().all() and traces[traces["time_ms"] >= 0]["target_value"].notna().all()
    assert set(rates["rule"]) == {"bayes"}
    by_unit = rates.pivot_table(index="unit", columns="trial", values="alpha")
    assert (by_unit.diff(axis=1).iloc[:, 1:] <= 0).all().all()  # alpha_i never increases
    first = rates[rates["trial"] == 0]["alpha"]
    np.testing.assert_allclose(first, 1e-2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "online"}, "unknown protocol 'online'; allowed: trials, continuous"),
        ({"dt": 0.0}, "dt must be a positive"),
        ({"dt": 20.0}, "dt (20.0) must not exceed tau"),
        ({"noise_std": -1.0}, "noise_std must be >= 0"),
        ({"learn_every": 0}, "learn_every must be an integer >= 1"),
        ({"checkpoints": (10, 5)}, "checkpoints must be distinct, increasing"),
    ],
)
def test_bad_protocol_names_the_parameter(kwargs, message):
    import re

    with pytest.raises(ConfigError, match=re.escape(message)):
        Protocol(**kwargs)


@pytest.mark.parametrize(
    "args, message",
    [
        (("hebb", 1e-3), "unknown rule 'hebb'; allowed: delta, bayes, rls"),
        (("delta", 0.0), "delta learning rate must be a positive"),
        (("bayes", -1e-3), "bayes learning rate must be a positive"),
        (("delta", 1e-3, 100.0), "forgetting_tau applies to the 'bayes' rule only"),
    ],
)
def test_bad_rule_setting_names_the_problem(args, message):
    import re

    with pytest.raises(ConfigError, match=re.escape(message)):
        RuleSetting(*args)


def test_bad_targets_are_rejected():
    reservoir = make_reservoir(10, 0.5, 1.5, np.random.default_rng(0))
    settings = [RuleSetting("delta", 1e-3)]
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="non-finite"):
        simulate_readout_learning(reservoir, np.full((1, 5), np.nan), settings, PROTOCOL, rng, rng)
    with pytest.raises(ConfigError, match="n_targets, period_steps"):
        simulate_readout_learning(reservoir, np.zeros(5), settings, PROTOCOL, rng, rng)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_units": 1}, "n_units must be an integer >= 2"),
        ({"gain": 0.0}, "gain must be a positive"),
        ({"connection_prob": 1.5}, "connection_prob must be in (0, 1]"),
    ],
)
def test_bad_network_parameters(kwargs, message):
    import re

    params = {"n_units": 10, "connection_prob": 0.5, "gain": 1.5, **kwargs}
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_reservoir(rng=np.random.default_rng(0), **params)


def test_kernel_state_has_one_numba_type_whatever_the_python_types():
    """The factories cast every field, so ints for floats, int32 indices or read-only
    arrays do not compile a second version of the kernels."""
    import dataclasses

    from numba import typeof

    floats = Protocol(dt=1.0, tau=10.0, learn_every=2, noise_std=0.05, init_std=1.0,
                      pulse_ms=10.0, pulse_amplitude=2.0, divergence_bound=1e4)
    ints = Protocol(dt=1, tau=10, learn_every=2.0, noise_std=0, init_std=1, pulse_ms=10,
                    pulse_amplitude=2, divergence_bound=10000)
    assert typeof(protocol_scalars(ints)) == typeof(protocol_scalars(floats))
    assert [type(v) for v in protocol_scalars(ints)] == [float, int, int] + [float] * 4

    settings = [RuleSetting("delta", 1e-3), RuleSetting("bayes", 1e-2, 100.0),
                RuleSetting("rls", 1.0)]
    int_settings = [RuleSetting("delta", 1), RuleSetting("bayes", 1, 100), RuleSetting("rls", 1)]
    readout = readout_state(np.int32(20), np.int64(2), settings, floats)
    assert typeof(readout_state(20, 2, int_settings, ints)) == typeof(readout)
    assert typeof(frozen_copy(readout)) == typeof(readout)
    assert readout.P.shape == (2, 20, 20) and list(readout.rls_slot) == [-1, -1, 0, -1, -1, 1]
    assert all(a.flags.c_contiguous and a.flags.writeable for a in readout)

    reservoir = make_reservoir(20, 0.3, 1.5, np.random.default_rng(0), 0.5)
    read_only = reservoir.readout_gains.copy()
    read_only.flags.writeable = False
    odd = dataclasses.replace(reservoir, indptr=reservoir.indptr.astype(np.int32),
                              indices=reservoir.indices.astype(np.int32),
                              feedback=reservoir.feedback.astype(np.float32),
                              readout_gains=read_only)
    assert typeof(network_state(odd)) == typeof(network_state(reservoir))
    assert network_state(reservoir).J is reservoir.weights  # no copy when none is needed

    targets = sample_periodic_gp(2, 20, 0.5, np.random.default_rng(1))
    for kind in ("trials", "continuous"):
        simulate_readout_learning(reservoir, targets, settings,
                                  dataclasses.replace(floats, kind=kind),
                                  np.random.default_rng(2), np.random.default_rng(3))
    compiled = {kernels.run_trials: set(kernels.run_trials.signatures),
                kernels.run_continuous: set(kernels.run_continuous.signatures)}
    for kind in ("trials", "continuous"):
        simulate_readout_learning(odd, targets, int_settings, dataclasses.replace(ints, kind=kind),
                                  np.random.default_rng(2), np.random.default_rng(3))
    for kernel, signatures in compiled.items():
        assert set(kernel.signatures) == signatures


def test_a_diverged_run_is_nan_in_every_table_never_zero():
    settings = [RuleSetting("delta", 1e-3), RuleSetting("delta", 5.0), RuleSetting("bayes", 50.0)]
    result = simulate(settings, trace_targets=(0,))
    last = result.curves["trial"].max()
    wild = result.traces[(result.traces["rate"] == 5.0) & (result.traces["trial"] == last)]
    assert wild["diverged"].all() and wild["output"].isna().all()
    tame = result.traces[(result.traces["rate"] == 1e-3) & (result.traces["trial"] == last)]
    assert not tame["diverged"].any() and tame["output"].notna().all()
    # the huge-eta0 Bayesian run diverges too: its per-synapse rates are NaN from then on
    bayes = result.curves[(result.curves["rule"] == "bayes") & (result.curves["target"] == 0)]
    assert bayes.set_index("trial")["diverged"].to_dict() == {0: False, 3: True, 6: True}
    rates = result.rates
    assert rates[rates["trial"] == 0]["alpha"].notna().all()
    later = rates[rates["trial"] > 0]
    assert later["diverged"].all() and later["alpha"].isna().all()
