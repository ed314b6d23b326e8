"""The single-synapse figures, drawn from the tables of small real runs."""

from __future__ import annotations

import matplotlib as mpl
import pandas as pd
import pytest
from matplotlib.figure import Figure

from synlearn.core.errors import ConfigError
from synlearn.synapse import plots
from synlearn.synapse import simulation as ex

from ..core.test_plotting import assert_figure_style, rc_snapshot


@pytest.fixture(autouse=True)
def isolated_rcparams():
    """Each test starts from, and leaves, the same rcParams even if the code under test leaks."""
    with mpl.rc_context():
        yield


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """The workflow's ``timeseries``, ``summary`` and ``rates`` tables, one feedback."""
    return {
        "timeseries": ex.run_timeseries("linear", n_synapses=30, tau=20.0, duration_tau=3),
        "summary": pd.concat([ex.run_summary("linear", n_synapses=30, tau=20.0, duration_tau=4,
                                             classical_etas=(1e-3, 1e-2), seed=s)
                              for s in (0, 1)]),
        "rates": ex.run_rate_table("linear", n_synapses=30, tau=20.0, duration_tau=4),
    }


def test_figures_are_built_from_tables(tables):
    fig = plots.plot_timeseries(tables["timeseries"], start_tau=1.0)
    assert sum(ax.get_visible() for ax in fig.axes) == 3
    fig = plots.plot_mse_vs_learning_rate(tables["summary"])
    assert len(fig.axes) == 1 and fig.axes[0].get_xscale() == "log"
    fig = plots.plot_rate_dependence(tables["rates"])
    assert len(fig.axes) == 2 and len(fig.axes[0].collections[0].get_offsets()) == 30


@pytest.mark.parametrize("function", ["timeseries", "mse_vs_eta", "rate_dependence"])
def test_figure_is_built_in_its_style_and_leaves_rcparams_alone(tables, function):
    before = rc_snapshot()
    figure = getattr(plots, function)(tables)
    assert rc_snapshot() == before
    assert isinstance(figure, Figure)
    assert figure.get_layout_engine() is not None  # constrained layout, run at draw time
    assert_figure_style(figure)
    assert rc_snapshot() == before


def test_a_rejected_table_leaves_rcparams_alone(tables):
    before = rc_snapshot()
    with pytest.raises(ConfigError, match="start_tau"):
        plots.plot_timeseries(tables["timeseries"], start_tau=1e9)
    assert rc_snapshot() == before
