import numpy as np
import pandas as pd
import pytest

from synlearn.synapse.stats import synapse_comparison


def test_synapse_comparison_picks_the_best_eligible_eta():
    rows = []
    for seed in range(3):
        rows.append(dict(feedback="linear", rule="bayes", eta=np.nan, seed=seed,
                         mse=0.010 + 0.001 * seed, coverage_2sd=0.95, diverged=False))
        for eta, mse, diverged in ((1e-3, 0.05, False), (1e-2, 0.02, False),
                                   (1e-1, 0.001, seed < 2)):  # mostly diverged: excluded
            rows.append(dict(feedback="linear", rule="classical", eta=eta, seed=seed,
                             mse=np.nan if diverged else mse, coverage_2sd=np.nan,
                             diverged=diverged))
    result = synapse_comparison(pd.DataFrame(rows)).iloc[0]
    assert result["best_eta"] == 1e-2
    assert result["bayes_mse"] == pytest.approx(0.011)
    assert result["ratio"] == pytest.approx(0.02 / 0.011)
    assert result["excluded_fraction"] == pytest.approx(1 / 3)
    assert result["n_seeds"] == 3 and result["coverage_2sd"] == pytest.approx(0.95)
