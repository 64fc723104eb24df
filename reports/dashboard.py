"""The nightly dashboard: a self-contained static page built from a history folder, as a document
(``reports.document``) rendered by ``reports.html`` like the report.

Runs are grouped by GPU model ("no GPU" for CPU machines); nothing is compared across GPUs. In each group:
the latest run against a baseline (``--baseline RUN`` when that run is in the group, else the latest earlier run
on the same machine, else the latest earlier run; classified by ``harness.gate.compare``, "insufficient
evidence" shown with its reason), the regressions that step detection dates to a run (one series per machine
and case, each linking to its trend), one trend plot per case (p50 with its p10-p90 band, one line per machine,
x axis by date), and the table of runs (date, machine, run id, commit, rounds) that the plots' dates refer to.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.gate import DEFAULT_THRESHOLDS, CaseComparison, Thresholds, compare
from harness.history import RunSummary, between_run_sigma, load_history
from harness.results import write_atomic
from harness.stats import detect_steps
from reports.document import Block, Cell, Details, Image, Section, Span, Table, Text
from reports.html import render_html

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
    """The HTML id (and image name) of a case's trend: readable, plus a digest of the exact GPU and key, so two keys
    that differ only in characters an id cannot hold (``=`` against ``-``) never share an id or a picture."""
    digest = hashlib.sha1(f"{gpu}\0{key}".encode()).hexdigest()[:8]
    return "trend-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{gpu}-{key}").strip("-") + f"-{digest}"


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


def _key_link(gpu: str, key: str) -> Text:
    return Text((Span(key, "link", f"#{trend_anchor(gpu, key)}"),))


def _comparison_rows(gpu: str, rows: tuple[CaseComparison, ...]) -> list[tuple[Cell, ...]]:
    out: list[tuple[Cell, ...]] = []
    for r in rows:
        verdict = Text((Span(r.verdict, "strong"), *((Span(r.reason, "note"),) if r.reason else ())))
        out.append((_key_link(gpu, r.key), f"{r.base_p50:.4f}", f"{r.head_p50:.4f}", f"{r.change * 100:+.2f}%",
                    f"{r.p_value:.2g}", f"{r.threshold * 100:.1f}%", r.evidence, verdict))
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


def _latest(gpu: str, group: list[RunSummary], baseline: str | None, t: Thresholds) -> list[Block]:
    head = group[-1]
    base = _pick_base(group, head, baseline)
    if base is None:
        return [f"One run only ({head.run_id}): nothing to compare it with yet."]
    c = compare(base, head, t, history=group)
    blocks: list[Block] = [f"latest {head.run_id} ({head.started}, {head.machine}, commit {head.commit[:12]}) against "
                           f"{base.run_id} ({base.started}, {base.machine}, commit {base.commit[:12]})."]
    if c.noise_check:
        blocks.append(Text((Span("Noise check:", "strong"), f" {c.noise_check}.")))
    cols = ("case", "baseline p50 (ms)", "latest p50 (ms)", "change", "p", "threshold", "evidence", "verdict")
    return [*blocks, Table(cols, tuple(_comparison_rows(gpu, c.rows)))]


def _regressions(gpu: str, group: list[RunSummary], t: Thresholds) -> Block:
    regs = regressions(group, t)
    if not regs:
        return (f"No step up larger than max({t.min_change * 100:.0f}%, {t.cv_factor:g} x run-to-run spread) in any "
                f"case's history on one machine (step detection needs {MIN_STEP_RUNS} runs of a case on a machine).")
    cols = ("case", "machine", "first slow run", "started", "commit", "before (ms)", "after (ms)", "change", "note")
    return Table(cols, tuple((_key_link(gpu, g.key), g.machine, g.run_id, g.started, g.commit, f"{g.before_ms:.4f}",
                              f"{g.after_ms:.4f}", f"{g.change * 100:+.1f}%", g.note) for g in regs))


def _group(gpu: str, group: list[RunSummary], baseline: str | None, t: Thresholds,
           images: dict[str, bytes]) -> list[Section]:
    """The sections of one GPU model; its trend plots go into ``images``."""
    anchor = trend_anchor(gpu, "")
    slug = anchor.removeprefix("trend-")
    trends = Section("Trends", f"trends-{slug}", level=3)
    for key in sorted({k for r in group for k in r.cases}):
        name = f"{trend_anchor(gpu, key)}.png"
        images[name] = trend_png(group, key)
        trends.add(Image(name, trend_anchor(gpu, key), key))
    runs = tuple((r.started, r.machine, r.run_id, r.commit[:12], str(r.meta.get("rounds", 1))) for r in reversed(group))
    trends.add(Details(f"Runs ({len(group)}), newest first", Table(("started (UTC)", "machine", "run", "commit", "rounds"), runs)))
    return [Section(f"GPU: {gpu}", anchor).add(f"{len(group)} run(s) on {len({r.machine for r in group})} machine(s) "
                                                "with this GPU."),
            Section("Latest against baseline", f"latest-{slug}", level=3).add(*_latest(gpu, group, baseline, t)),
            Section("Regressions", f"regressions-{slug}", level=3).add(_regressions(gpu, group, t)),
            trends]


def dashboard_document(runs: list[RunSummary], where: str, baseline: str | None = None,
                       t: Thresholds = DEFAULT_THRESHOLDS) -> tuple[str, list[Section], dict[str, bytes]]:
    """(title, sections, trend images) of the dashboard of ``runs`` (read from ``where``)."""
    gpus = sorted({r.gpu for r in runs})
    images: dict[str, bytes] = {}
    intro = Section("Runs", "runs").add(
        Text((f"{len(runs)} runs in {where}, {len(gpus)} GPU model(s): ",
              *(x for i, g in enumerate(gpus) for x in ((", " if i else ""), Span(g, "link", f"#{trend_anchor(g, '')}"))),
              ". Runs on different GPUs are never compared.")))
    sections = [intro]
    for gpu in gpus:
        sections += _group(gpu, [r for r in runs if r.gpu == gpu], baseline, t, images)
    sections.append(Section("Units", "units").add(
        "Units: latency in milliseconds per forward call; a run's p50 is the median of its round p50s (in the "
        "comparison table, disturbed rounds left out); change = latest p50 / baseline p50 - 1; p and evidence: "
        "see `python -m harness compare`; a regression is a step up found by a piecewise-constant fit of one "
        "machine's p50 history of a case, dated to its first run."))
    return "Latency dashboard", sections, images


def build_dashboard(history_dir: Path, out_dir: Path, baseline: str | None = None, t: Thresholds = DEFAULT_THRESHOLDS) -> Path:
    runs = load_history(history_dir)
    if len(runs) < 2:
        raise UsageError("history folder", str(history_dir), f"holds {len(runs)} run(s); a dashboard compares two or more",
                         "add runs with `python -m harness history add RESULTS --dir DIR`")
    if baseline is not None and baseline not in {r.run_id for r in runs}:
        raise UsageError("baseline run", baseline, f"is not in {str(history_dir)!r}", f"pick one of {[r.run_id for r in runs]}")
    title, sections, images = dashboard_document(runs, str(history_dir), baseline, t)
    page = out_dir / "index.html"
    write_atomic(page, render_html(title, sections, images))
    return page
