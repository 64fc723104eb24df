"""The report as a renderer-neutral document: sections of blocks (text, tables, heatmaps, images, collapsed
details). Markdown and HTML render the same document, so both always show the same numbers.

``reports.sections.build_document`` assembles the sections in reading order from its ``SECTIONS``; a new section is
one more builder in that list, and a status line that belongs on the first screen is one more entry of
``reports.sections.BANNERS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from reports.tables import fmt

State = Literal["passed", "raised", "failed", "skipped", "absent"]
STATES: dict[str, str] = {"passed": "passed", "raised": "raised as expected", "failed": "failed", "skipped": "skipped",
                          "absent": "not in this run"}


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class HeatCell:
    state: State
    mark: str  # short text inside the cell: a skip reason's key, or empty
    title: str  # what hovering shows: the cell id, its outcome and reason


@dataclass(frozen=True)
class Heatmap:
    """A grid of cell outcomes: ``columns`` label the columns, each row is (label, cells)."""

    caption: str
    row_header: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[HeatCell, ...]], ...]


@dataclass(frozen=True)
class Details:
    """A collapsed block (``<details>`` in HTML): a one-line summary and the table it hides."""

    summary: str
    table: Table


@dataclass(frozen=True)
class Image:
    name: str  # file name of a PNG in plots/


Block = str | Table | Heatmap | Details | Image


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


def to_table(df: pd.DataFrame, columns: list[str], headers: dict[str, str] | None = None) -> Table:
    """The frame's ``columns`` (those present) as text; ``headers`` renames them for display (units)."""
    cols = [c for c in columns if c in df.columns]
    rows = tuple(tuple(fmt(v, c) for c, v in zip(cols, rec, strict=True)) for rec in df[cols].itertuples(index=False))
    names = headers or {}
    return Table(tuple(names.get(c, c) for c in cols), rows)
