"""Self-contained HTML renderer: styles inline, plots embedded as base64 PNG, no script."""

from __future__ import annotations

import base64
import html

from reports.document import STATES, Block, Details, Heatmap, Section, Table

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f0f0f0}
tr:nth-child(even){background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}h2{border-bottom:1px solid #ddd}
nav a{margin-right:1em}details{margin:0.5em 0 1em}summary{cursor:pointer;font-weight:600}
figure.heatmap{display:inline-block;vertical-align:top;margin:0 1.5em 1em 0}
table.heat{font-size:11px;margin:0.3em 0}table.heat td.h{width:2.2em;height:1.5em;text-align:center;padding:0;color:#fff}
table.heat th.c{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;padding:4px 2px}
.passed{background:#2e9d4a}.raised{background:#2f6fd0}.failed{background:#d23a2f}.skipped{background:#a8a8a8}
.absent{background:#fff}span.key{display:inline-block;width:1.2em;height:1em;margin:0 0.3em 0 1em;vertical-align:middle}"""


def _is_num(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("%", "").replace("x", "").lstrip("-").isdigit()


def table_html(t: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{html.escape(c)}</td>' if _is_num(c) else f"<td>{html.escape(c)}</td>"
                         for c in row) + "</tr>" for row in t.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def heatmap_html(h: Heatmap) -> str:
    legend = "".join(f"<span class='key {s}'></span>{html.escape(label)}" for s, label in STATES.items() if s != "absent")
    head = f"<th>{html.escape(h.row_header)}</th>" + "".join(f"<th class='c'>{html.escape(c)}</th>" for c in h.columns)
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th>" + "".join(
            f"<td class='h {c.state}' title='{html.escape(c.title, quote=True)}'>{html.escape(c.mark)}</td>" for c in cells)
        + "</tr>" for label, cells in h.rows)
    return (f"<figure class='heatmap'><figcaption><b>{html.escape(h.caption)}</b><br>{legend}</figcaption>"
            f"<table class='heat'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></figure>")


def block_html(b: Block, images: dict[str, bytes]) -> str:
    if isinstance(b, str):
        return f"<p>{html.escape(b)}</p>"
    if isinstance(b, Table):
        return table_html(b)
    if isinstance(b, Heatmap):
        return heatmap_html(b)
    if isinstance(b, Details):
        return f"<details><summary>{html.escape(b.summary)}</summary>{table_html(b.table)}</details>"
    b64 = base64.b64encode(images[b.name]).decode()
    return f"<figure><img alt='{html.escape(b.name)}' src='data:image/png;base64,{b64}'></figure>"


def render_html(title: str, sections: list[Section], images: dict[str, bytes]) -> str:
    nav = " ".join(f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in sections)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1><nav>{nav}</nav>"]
    for s in sections:
        parts.append(f"<section id='{s.anchor}'><h2>{html.escape(s.title)}</h2>")
        parts += [block_html(b, images) for b in s.blocks]
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)

