"""Markdown renderer of the report document."""

from __future__ import annotations

from reports.document import STATES, Block, Details, Heatmap, Section, Table

MARKS = {"passed": "P", "raised": "R", "failed": "**F**", "absent": "·"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_md(t: Table) -> str:
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines)


def heatmap_md(h: Heatmap) -> str:
    """The grid with one letter per cell: P passed, R raised as expected, F failed, S<n> skipped (legend key)."""
    legend = ", ".join(f"{MARKS.get(s, 'S<n>')} {label}" for s, label in STATES.items())
    rows = tuple((label, *(c.mark if c.state == "skipped" else MARKS[c.state] for c in cells)) for label, cells in h.rows)
    return f"**{h.caption}** ({legend})\n\n" + table_md(Table((h.row_header, *h.columns), rows))


def block_md(b: Block) -> str:
    if isinstance(b, str):
        return b
    if isinstance(b, Table):
        return table_md(b)
    if isinstance(b, Heatmap):
        return heatmap_md(b)
    if isinstance(b, Details):
        return f"<details><summary>{b.summary}</summary>\n\n{table_md(b.table)}\n\n</details>"
    return f"![{b.name}](plots/{b.name})"


def render_markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            out += [block_md(b), ""]
    return "\n".join(out)
