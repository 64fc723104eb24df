"""Run history: one versioned summary file per run, keyed by machine and GPU, and the merge of several folders.

A summary keeps, per latency case (case id + batch), the raw samples of all its rounds (a run of the ``nightly``
profile measures each case in several rounds, each in a fresh process: the rounds live under
``RUN/rounds/*/results.jsonl``), the p10 and p90 of those samples pooled, the CV of the first round's samples, the
p50 of every round, the case's model, variant and stream, plus the run's metadata. The run's p50 of a case is the
median of its round p50s. Statistics come from ``harness.stats.Samples``; the comparison of two runs lives in
``harness.gate``.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsError, SchemaVersionError, UsageError
from harness.results import Results, read_results, require_complete, write_atomic
from harness.stats import Samples, robust_sigma

HISTORY_SCHEMA = 2
READABLE_SCHEMAS = (1, 2)  # 1: no per-round p50s (read as one round), no machine / GPU keys of its own
ROUNDS_DIR = "rounds"


def _gpu_name(meta: dict[str, Any]) -> str:
    gpu = meta.get("gpu")
    if isinstance(gpu, dict) and gpu.get("name"):
        return str(gpu["name"])
    return str(gpu) if isinstance(gpu, str) and gpu else "no GPU"


def _machine(meta: dict[str, Any]) -> str:
    m = meta.get("machine")
    if isinstance(m, dict):
        return str(m.get("host") or "unknown")
    return str(m) if m else "unknown"


@dataclass
class RunSummary:
    run_id: str
    started: str
    meta: dict[str, Any]
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def machine(self) -> str:
        """The host name the run ran on."""
        return _machine(self.meta)

    @property
    def gpu(self) -> str:
        """The GPU's name, "no GPU" for a run on a machine without one."""
        return _gpu_name(self.meta)

    @property
    def commit(self) -> str:
        return str(self.meta.get("git_commit") or "unknown")

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes a run unique across runners' history folders."""
        return (self.machine, self.gpu, self.run_id, self.started)

    def same_code(self, other: RunSummary) -> bool:
        """Same known commit and same package versions: any difference between the two is noise."""
        return self.commit not in ("unknown", "") and self.commit == other.commit and \
            self.meta.get("packages") == other.meta.get("packages")

    def to_dict(self) -> dict[str, Any]:
        return {"schema": HISTORY_SCHEMA, "run_id": self.run_id, "started": self.started, "machine": self.machine,
                "gpu": self.gpu, "meta": self.meta, "cases": self.cases}


def case_key(record: dict[str, Any]) -> str:
    return f"{record['case_id']}@b{record.get('batch', '-')}"


def round_files(results_path: Path | str) -> list[Path]:
    """The extra rounds' results files of a run (``RUN/rounds/*/results.jsonl``), in round order."""
    d = Path(results_path).parent / ROUNDS_DIR
    if not d.is_dir():
        return []
    found = [p for p in d.glob("*/results.jsonl") if not p.parent.is_symlink()]  # not the "latest" link
    return sorted(found, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.parent.name)])


def _latency(res: Results) -> dict[str, dict[str, Any]]:
    """Per case key, the last latency record with samples of one results file."""
    out: dict[str, dict[str, Any]] = {}
    for r in res.records:
        if r.get("metric") == "latency_ms" and r.get("samples"):
            out[case_key(r)] = r
    return out


def summarize(res: Results, rounds: list[Results] | None = None) -> RunSummary:
    """The run's summary; ``rounds``: the results of its extra rounds (default: found next to ``res``)."""
    if rounds is None:
        rounds = [read_results(p) for p in round_files(res.path)]  # a damaged round file raises, never skipped
    meta = res.meta
    keep = {k: meta.get(k) for k in ("device", "git_commit", "machine", "gpu", "packages")}
    keep["rounds"] = 1 + len(rounds)
    s = RunSummary(str(meta.get("run_id", Path(res.path).parent.name)), str(meta.get("started_utc", "")), keep)
    per_round = [_latency(r) for r in [res, *rounds]]
    for key in sorted(per_round[0]):
        recs = [pr[key] for pr in per_round if key in pr]
        ms = [Samples(r["samples"]) for r in recs]
        samples = [x for r in recs for x in r["samples"]]  # as recorded, round after round
        pooled = Samples(samples)
        first = recs[0]
        s.cases[key] = {"p10": pooled.quantile(0.1), "p50": statistics.median(m.p50 for m in ms),
                        "p90": pooled.quantile(0.9), "cv": ms[0].cv, "n": pooled.n, "samples": samples,
                        "rounds": [m.p50 for m in ms], "model": first.get("model"),
                        "variant": first.get("variant"), "stream": first.get("stream")}
    return s


def case_rounds(case: dict[str, Any]) -> list[float]:
    """The p50 of each round of a case (one value for a one-round run or a schema-1 summary)."""
    return [float(x) for x in case.get("rounds") or [case["p50"]]]


def _from_dict(d: dict[str, Any], where: str) -> RunSummary:
    schema = d.get("schema")
    if isinstance(schema, bool) or schema not in READABLE_SCHEMAS:  # JSON true would compare equal to 1
        raise SchemaVersionError(where, schema, READABLE_SCHEMAS)
    fix = "Fix: re-add the run with `python -m harness history add RESULTS --dir DIR`"
    missing = [k for k in ("run_id", "started", "cases") if k not in d]
    if missing:
        raise ResultsError(f"history file {where!r} lacks {', '.join(map(repr, missing))}. {fix}")
    for key, value in (("cases", d["cases"]), ("meta", d.get("meta", {}))):
        if not isinstance(value, dict):
            raise ResultsError(f"history file {where!r}: {key!r} is {value!r}, a summary needs a JSON object there. {fix}")
    return RunSummary(str(d["run_id"]), str(d["started"]), dict(d.get("meta", {})), dict(d["cases"]))


def load_run(path: Path | str, allow_incomplete: bool = False) -> RunSummary:
    """A history file (*.json), a results.jsonl, or a run folder holding one (its rounds included; refused when the
    run did not complete, unless ``allow_incomplete``)."""
    p = Path(path)
    if p.suffix == ".json" and p.is_file():
        try:
            d = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ResultsError(f"history file {str(p)!r} cannot be read ({exc}). Fix: pass a file written by "
                               "`python -m harness history add`, or a results.jsonl") from None
        if not isinstance(d, dict):
            raise ResultsError(f"history file {str(p)!r} holds no run summary. Fix: pass a file written by "
                               "`python -m harness history add`")
        return _from_dict(d, str(p))
    return summarize(require_complete(read_results(p), allow_incomplete))


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def history_name(s: RunSummary) -> str:
    """File name of a run in a history folder: start time, machine, GPU and run id."""
    return f"{_safe(s.started.replace(':', ''))}-{_safe(s.machine)}-{_safe(s.gpu)}-{_safe(s.run_id)}.json"


def add_to_history(results: Path | str, history_dir: Path, allow_incomplete: bool = False) -> Path:
    res = require_complete(read_results(results), allow_incomplete)
    if not res.meta.get("run_id") or not res.meta.get("started_utc"):
        raise UsageError("results file", str(results), "has no run id or start time in its meta line",
                         "add a results.jsonl written by `python -m harness run`")
    s = summarize(res)
    if not s.cases:
        raise UsageError("results file", str(results), "holds no latency samples", "run a profile that measures latency")
    out = history_dir / history_name(s)
    write_atomic(out, json.dumps(s.to_dict(), separators=(",", ":")))
    return out


def _load_dir(history_dir: Path) -> list[tuple[Path, RunSummary]]:
    if not history_dir.is_dir():
        raise ResultsError(f"history folder {str(history_dir)!r} does not exist. Fix: add runs with "
                           "`python -m harness history add RESULTS --dir DIR`")
    return [(p, load_run(p)) for p in sorted(history_dir.glob("*.json"))]


def load_history(history_dir: Path) -> list[RunSummary]:
    """Every run of the folder, oldest first. Two files of one run (same machine, GPU, run id and start) are
    kept once when they agree; when they disagree the folder is refused, naming both."""
    if history_dir.exists() and not history_dir.is_dir():
        raise UsageError("history folder", str(history_dir), "is a file, not a folder",
                         "pass the folder that `python -m harness history add RESULTS --dir DIR` writes")
    seen: dict[tuple[str, str, str, str], tuple[Path, RunSummary]] = {}
    for p, run in _load_dir(history_dir):
        if run.identity in seen:
            first, other = seen[run.identity]
            if other.cases != run.cases:
                raise ResultsError(f"history folder {str(history_dir)!r} holds two different summaries of run "
                                   f"{run.run_id!r} on {run.machine}/{run.gpu}: {first.name} and {p.name}. "
                                   "Fix: remove the wrong one")
            continue
        seen[run.identity] = (p, run)
    return sorted((r for _, r in seen.values()), key=lambda r: (r.started, r.run_id))


@dataclass(frozen=True)
class MergeReport:
    added: tuple[str, ...]
    duplicates: tuple[str, ...]
    conflicts: tuple[str, ...]

    def render(self, dest: Path) -> str:
        lines = [f"merged into {dest}: {len(self.added)} added, {len(self.duplicates)} already there, "
                 f"{len(self.conflicts)} conflicting"]
        lines += [f"  conflict: {c}" for c in self.conflicts]
        return "\n".join(lines)


def merge_histories(dest: Path, sources: list[Path]) -> MergeReport:
    """Copy every run of ``sources`` into ``dest`` once. A run already there (same machine, GPU, run id and
    start) with the same cases is a duplicate and is skipped; one with different cases is a conflict: it is
    not copied and is listed."""
    if not sources:
        raise UsageError("history folders", [], "needs at least one folder to merge", "pass the runners' history folders")
    have = {r.identity: r for _, r in _load_dir(dest)} if dest.exists() else {}
    added: list[str] = []
    dups: list[str] = []
    conflicts: list[str] = []
    for src in sources:
        if src.resolve() == dest.resolve():
            continue
        for p, run in _load_dir(src):
            old = have.get(run.identity)
            if old is not None:
                (dups if old.cases == run.cases else conflicts).append(str(p))
                continue
            out = dest / history_name(run)
            write_atomic(out, json.dumps(run.to_dict(), separators=(",", ":")))
            have[run.identity] = run
            added.append(str(out))
    return MergeReport(tuple(added), tuple(dups), tuple(conflicts))


def same_hardware(history: list[RunSummary], machine: str, gpu: str) -> list[RunSummary]:
    return [r for r in history if r.machine == machine and r.gpu == gpu]


def between_run_sigma(history: list[RunSummary], key: str) -> tuple[float, int]:
    """(run-to-run spread of a case's log p50, number of runs it rests on). The spread comes from successive
    differences (robust_sigma), so a real step in the history does not inflate it; NaN under 3 runs."""
    logs = [math.log(float(r.cases[key]["p50"])) for r in history if key in r.cases and float(r.cases[key]["p50"]) > 0]
    if len(logs) < 3:
        return math.nan, len(logs)
    return robust_sigma(logs), len(logs)


def cmd_history(action: str, paths: list[str], history_dir: Path, allow_incomplete: bool = False) -> int:
    """``history add RESULTS --dir DIR`` / ``history merge FOLDER... --dir DIR``; exit 2 on a merge conflict."""
    if action == "add":
        if len(paths) != 1:
            raise UsageError("history add", paths, "takes exactly one results file or run folder",
                             "run `history add RESULTS --dir DIR` once per run")
        print(add_to_history(paths[0], history_dir, allow_incomplete))
        return 0
    report = merge_histories(history_dir, [Path(p) for p in paths])
    print(report.render(history_dir))
    return 2 if report.conflicts else 0
