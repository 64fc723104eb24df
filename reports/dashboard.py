"""The nightly dashboard: a self-contained static page built from a history folder.

It shows the latest run against a baseline (classified by ``harness.history.compare``), the regressions
that step detection dates to a run, and one trend plot per case (p50 with its p10-p90 band).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.history import CaseComparison, RunSummary, Thresholds, compare, load_history
from harness.results import write_atomic
from harness.stats import detect_steps
from reports.document import Table
from reports.html import _CSS, table_html


@dataclass(frozen=True)
class Regression:
    key: str
    run_id: str
    started: str
    commit: str
    before_ms: float
    after_ms: float
    change: float


def regressions(runs: list[RunSummary], min_change: float = 0.05) -> list[Regression]:
    out = []
    for key in sorted({k for r in runs for k in r.cases}):
        series = [(r, r.cases[key]["p50"]) for r in runs if key in r.cases]
        for step in detect_steps([p for _, p in series], min_rel=min_change):
            if step.change > 0:
                run = series[step.index][0]
                out.append(Regression(key, run.run_id, run.started, str(run.meta.get("git_commit", ""))[:12],
                                      step.before, step.after, step.change))
    return out


def trend_png(runs: list[RunSummary], key: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(i, r.cases[key]) for i, r in enumerate(runs) if key in r.cases]
    xs = [i for i, _ in pts]
    fig, ax = plt.subplots(figsize=(6.4, 2.6), dpi=100)
    ax.fill_between(xs, [c["p10"] for _, c in pts], [c["p90"] for _, c in pts], alpha=0.25, label="p10-p90")
    ax.plot(xs, [c["p50"] for _, c in pts], marker="o", ms=3, label="p50")
    ax.set_title(key, fontsize=8)
    ax.set_xlabel("run (oldest to newest)")
    ax.set_ylabel("latency (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _comparison_table(rows: list[CaseComparison]) -> Table:
    return Table(("case", "baseline p50 (ms)", "latest p50 (ms)", "change", "p", "threshold", "verdict"),
                 tuple((r.key, f"{r.base_p50:.4f}", f"{r.head_p50:.4f}", f"{r.change * 100:+.2f}%", f"{r.p_value:.2g}",
                        f"{r.threshold * 100:.1f}%", r.verdict) for r in rows))


DEFAULT_THRESHOLDS = Thresholds()


def build_dashboard(history_dir: Path, out_dir: Path, baseline: str | None = None, t: Thresholds = DEFAULT_THRESHOLDS) -> Path:
    runs = load_history(history_dir)
    if len(runs) < 2:
        raise UsageError("history folder", str(history_dir), f"holds {len(runs)} run(s); a dashboard compares two or more",
                         "add runs with `python -m harness history add RESULTS --dir DIR`")
    head = runs[-1]
    if baseline is None:
        base = runs[-2]
    else:
        matches = [r for r in runs if r.run_id == baseline]
        if not matches:
            raise UsageError("baseline run", baseline, f"is not in {str(history_dir)!r}", f"pick one of {[r.run_id for r in runs]}")
        base = matches[0]
    rows = compare(base, head, t, history=runs[:-1])
    regs = regressions(runs, t.min_change)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Latency dashboard</title><style>{_CSS}</style>"
             "</head><body><h1>Latency dashboard</h1>",
             f"<p>{len(runs)} runs in {html.escape(str(history_dir))}; latest {html.escape(head.run_id)} "
             f"({html.escape(head.started)}) against baseline {html.escape(base.run_id)} ({html.escape(base.started)}).</p>",
             "<h2>Latest against baseline</h2>", table_html(_comparison_table(rows)), "<h2>Regressions</h2>"]
    if regs:
        parts.append(table_html(Table(("case", "first slow run", "started", "commit", "before (ms)", "after (ms)", "change"),
                                      tuple((g.key, g.run_id, g.started, g.commit, f"{g.before_ms:.4f}", f"{g.after_ms:.4f}",
                                             f"{g.change * 100:+.1f}%") for g in regs))))
    else:
        parts.append("<p>No step up of more than "
                     f"{t.min_change * 100:.0f}% in any case's history.</p>")
    parts.append("<h2>Trends</h2>")
    for key in sorted({k for r in runs for k in r.cases}):
        b64 = base64.b64encode(trend_png(runs, key)).decode()
        parts.append(f"<figure><img alt='{html.escape(key)}' src='data:image/png;base64,{b64}'></figure>")
    parts.append("<p>Units: latency in milliseconds per forward call; change = latest p50 / baseline p50 - 1; p = two-sided "
                 "Mann-Whitney U on the raw samples; a regression is a step up found by a piecewise-constant fit of "
                 "each case's p50 history, dated to its first run.</p></body></html>")
    page = out_dir / "index.html"
    write_atomic(page, "".join(parts))
    return page
