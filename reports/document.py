"""Pages as renderer-neutral documents: sections (with a heading level) of blocks: paragraphs, tables, heatmaps,
images, collapsed details. A paragraph or table cell is plain text or a ``Text`` of spans (links to anchors,
strong words, notes). ``render_block`` dispatches a block to a ``Renderer`` (``reports.html``, ``reports.markdown``),
so every page and every renderer shows the same numbers.

Two pages are built as documents: the run report (``reports.sections.build_document`` assembles its sections in
reading order from ``reports.sections.SECTIONS``; a new section is one more builder in that list, and a status line
that belongs on the first screen is one more entry of ``reports.sections.BANNERS``) and the nightly dashboard
(``reports.dashboard``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from reports.tables import fmt

State = Literal["passed", "raised", "failed", "skipped", "absent"]
STATES: dict[str, str] = {"passed": "passed", "raised": "raised as expected", "failed": "failed", "skipped": "skipped",
                          "absent": "not in this run"}


@dataclass(frozen=True)
class Span:
    """Marked-up words: a ``link`` (``href``: an anchor ``#...`` of the page or a file next to it), ``strong``, or a
    ``note``, a remark on what precedes it (HTML: small, on a line of its own; Markdown: in parentheses)."""

    text: str
    style: Literal["link", "strong", "note"]
    href: str = ""


@dataclass(frozen=True)
class Text:
    """A paragraph or table cell of plain words and spans."""

    spans: tuple[str | Span, ...]


Cell = str | Text


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


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
    name: str  # file name of the PNG (the report writes it to plots/; HTML embeds it)
    anchor: str = ""  # an id links can point at
    alt: str = ""  # what the image shows in words (default: its name)


Block = str | Text | Table | Heatmap | Details | Image


@dataclass(frozen=True)
class Renderer:
    """One output format: a function per kind of block (``text``: a paragraph)."""

    text: Callable[[Cell], str]
    table: Callable[[Table], str]
    heatmap: Callable[[Heatmap], str]
    details: Callable[[Details], str]
    image: Callable[[Image], str]


def render_block(b: Block, r: Renderer) -> str:
    if isinstance(b, str | Text):
        return r.text(b)
    if isinstance(b, Table):
        return r.table(b)
    if isinstance(b, Heatmap):
        return r.heatmap(b)
    if isinstance(b, Details):
        return r.details(b)
    return r.image(b)


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2  # heading level: 2 a top-level section (listed in the page's navigation), 3 a subsection

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


def to_table(df: pd.DataFrame, columns: list[str], headers: dict[str, str] | None = None) -> Table:
    """The frame's ``columns`` (those present) as text; ``headers`` renames them for display (units)."""
    cols = [c for c in columns if c in df.columns]
    rows = tuple(tuple(fmt(v, c) for c, v in zip(cols, rec, strict=True)) for rec in df[cols].itertuples(index=False))
    names = headers or {}
    return Table(tuple(names.get(c, c) for c in cols), rows)
