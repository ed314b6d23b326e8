"""The figure style of synlearn.core.plotting: per figure, never global."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import matplotlib as mpl
import numpy as np
import pytest
import seaborn as sns
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.image import imread

from synlearn import FAMILIES
from synlearn.core.plotting import StyledFigure, figure_style, style_rc, styled

# What the style must set (seaborn's rc dicts) and keys whose values differ from
# matplotlib's defaults, so that "the figure uses the style" is a real check.
PAPER = dict(sns.plotting_context("paper", font_scale=1.1))
TICKS = dict(sns.axes_style("ticks"))
DISTINCT = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
            "ytick.labelsize", "xtick.major.size", "font.sans-serif")

PLOT_MODULES = ["synlearn.core.plotting", *(f"synlearn.{family}.plots" for family in FAMILIES)]

_IMPORT_PROBE = """
import json, sys, importlib
import matplotlib as mpl
before = mpl.rcParams.copy()
importlib.import_module(sys.argv[1])
after = mpl.rcParams.copy()
changed = sorted(k for k in before if before[k] != after[k])
print(json.dumps({"backend": mpl.get_backend(), "changed": changed}))
"""


@pytest.fixture(autouse=True)
def isolated_rcparams():
    """Each test starts from, and leaves, the same rcParams even if the code under test leaks."""
    with mpl.rc_context():
        yield


def rc_snapshot() -> dict:
    """A comparable copy of the global rcParams.

    The backend is resolved first: while it is matplotlib's "auto" placeholder, any code
    that iterates over rcParams (``Axes.bxp`` does, under seaborn's boxplot) resolves it
    to the default backend, which is not a change of the user's choice.
    """
    mpl.get_backend()
    return dict(mpl.rcParams.copy())


def points(value) -> float:
    """A font size in points (rcParams may hold names such as 'medium')."""
    return mpl.font_manager.FontProperties(size=value).get_size_in_points()


def png_pixels(figure: Figure) -> np.ndarray:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=60)
    buffer.seek(0)
    return imread(buffer)


def assert_figure_style(figure: Figure) -> None:
    """Fail unless ``figure``, drawn by a save outside any style, shows the paper style.

    Saving first matters: ticks that a locator adds at draw time are checked too. Looks
    at y tick labels and tick lengths, axis labels and titles of every visible axes.
    """
    for key in DISTINCT:
        assert style_rc()[key] != mpl.rcParamsDefault[key], key
    png_pixels(figure)  # draw outside any style context, as plot_figure.py does
    axes = [ax for ax in figure.axes if ax.get_visible() and ax.axison]
    assert axes
    for ax in axes:
        ticks = ax.yaxis.get_major_ticks()
        assert ticks
        for tick in ticks:
            assert tick.label1.get_fontsize() == pytest.approx(PAPER["ytick.labelsize"])
            assert tick.tick1line.get_markersize() == pytest.approx(PAPER["ytick.major.size"])
        for label in (ax.xaxis.label, ax.yaxis.label):
            assert label.get_fontsize() == pytest.approx(PAPER["axes.labelsize"])
        if ax.get_title():
            assert ax.title.get_fontsize() == pytest.approx(PAPER["axes.titlesize"])
        assert ax.spines["left"].get_linewidth() == pytest.approx(PAPER["axes.linewidth"])


@pytest.mark.parametrize("module", PLOT_MODULES)
def test_import_leaves_backend_and_rcparams_alone(module):
    # A fresh interpreter whose default backend is not Agg: importing the module must not
    # switch it (as matplotlib.use("Agg") did) nor change any rcParam.
    env = {**os.environ, "MPLBACKEND": "svg"}
    result = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, module], env=env,
                            capture_output=True, text=True, check=True, timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"backend": "svg", "changed": []}


def test_style_is_seaborn_paper_ticks_with_deep_palette_and_is_restored():
    before = rc_snapshot()
    with figure_style():
        for key, value in {**TICKS, **PAPER}.items():
            assert mpl.rcParams[key] == value, key
        colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [tuple(c) for c in colors] == [tuple(c) for c in sns.color_palette("deep")]
        assert mpl.rcParams["font.size"] != mpl.rcParamsDefault["font.size"]
    assert rc_snapshot() == before
    with pytest.raises(RuntimeError):
        with figure_style({"lines.linewidth": 9.0}):
            assert mpl.rcParams["lines.linewidth"] == 9.0
            raise RuntimeError("a figure function failed")
    assert rc_snapshot() == before


def test_style_matches_what_set_theme_would_set():
    with figure_style():
        styled_rc = rc_snapshot()
    with mpl.rc_context():
        sns.set_theme(context="paper", style="ticks", font_scale=1.1)
        themed = rc_snapshot()
    assert styled_rc == themed


def test_styled_function_runs_in_the_style_and_restores_rcparams():
    seen = {}

    @styled
    def figure_function(fail=False):
        """Docstring kept."""
        seen["font.size"] = mpl.rcParams["font.size"]
        if fail:
            raise ValueError("bad table")
        return StyledFigure()

    before = rc_snapshot()
    assert isinstance(figure_function(), Figure)
    assert seen["font.size"] == pytest.approx(PAPER["font.size"])
    assert rc_snapshot() == before
    with pytest.raises(ValueError, match="bad table"):
        figure_function(fail=True)
    assert rc_snapshot() == before
    assert figure_function.__doc__ == "Docstring kept."


class _RcRecorder(Artist):
    """An artist that records some rcParams when it is drawn."""

    def __init__(self, keys):
        super().__init__()
        self.keys, self.seen = keys, []

    def draw(self, renderer):
        self.seen.append({key: mpl.rcParams[key] for key in self.keys})


@pytest.mark.parametrize("bbox_inches", [None, "tight"])
@pytest.mark.parametrize("layout", [None, "constrained", "tight"])
def test_styled_figure_draws_under_its_style_whoever_saves_it(layout, bbox_inches):
    # Some rcParams are read at draw time (the sans-serif font list, the tick label
    # size by which a locator chooses how many ticks fit), so saving must apply the
    # style although the caller (plot_figure.py) just calls savefig.
    keys = ("font.sans-serif", "xtick.labelsize", "axes.titlesize")
    figure = StyledFigure(figsize=(2, 2), layout=layout)
    figure.subplots().plot([0, 1], [1, 0])
    recorder = _RcRecorder(keys)
    figure.add_artist(recorder)
    before = rc_snapshot()
    figure.savefig(io.BytesIO(), format="png", dpi=40, bbox_inches=bbox_inches)
    assert recorder.seen
    for seen in recorder.seen:
        assert seen == {key: style_rc()[key] for key in keys}
    assert rc_snapshot() == before


def _line_figure(figure_class):
    @styled
    def build():
        figure = figure_class(figsize=(3, 2.5))
        ax = figure.subplots()
        ax.plot(np.arange(20), np.sin(np.arange(20)), label="sin")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("output z")
        ax.set_title("a title")
        ax.legend()
        figure.tight_layout()
        return figure

    return build()


def test_saved_image_does_not_depend_on_the_callers_rcparams():
    foreign = {"font.sans-serif": ["DejaVu Serif"], "xtick.labelsize": 20, "ytick.labelsize": 20}
    reference = png_pixels(_line_figure(StyledFigure))
    with mpl.rc_context(foreign):
        assert np.array_equal(png_pixels(_line_figure(StyledFigure)), reference)
        # Control: a plain Figure built under the style renders differently when the
        # caller's rcParams differ at save time, so the comparison above can fail.
        assert not np.array_equal(png_pixels(_line_figure(Figure)), reference)


def test_assert_figure_style_rejects_an_unstyled_figure():
    figure = Figure(figsize=(3, 2.5))
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("t")
    with pytest.raises(AssertionError):
        assert_figure_style(figure)
    assert_figure_style(_line_figure(StyledFigure))
