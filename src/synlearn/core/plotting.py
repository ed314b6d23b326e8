"""The figures' style, applied per figure instead of to the user's global matplotlib state.

Every family's figures use seaborn's ``ticks`` style, its ``paper`` context scaled by
1.1 and the ``deep`` palette: what ``sns.set_theme(context="paper", style="ticks",
font_scale=1.1)`` sets, except that nothing here touches ``matplotlib.rcParams`` or the
backend for longer than a figure is being built or drawn.

Use it in a figure function like this::

    from ..core.plotting import StyledFigure, styled

    @styled
    def my_figure(tables):
        fig = StyledFigure(figsize=(5, 4))
        ax = fig.subplots()
        ...
        return fig

``styled`` runs the function inside ``figure_style()``, so artists, tick labels,
legends and seaborn's default palette pick up the style when they are created.

Some rcParams are read again when the figure is drawn, not when its artists are
created: the font family behind ``"sans-serif"`` is looked up in ``font.sans-serif``
at draw time (seaborn's list starts with Arial, matplotlib's with DejaVu Sans), and
the default tick locator decides how many ticks fit from ``xtick.labelsize`` /
``ytick.labelsize`` at draw time (saved outside the style, the synapse time-series
figure got other ticks and so another constrained layout). ``StyledFigure`` therefore
keeps its style and re-enters it whenever it is drawn or measured (``draw``, and
``get_tightbbox`` for ``bbox_inches="tight"``), so a plain ``figure.savefig(path)``
from any caller (the workflow's ``plot_figure.py``, a notebook) renders the intended
style and leaves the caller's rcParams as they were; no special save function is
needed. Like everything in matplotlib's global state, this is not thread-safe: the
style is in ``matplotlib.rcParams`` while a figure is built or drawn.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import matplotlib as mpl
from matplotlib.figure import Figure

STYLE = "ticks"
CONTEXT = "paper"
FONT_SCALE = 1.1
PALETTE = "deep"

_F = TypeVar("_F", bound=Callable[..., Any])


@functools.cache
def _style_rc() -> dict[str, Any]:
    import seaborn as sns  # only the figure modules need seaborn

    rc: dict[str, Any] = {}
    rc.update(sns.axes_style(STYLE))
    rc.update(sns.plotting_context(CONTEXT, font_scale=FONT_SCALE))
    rc["axes.prop_cycle"] = mpl.cycler(color=list(sns.color_palette(PALETTE)))
    return rc


def style_rc() -> dict[str, Any]:
    """The rcParams of the figure style (a fresh copy).

    Returns
    -------
    dict
        The rc dicts of ``seaborn.axes_style("ticks")`` and
        ``seaborn.plotting_context("paper", font_scale=1.1)``, plus the ``deep``
        palette as ``axes.prop_cycle``.
    """
    return dict(_style_rc())


@contextmanager
def figure_style(rc: dict[str, Any] | None = None) -> Iterator[None]:
    """Apply the figure style to ``matplotlib.rcParams`` for the ``with`` block only.

    Parameters
    ----------
    rc : dict, optional
        Extra rcParams applied on top of the style.

    Yields
    ------
    None
        On exit, every rcParam is back to its value before the block (also after an
        exception).
    """
    with mpl.rc_context({**_style_rc(), **(rc or {})}):
        yield


def styled(function: _F) -> _F:
    """Decorator: run a figure function inside ``figure_style()``.

    Parameters
    ----------
    function : callable
        Builds and returns a figure (use ``StyledFigure`` for it, so that it is also
        drawn with the style).

    Returns
    -------
    callable
        The same function, with the style active while it runs.
    """
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with figure_style():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class StyledFigure(Figure):
    """A ``matplotlib.figure.Figure`` that is created and drawn under the figure style.

    Built without pyplot (no figure manager, no window, any backend). The style is
    stored on the figure and re-applied, for the duration of the call only, whenever
    the figure is drawn (saving, displaying) or its tight bounding box is computed.

    Parameters
    ----------
    *args, **kwargs
        Passed to ``matplotlib.figure.Figure``.
    style : dict, optional
        rcParams to use instead of ``style_rc()``.
    """

    def __init__(self, *args, style: dict[str, Any] | None = None, **kwargs):
        self._style = dict(_style_rc() if style is None else style)
        with mpl.rc_context(self._style):
            super().__init__(*args, **kwargs)

    def draw(self, renderer):
        # Figure.draw carries the rasterisation decorators; they run inside this call.
        with mpl.rc_context(self._style):
            super().draw(renderer)

    def get_tightbbox(self, renderer=None, **kwargs):
        with mpl.rc_context(self._style):
            return super().get_tightbbox(renderer, **kwargs)


def figure_facts(registry: dict[str, Callable], function: str, tables: dict) -> dict:
    """The key numbers a figure's caption quotes, from the family's ``registry``.

    Parameters
    ----------
    registry : dict of str to callable
        A family's facts functions by figure function name (its ``plots.FACTS``).
    function : str
        Name of the figure function (``mse_vs_rate``, ...).
    tables : dict of str to DataFrame
        The tables the figure reads.

    Returns
    -------
    dict
        Plain values (numbers, strings, lists, dicts); NaN where a number does not exist.

    Raises
    ------
    KeyError
        Naming the known figure functions, when ``function`` has no facts.
    """
    if function not in registry:
        raise KeyError(f"no facts for figure function {function!r}; known: {sorted(registry)}")
    return registry[function](tables)


def render_caption(template: str, facts: dict, section: dict, published: dict) -> str:
    """A figure's report caption: its Jinja template filled with this run's numbers.

    Parameters
    ----------
    template : str
        The caption template (``workflow/report/<figure>.rst``).
    facts : dict
        The figure's key numbers (``figure_facts``).
    section : dict
        The family's config section.
    published : dict
        The family's published values.

    Returns
    -------
    str
        reStructuredText. The filter ``g`` writes a number to 3 significant digits (or
        ``g(n)``), and "n/a" for a number the run does not have; an unknown name in the
        template is an error.
    """
    import jinja2

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["g"] = lambda value, digits=3: (
        "n/a" if value is None or value != value else f"{value:.{digits}g}")
    return environment.from_string(template).render(facts=facts, config=section,
                                                    published=published)
