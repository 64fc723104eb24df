"""Run history: one versioned summary file per run, and the comparison of two runs.

A summary keeps, per latency case (case id + batch), the raw samples and their p10/p50/p90/CV, plus the
run's metadata. ``compare`` classifies each case as faster, slower, same or ambiguous: a change counts
only when it exceeds max(``min_change``, ``cv_factor`` x the between-run CV of that case) and a
Mann-Whitney U test on the samples agrees (p < ``alpha``).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsError, SchemaVersionError, UsageError
from harness.results import Results, read_results, require_complete, write_atomic
from harness.stats import mann_whitney_u, robust_sigma
from harness.timing import Measurement

HISTORY_SCHEMA = 1


@dataclass
class RunSummary:
    run_id: str
    started: str
    meta: dict[str, Any]
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": HISTORY_SCHEMA, "run_id": self.run_id, "started": self.started, "meta": self.meta,
                "cases": self.cases}


def case_key(record: dict[str, Any]) -> str:
    return f"{record['case_id']}@b{record.get('batch', '-')}"


def summarize(res: Results) -> RunSummary:
    meta = res.meta
    keep = {k: meta.get(k) for k in ("device", "git_commit", "machine", "gpu", "packages")}
    s = RunSummary(str(meta.get("run_id", Path(res.path).parent.name)), str(meta.get("started_utc", "")), keep)
    for r in res.records:
        if r.get("metric") != "latency_ms" or not r.get("samples"):
            continue
        m = Measurement(tuple(r["samples"]), str(r.get("clock", "")), 0, math.nan)
        s.cases[case_key(r)] = {"p10": m.quantile(0.1), "p50": m.quantile(0.5), "p90": m.quantile(0.9), "cv": m.cv,
                                "n": m.n, "samples": list(m.samples_ms), "model": r.get("model"),
                                "variant": r.get("variant"), "stream": r.get("stream")}
    return s


def load_run(path: Path | str, allow_incomplete: bool = False) -> RunSummary:
    """A history file (*.json), a results.jsonl, or a run folder holding one (refused when the run did not
    complete, unless ``allow_incomplete``)."""
    p = Path(path)
    if p.suffix == ".json" and p.is_file():
        try:
            d = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ResultsError(f"history file {str(p)!r} cannot be read ({exc}). Fix: pass a file written by "
                               "`python -m harness history add`, or a results.jsonl") from None
        if d.get("schema") != HISTORY_SCHEMA:
            raise SchemaVersionError(str(p), d.get("schema"), [HISTORY_SCHEMA])
        return RunSummary(d["run_id"], d["started"], d.get("meta", {}), d["cases"])
    return summarize(require_complete(read_results(p), allow_incomplete))


def add_to_history(results: Path | str, history_dir: Path, allow_incomplete: bool = False) -> Path:
    res = require_complete(read_results(results), allow_incomplete)
    if not res.meta.get("run_id") or not res.meta.get("started_utc"):
        raise UsageError("results file", str(results), "has no run id or start time in its meta line",
                         "add a results.jsonl written by `python -m harness run`")
    s = summarize(res)
    if not s.cases:
        raise UsageError("results file", str(results), "holds no latency samples", "run a profile that measures latency")
    out = history_dir / f"{s.started.replace(':', '')}-{s.run_id}.json"
    write_atomic(out, json.dumps(s.to_dict(), separators=(",", ":")))
    return out


def load_history(history_dir: Path) -> list[RunSummary]:
    if history_dir.exists() and not history_dir.is_dir():
        raise UsageError("history folder", str(history_dir), "is a file, not a folder",
                         "pass the folder that `python -m harness history add RESULTS --dir DIR` writes")
    if not history_dir.is_dir():
        raise ResultsError(f"history folder {str(history_dir)!r} does not exist. Fix: add runs with "
                           "`python -m harness history add RESULTS --dir DIR`")
    runs = [load_run(p) for p in sorted(history_dir.glob("*.json"))]
    return sorted(runs, key=lambda r: (r.started, r.run_id))


@dataclass(frozen=True)
class Thresholds:
    min_change: float = 0.05
    cv_factor: float = 3.0
    alpha: float = 0.01


@dataclass(frozen=True)
class CaseComparison:
    key: str
    base_p50: float
    head_p50: float
    change: float  # head / base - 1
    p_value: float
    threshold: float
    between_cv: float
    verdict: str  # faster | slower | same | ambiguous | new | gone


def between_run_cv(history: list[RunSummary], key: str) -> float:
    """Run-to-run CV of a case's p50, from successive differences: a real step in the history does not inflate it."""
    p50s = [float(r.cases[key]["p50"]) for r in history if key in r.cases]
    if len(p50s) < 3:
        return 0.0
    return robust_sigma(p50s) / statistics.median(p50s)


def classify(change: float, p: float, threshold: float, alpha: float) -> str:
    if abs(change) <= threshold:
        return "same"
    if p >= alpha:
        return "ambiguous"
    return "slower" if change > 0 else "faster"


DEFAULT_THRESHOLDS = Thresholds()


def compare(base: RunSummary, head: RunSummary, t: Thresholds = DEFAULT_THRESHOLDS,
            history: list[RunSummary] | None = None) -> list[CaseComparison]:
    rows = []
    for key in sorted(set(base.cases) | set(head.cases)):
        b, h = base.cases.get(key), head.cases.get(key)
        if b is None or h is None:
            rows.append(CaseComparison(key, b["p50"] if b else math.nan, h["p50"] if h else math.nan, math.nan,
                                       math.nan, math.nan, math.nan, "new" if b is None else "gone"))
            continue
        cv = between_run_cv(history or [], key)
        threshold = max(t.min_change, t.cv_factor * cv)
        change = h["p50"] / b["p50"] - 1
        _, p = mann_whitney_u(b["samples"], h["samples"])
        rows.append(CaseComparison(key, b["p50"], h["p50"], change, p, threshold, cv, classify(change, p, threshold, t.alpha)))
    return rows


def render_comparison(base: RunSummary, head: RunSummary, rows: list[CaseComparison]) -> str:
    lines = [f"base {base.run_id} ({base.started})  ->  head {head.run_id} ({head.started})", "",
             f"{'case':<64} {'base p50':>10} {'head p50':>10} {'change':>8} {'p':>9} {'thresh':>7}  verdict"]
    for r in rows:
        lines.append(f"{r.key:<64} {r.base_p50:>10.4f} {r.head_p50:>10.4f} {r.change * 100:>7.2f}% {r.p_value:>9.2g} "
                     f"{r.threshold * 100:>6.1f}%  {r.verdict}")
    counts = {v: sum(r.verdict == v for r in rows) for v in ("slower", "faster", "same", "ambiguous", "new", "gone")}
    lines += ["", "  ".join(f"{v}: {n}" for v, n in counts.items()),
              "Units: p50 in milliseconds per forward call; change = head p50 / base p50 - 1; p = two-sided "
              "Mann-Whitney U on the raw samples; thresh = max(min change, cv factor x between-run CV)."]
    return "\n".join(lines)
