"""Self-contained HTML renderer of a document (the report, the dashboard): styles inline, images embedded as base64
PNG, no script."""

from __future__ import annotations

import base64
import html

from reports.document import STATES, Cell, Heatmap, Image, Renderer, Section, Span, Table, render_block

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


def span_html(s: str | Span) -> str:
    if isinstance(s, str):
        return html.escape(s)
    if s.style == "link":
        return f"<a href='{html.escape(s.href, quote=True)}'>{html.escape(s.text)}</a>"
    if s.style == "strong":
        return f"<b>{html.escape(s.text)}</b>"
    return f"<br><small>{html.escape(s.text)}</small>"


def cell_html(c: Cell) -> str:
    return html.escape(c) if isinstance(c, str) else "".join(span_html(s) for s in c.spans)


def table_html(t: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{html.escape(c)}</td>' if isinstance(c, str) and _is_num(c)
                         else f"<td>{cell_html(c)}</td>" for c in row) + "</tr>" for row in t.rows)
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


def image_html(i: Image, images: dict[str, bytes]) -> str:
    b64 = base64.b64encode(images[i.name]).decode()
    anchor = f" id='{html.escape(i.anchor, quote=True)}'" if i.anchor else ""
    return f"<figure{anchor}><img alt='{html.escape(i.alt or i.name, quote=True)}' src='data:image/png;base64,{b64}'></figure>"


def render_html(title: str, sections: list[Section], images: dict[str, bytes]) -> str:
    """The page: title, navigation over the top-level sections, then every section in order; ``images``: the PNG
    bytes of each ``Image`` block's name, embedded in the page."""
    r = Renderer(lambda t: f"<p>{cell_html(t)}</p>", table_html, heatmap_html,
                 lambda d: f"<details><summary>{html.escape(d.summary)}</summary>{table_html(d.table)}</details>",
                 lambda i: image_html(i, images))
    nav = " ".join(f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in sections if s.level <= 2)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1><nav>{nav}</nav>"]
    for s in sections:
        parts.append(f"<section id='{s.anchor}'><h{s.level}>{html.escape(s.title)}</h{s.level}>")
        parts += [render_block(b, r) for b in s.blocks]
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)
