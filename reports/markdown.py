"""Markdown renderer of a document (the report): images as links to ``plots/NAME``."""

from __future__ import annotations

from reports.document import STATES, Cell, Heatmap, Renderer, Section, Span, Table, render_block

MARKS = {"passed": "P", "raised": "R", "failed": "**F**", "absent": "·"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def span_md(s: str | Span) -> str:
    if isinstance(s, str):
        return s
    return {"link": f"[{s.text}]({s.href})", "strong": f"**{s.text}**", "note": f" ({s.text})"}[s.style]


def cell_md(c: Cell) -> str:
    return c if isinstance(c, str) else "".join(span_md(s) for s in c.spans)


def table_md(t: Table) -> str:
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(_cell(cell_md(c)) for c in row) + " |" for row in t.rows]
    return "\n".join(lines)


def heatmap_md(h: Heatmap) -> str:
    """The grid with one letter per cell: P passed, R raised as expected, F failed, S<n> skipped (legend key)."""
    legend = ", ".join(f"{MARKS.get(s, 'S<n>')} {label}" for s, label in STATES.items())
    rows = tuple((label, *(c.mark if c.state == "skipped" else MARKS[c.state] for c in cells)) for label, cells in h.rows)
    return f"**{h.caption}** ({legend})\n\n" + table_md(Table((h.row_header, *h.columns), rows))


MARKDOWN = Renderer(cell_md, table_md, heatmap_md,
                    lambda d: f"<details><summary>{d.summary}</summary>\n\n{table_md(d.table)}\n\n</details>",
                    lambda i: f"![{i.alt or i.name}](plots/{i.name})")


def render_markdown(title: str, sections: list[Section]) -> str:
    r = MARKDOWN
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"{'#' * s.level} {s.title}", ""]
        for b in s.blocks:
            out += [render_block(b, r), ""]
    return "\n".join(out)
