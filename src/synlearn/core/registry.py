"""What a family declares to the workflow: its title and its figures.

Every family package (``synlearn.<family>``) defines ``TITLE`` and
``figures(section) -> list[Figure]``, given its config section. The workflow builds
one rule per declared figure and files it in the report under the family's title, so
no shared workflow file names a family.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One figure: its file name, the plot function and the tables it reads.

    Parameters
    ----------
    name : str
        File stem under ``results/figures/`` and of the caption
        ``workflow/report/<name>.rst``.
    function : str
        Name of the function in ``synlearn.<family>.plots`` that draws it; it receives a
        mapping from the keys of ``tables`` to DataFrames and returns a
        ``matplotlib.figure.Figure``.
    tables : dict of str to str
        Argument name -> table path relative to the results folder.
    caption : str
        Stem of the caption template ``workflow/report/<caption>.rst``; empty: ``name``.
        Figures drawn by one function for several studies share one template.
    """

    name: str
    function: str
    tables: dict[str, str] = field(default_factory=dict)
    caption: str = ""

    @property
    def template(self) -> str:
        """Stem of the caption template this figure renders."""
        return self.caption or self.name


@dataclass(frozen=True)
class Family:
    """A configured family: its package name, report title and figures."""

    name: str
    title: str
    figures: tuple[Figure, ...]
