"""Workflow glue of the single-synapse experiment: seeds, rate grid, bad input."""

import numpy as np
import pytest

from synlearn.synapse import pipeline as synapse_pipeline
from synlearn.core.errors import ConfigError


def test_rate_grid_is_log_spaced_and_inclusive():
    etas = synapse_pipeline.classical_etas({"classical_etas": {"low": 1e-4, "high": 0.1, "count": 31}})
    assert etas.size == 31 and etas[0] == pytest.approx(1e-4) and etas[-1] == pytest.approx(0.1)
    np.testing.assert_allclose(np.diff(np.log10(etas)), 0.1)
    with pytest.raises(ConfigError, match="low < high"):
        synapse_pipeline.classical_etas({"classical_etas": {"low": 0.1, "high": 1e-4, "count": 3}})


def test_run_seeds_depend_on_identity_only():
    seed = synapse_pipeline.run_seed
    assert seed(1, "linear", 0) == seed(1, "linear", 0)
    assert len({seed(1, f, i) for f in ("linear", "cerebellar", "rl") for i in range(5)}) == 15
    assert seed(1, "linear", 0) != seed(2, "linear", 0)
    with pytest.raises(ConfigError, match="unknown feedback 'purkinje'"):
        seed(1, "purkinje", 0)
