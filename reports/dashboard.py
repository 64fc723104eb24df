"""The nightly dashboard: a self-contained static page built from a history folder.

Runs are grouped by GPU model ("no GPU" for CPU machines); nothing is compared across GPUs. In each group:
the latest run against a baseline (classified by ``harness.gate.compare``, "insufficient evidence" shown with
its reason), the regressions that step detection dates to a run (one series per machine and case, each
linking to its trend), one trend plot per case (p50 with its p10-p90 band, one line per machine, x axis by
date), and the table of runs (date, machine, run id, commit) that the plots' dates refer to.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.gate import DEFAULT_THRESHOLDS, CaseComparison, Thresholds, compare
from harness.history import RunSummary, between_run_sigma, load_history
from harness.results import write_atomic
from harness.stats import detect_steps
from reports.html import _CSS

MIN_STEP_RUNS = 5  # fewer runs of a case on one machine: no step detection (two runs always "differ")


@dataclass(frozen=True)
class Regression:
    gpu: str
    machine: str
    key: str
    run_id: str
    started: str
    commit: str
    before_ms: float
    after_ms: float
    change: float
    note: str = ""  # e.g. the step's run has the same commit as the run before it

    @property
    def anchor(self) -> str:
        return trend_anchor(self.gpu, self.key)


def trend_anchor(gpu: str, key: str) -> str:
    return "trend-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{gpu}-{key}").strip("-")


def regressions(runs: list[RunSummary], t: Thresholds = DEFAULT_THRESHOLDS) -> list[Regression]:
    """Steps up, per (GPU, machine, case) series of at least MIN_STEP_RUNS runs, larger than
    max(min change, cv factor x the series' run-to-run spread)."""
    out = []
    for gpu, machine in sorted({(r.gpu, r.machine) for r in runs}):
        series_runs = [r for r in runs if r.gpu == gpu and r.machine == machine]
        for key in sorted({k for r in series_runs for k in r.cases}):
            series = [(r, float(r.cases[key]["p50"])) for r in series_runs if key in r.cases]
            if len(series) < MIN_STEP_RUNS:
                continue
            sigma, _ = between_run_sigma([r for r, _ in series], key)
            floor = max(t.min_change, t.cv_factor * sigma if not math.isnan(sigma) else 0.0)
            for step in detect_steps([p for _, p in series], min_rel=floor):
                if step.change <= 0:
                    continue
                run, prev = series[step.index][0], series[step.index - 1][0]
                note = "same commit as the run before: a machine or environment change" if run.same_code(prev) else ""
                out.append(Regression(gpu, machine, key, run.run_id, run.started, run.commit[:12], step.before,
                                      step.after, step.change, note))
    return out


def _date(started: str) -> float:
    import datetime as dt

    import matplotlib.dates as mdates

    try:
        when = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        when = dt.datetime(1970, 1, 1)
    return float(mdates.date2num(when))  # type: ignore[no-untyped-call]


def trend_figure(runs: list[RunSummary], key: str) -> Any:
    """p50 and p10-p90 band of one case against the run date, one line per machine (a matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 2.6), dpi=100)
    for machine in sorted({r.machine for r in runs if key in r.cases}):
        pts = [(_date(r.started), r.cases[key]) for r in runs if r.machine == machine and key in r.cases]
        xs = [x for x, _ in pts]
        ms = 3 if len(pts) < 60 else 1.5
        p10, p50, p90 = ([float(c[q]) for _, c in pts] for q in ("p10", "p50", "p90"))
        line = ax.plot(xs, p50, marker="o", ms=ms, lw=1, label=f"{machine} p50 (band p10-p90)")[0]
        ax.fill_between(xs, p10, p90, alpha=0.2, color=line.get_color())
        if len(pts) <= 30:  # a band of one or two runs is too thin to see: bars too
            ax.errorbar(xs, p50, yerr=[[m - lo for m, lo in zip(p50, p10, strict=True)],
                                       [hi - m for m, hi in zip(p50, p90, strict=True)]],
                        fmt="none", alpha=0.5, capsize=2, color=line.get_color())
    lows = [float(r.cases[key]["p10"]) for r in runs if key in r.cases]
    highs = [float(r.cases[key]["p90"]) for r in runs if key in r.cases]
    if lows and min(lows) > 0 and max(highs) / min(lows) > 20:  # disturbed rounds a hundredfold slower: log scale
        ax.set_yscale("log")
    locator = mdates.AutoDateLocator(minticks=2, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.margins(x=0.05)
    ax.set_title(key, fontsize=8)
    ax.set_xlabel("run start (UTC)")
    ax.set_ylabel("latency (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def trend_png(runs: list[RunSummary], key: str) -> bytes:
    import matplotlib.pyplot as plt

    fig = trend_figure(runs, key)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Cells are HTML already (escaped by the caller)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _e(x: object) -> str:
    return html.escape(str(x))


def _comparison_rows(gpu: str, rows: tuple[CaseComparison, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for r in rows:
        verdict = f"<b>{_e(r.verdict)}</b>" + (f"<br><small>{_e(r.reason)}</small>" if r.reason else "")
        out.append((f"<a href='#{trend_anchor(gpu, r.key)}'>{_e(r.key)}</a>", f"{r.base_p50:.4f}", f"{r.head_p50:.4f}",
                    f"{r.change * 100:+.2f}%", f"{r.p_value:.2g}", f"{r.threshold * 100:.1f}%", _e(r.evidence), verdict))
    return out


def _pick_base(group: list[RunSummary], head: RunSummary, baseline: str | None) -> RunSummary | None:
    earlier = [r for r in group if r is not head]
    if baseline is not None:
        match = [r for r in earlier if r.run_id == baseline]
        if match:
            return match[0]
    same_machine = [r for r in earlier if r.machine == head.machine]
    pool = same_machine or earlier
    return pool[-1] if pool else None


def _group_html(gpu: str, group: list[RunSummary], baseline: str | None, t: Thresholds) -> list[str]:
    head = group[-1]
    base = _pick_base(group, head, baseline)
    parts = [f"<h2 id='{trend_anchor(gpu, '')}'>GPU: {_e(gpu)}</h2>",
             f"<p>{len(group)} run(s) on {len({r.machine for r in group})} machine(s) with this GPU.</p>"]
    if base is None:
        parts.append(f"<p>One run only ({_e(head.run_id)}): nothing to compare it with yet.</p>")
    else:
        c = compare(base, head, t, history=group)
        parts.append(f"<h3>Latest against baseline</h3><p>latest {_e(head.run_id)} ({_e(head.started)}, {_e(head.machine)}, "
                     f"commit {_e(head.commit[:12])}) against {_e(base.run_id)} ({_e(base.started)}, {_e(base.machine)}, "
                     f"commit {_e(base.commit[:12])}).</p>")
        if c.noise_check:
            parts.append(f"<p><b>Noise check:</b> {_e(c.noise_check)}.</p>")
        parts.append(_table(("case", "baseline p50 (ms)", "latest p50 (ms)", "change", "p", "threshold", "evidence", "verdict"),
                            _comparison_rows(gpu, c.rows)))
    regs = regressions(group, t)
    parts.append("<h3>Regressions</h3>")
    if regs:
        cols = ("case", "machine", "first slow run", "started", "commit", "before (ms)", "after (ms)", "change", "note")
        parts.append(_table(cols,
                            [(f"<a href='#{g.anchor}'>{_e(g.key)}</a>", _e(g.machine), _e(g.run_id), _e(g.started),
                              _e(g.commit), f"{g.before_ms:.4f}", f"{g.after_ms:.4f}", f"{g.change * 100:+.1f}%", _e(g.note))
                             for g in regs]))
    else:
        parts.append(f"<p>No step up larger than max({t.min_change * 100:.0f}%, {t.cv_factor:g} x run-to-run spread) in any "
                     f"case's history on one machine (step detection needs {MIN_STEP_RUNS} runs of a case on a machine).</p>")
    parts.append("<h3>Trends</h3>")
    for key in sorted({k for r in group for k in r.cases}):
        b64 = base64.b64encode(trend_png(group, key)).decode()
        parts.append(f"<figure id='{trend_anchor(gpu, key)}'><img alt='{_e(key)}' src='data:image/png;base64,{b64}'></figure>")
    rows = [(_e(r.started), _e(r.machine), _e(r.run_id), _e(r.commit[:12]), _e(r.meta.get("rounds", 1)))
            for r in reversed(group)]
    parts.append(f"<details><summary>Runs ({len(group)}), newest first</summary>"
                 + _table(("started (UTC)", "machine", "run", "commit", "rounds"), rows) + "</details>")
    return parts


def build_dashboard(history_dir: Path, out_dir: Path, baseline: str | None = None, t: Thresholds = DEFAULT_THRESHOLDS) -> Path:
    runs = load_history(history_dir)
    if len(runs) < 2:
        raise UsageError("history folder", str(history_dir), f"holds {len(runs)} run(s); a dashboard compares two or more",
                         "add runs with `python -m harness history add RESULTS --dir DIR`")
    if baseline is not None and baseline not in {r.run_id for r in runs}:
        raise UsageError("baseline run", baseline, f"is not in {str(history_dir)!r}", f"pick one of {[r.run_id for r in runs]}")
    gpus = sorted({r.gpu for r in runs})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Latency dashboard</title><style>{_CSS}</style>"
             "</head><body><h1>Latency dashboard</h1>",
             f"<p>{len(runs)} runs in {_e(history_dir)}, {len(gpus)} GPU model(s): "
             + ", ".join(f"<a href='#{trend_anchor(g, '')}'>{_e(g)}</a>" for g in gpus)
             + ". Runs on different GPUs are never compared.</p>"]
    for gpu in gpus:
        parts += _group_html(gpu, [r for r in runs if r.gpu == gpu], baseline, t)
    parts.append("<p>Units: latency in milliseconds per forward call; a run's p50 is the median of its round p50s (in the "
                 "comparison table, disturbed rounds left out); change = latest p50 / baseline p50 - 1; p and evidence: "
                 "see `python -m harness compare`; a regression is a step up found by a piecewise-constant fit of one "
                 "machine's p50 history of a case, dated to its first run.</p></body></html>")
    page = out_dir / "index.html"
    write_atomic(page, "".join(parts))
    return page
