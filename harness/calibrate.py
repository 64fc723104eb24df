"""``python -m harness calibrate``: how often the gate cries wolf on this machine, and what it catches.

A calibration-only workload whose cost is dialled in units: on the CPU a fixed block of integer arithmetic
per unit, timed with the host clock (the CPU eager cell kind); on a GPU one tiny elementwise kernel per unit,
launched eagerly (GPU eager) or replayed from a CUDA graph (GPU graph), timed with CUDA events. A slowdown of
size s is injected by running ``round(units * (1 + s))`` units per iteration instead of ``units``: its size is
known exactly in work, whatever the machine's noise.

A calibration "run" is measured like a ``nightly`` run: ``rounds`` rounds, each in a fresh process and
spread over the calibration's duration (a nightly run's rounds are whole passes over the suites apart), each
written as a real results file (``OUT/KIND/RUN/results.jsonl`` and ``OUT/KIND/RUN/rounds/rK/results.jsonl``)
and read back through the same summary as a real run. A/A pairs compare two runs of the same workload; A/B
pairs compare a run of the base workload with a run of a slowed one. The gate (``harness.gate.compare``)
classifies each pair; the statistical verdict is counted (the same-code rule is off: every pair here is the
same commit). Printed per cell kind: the false-alarm rate (A/A pairs classified slower) and, per injected
slowdown, the share detected; the smallest slowdown detected in >= 95 % of its pairs is the detectable one.

Workers (``harness.children.calibrate_worker``) start in batches (imports and CUDA set-up in parallel), then measure
one at a time: no measurement overlaps another process's start-up or measurement. A worker measures one round of each
kind (GPU eager and GPU graph share a process; rounds of different kinds are never compared).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.children.cache_child import child_env
from harness.errors import UsageError
from harness.stats import Samples
from harness.timing import Measurement, TimingSpec, measure
from harness.vocab import NOT_A_CELL

KINDS = ("cpu-eager", "gpu-eager", "gpu-graph")
BASE_UNITS = {"cpu-eager": 200, "gpu-eager": 100, "gpu-graph": 100}
SPECS = {"cpu-eager": TimingSpec(warmup_s=0.02, min_samples=30, max_samples=400, max_time_s=0.06, target_rse=0.002),
         "gpu-eager": TimingSpec(warmup_s=0.03, min_samples=50, max_samples=2000, max_time_s=0.15, target_rse=0.001),
         "gpu-graph": TimingSpec(warmup_s=0.03, min_samples=50, max_samples=2000, max_time_s=0.15, target_rse=0.001)}
CPU_WORK_PER_UNIT = 25  # loop trips of integer arithmetic per unit


def cpu_work(units: int) -> int:
    acc = 0
    for i in range(units * CPU_WORK_PER_UNIT):
        acc = (acc * 1103515245 + i) & 0xFFFFFFFF
    return acc


def workload(kind: str, units: int) -> tuple[Any, Any, str]:
    """(callable, CUDA stream or None, GPU name) of one calibration workload, built and warmed."""
    if kind == "cpu-eager":
        return (lambda: cpu_work(units)), None, "no GPU"
    import torch

    dev = torch.device("cuda")
    x = torch.ones(1 << 12, device=dev)
    stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]

    def eager() -> None:
        for _ in range(units):
            x.mul_(1.0)

    fn: Any = eager
    with torch.cuda.stream(stream):
        eager()
        if kind == "gpu-graph":
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=stream):
                eager()
            fn = graph.replay
    stream.synchronize()
    return fn, stream, torch.cuda.get_device_name()


def measure_round(kind: str, units: int, spec: TimingSpec | None = None) -> tuple[Measurement, str]:
    """One round of the workload in this process: (measurement, GPU name)."""
    fn, stream, gpu = workload(kind, units)
    return measure(fn, spec or SPECS[kind], cuda_stream=stream), gpu


def write_round(path: Path, run_id: str, kind: str, units: int, m: Measurement, gpu: str, commit: str,
                case: str | None = None) -> Path:
    """One round's latency record, appended to a real results file as a section of its own (meta, record, end
    line: each round is a completed measurement), readable by ``harness.history``."""
    from harness.results import ResultsWriter

    meta = {"run_id": run_id, "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
            "machine": {"host": platform.node(), "cpus": os.cpu_count()}, "gpu": None if gpu == "no GPU" else {"name": gpu},
            "device": "cpu" if kind == "cpu-eager" else "cuda", "git_commit": commit,
            "calibration": {"kind": kind, "units": units}}
    st = m.stats()
    with ResultsWriter(path) as w:
        w.write("meta", {**meta, "resumed": path.stat().st_size > 0, "planned_cells": 0})
        w.write("record", {"case_id": case or f"calibrate-{kind}", "metric": "latency_ms", "value": st["p50"], "unit": "ms",
                           "batch": 1, "model": "calibration-spin", "variant": NOT_A_CELL, "kind": kind, "stream": "default",
                           "device": meta["device"], "clock": m.clock, "samples": list(m.samples_ms), "stats": st})
        w.write("end", {"status": "completed", "reason": "", "cells": 0})
    return path


def worker_line(m: Measurement, gpu: str) -> str:
    """A worker's message for one round (``harness.children.calibrate_worker``): one JSON line of the measurement's
    fields, its samples as "samples", and the GPU name."""
    rest = {k: v for k, v in dataclasses.asdict(m).items() if k != "samples_ms"}  # clock, warm-up, block time, ...
    return json.dumps({"samples": list(m.samples_ms), **rest, "gpu": gpu})


def read_worker_line(text: str) -> tuple[Measurement, str]:
    """(measurement, GPU name) of a worker's message: the worker's measurement, whole."""
    d = json.loads(text)
    gpu, samples = d.pop("gpu"), d.pop("samples")
    return Measurement.from_dict({**d, "samples_ms": samples}), gpu


@dataclass(frozen=True, order=True)
class Job:
    kind: str
    run: str
    round: int
    units: int


def _percent_list(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError("--slowdowns", text, "needs comma-separated percentages", "pass e.g. 2,5,10,25") from None
    if not vals or any(not 0 < v < 1000 for v in vals):
        raise UsageError("--slowdowns", text, "needs one or more percentages in (0, 1000)", "pass e.g. 2,5,10,25")
    return tuple(sorted(set(vals)))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kinds", default="auto", help=f"comma-separated subset of {list(KINDS)}; auto: those this machine "
                   "runs. Default: %(default)r")
    p.add_argument("--pairs", type=int, default=10, help="A/A pairs per kind. Default: %(default)r")
    p.add_argument("--ab-pairs", type=int, default=10, help="A/B pairs per kind and slowdown. Default: %(default)r")
    p.add_argument("--slowdowns", default="2,5,10,25", help="injected slowdowns in %%. Default: %(default)r")
    p.add_argument("--rounds", type=int, default=5, help="rounds per run, each a fresh process. Default: %(default)r")
    p.add_argument("--batch", type=int, default=4, help="worker processes started together. Default: %(default)r")
    p.add_argument("--budget-s", type=float, default=0.0, help="stop starting workers after this many seconds "
                   "(0: no limit); runs left with fewer than --min-rounds rounds are left out. Default: %(default)r")
    p.add_argument("--seed", type=int, default=0, help="order of the runs. Default: %(default)r")
    p.add_argument("--out", default=None, help="folder for the runs' results files and calibration.json. Default: a "
                   "temporary folder")


def _gpu_available() -> bool:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_kinds(text: str) -> tuple[str, ...]:
    if text == "auto":
        return KINDS if _gpu_available() else ("cpu-eager",)
    from harness.config import parse_list

    kinds = parse_list("calibration kind", text, KINDS)
    if any(k.startswith("gpu") for k in kinds) and not _gpu_available():
        raise UsageError("--kinds", text, "names a GPU kind but torch sees no CUDA GPU here",
                         "run the GPU kinds on a GPU host (.ci/gpu-calibrate), or pass --kinds cpu-eager")
    return kinds


def _check_counts(args: argparse.Namespace) -> None:
    for flag, value, low in (("--pairs", args.pairs, 1), ("--ab-pairs", args.ab_pairs, 1), ("--rounds", args.rounds, 1),
                             ("--batch", args.batch, 1)):
        if value < low:
            raise UsageError(flag, value, f"needs an integer >= {low}", f"pass e.g. {max(low, 3)}")
    if args.ab_pairs > 2 * args.pairs:
        raise UsageError("--ab-pairs", args.ab_pairs, f"needs at most 2 x --pairs ({2 * args.pairs}) base runs",
                         "raise --pairs or lower --ab-pairs")
    if not args.budget_s >= 0:
        raise UsageError("--budget-s", args.budget_s, "needs a number of seconds >= 0", "pass e.g. 200, or 0 for no limit")


def _units(kind: str, slowdown_pct: float) -> int:
    return round(BASE_UNITS[kind] * (1 + slowdown_pct / 100))


def plan(kinds: tuple[str, ...], pairs: int, ab_pairs: int, slowdowns: tuple[float, ...], rounds: int,
         seed: int) -> list[Job]:
    """Every round of every run, in waves: wave k holds round k of every run, in a shuffled order. The rounds
    of a run are spread over the whole calibration, as a nightly run's rounds are whole passes over the suites
    apart, so a burst of host load lands in one round rather than in all rounds of one run; a budget cut in
    the last wave leaves every run with one round less, not some runs with none."""
    runs = [(k, f"A{i:02d}", BASE_UNITS[k]) for k in kinds for i in range(2 * pairs)]
    runs += [(k, f"B{s:g}-{i:02d}", _units(k, s)) for k in kinds for s in slowdowns for i in range(ab_pairs)]
    rng = random.Random(seed)
    jobs = []
    for n in range(1, rounds + 1):
        wave = [Job(k, r, n, u) for k, r, u in runs]
        rng.shuffle(wave)
        jobs += wave
    return jobs


def run_path(out: Path, job: Job) -> Path:
    run_dir = out / job.kind / job.run
    return run_dir / "results.jsonl" if job.round == 1 else run_dir / "rounds" / f"r{job.round}" / "results.jsonl"


def slots(jobs: list[Job]) -> list[tuple[Job, ...]]:
    """The jobs grouped into worker processes: one job of each kind per process, in plan order (a process never
    holds two rounds of one run, nor two runs that are compared with each other)."""
    per_kind: dict[str, list[Job]] = {}
    for j in jobs:
        per_kind.setdefault(j.kind, []).append(j)
    lists = list(per_kind.values())
    longest = max((len(x) for x in lists), default=0)
    return [tuple(x[i] for x in lists if i < len(x)) for i in range(longest)]


def execute(jobs: list[Job], out: Path, batch: int, budget_s: float, commit: str) -> int:
    """Run the jobs, ``batch`` fresh worker processes at a time; returns how many rounds were measured."""
    t0, done = time.monotonic(), 0
    env = child_env()
    groups = slots(jobs)
    for start in range(0, len(groups), batch):
        if budget_s and time.monotonic() - t0 > budget_s:
            break
        chunk = groups[start:start + batch]
        procs = [subprocess.Popen([sys.executable, "-m", "harness.children.calibrate_worker",
                                   *(f"{j.kind}:{j.units}" for j in group)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) for group in chunk]
        try:
            for pr in procs:  # every worker set up before the first measures
                line = "-"
                while line and line.strip() != "ready":  # a library may print before "ready"
                    line = pr.stdout.readline() if pr.stdout else ""
                if not line:
                    raise UsageError("calibration worker", pr.args, "exited before it was ready (its error is above)",
                                     "run `python -m harness env` to see what this machine can run")
            for group, pr in zip(chunk, procs, strict=True):
                out_text, _ = pr.communicate("go\n", timeout=120)
                lines = out_text.strip().splitlines()[-len(group):]
                for j, text in zip(group, lines, strict=True):
                    m, gpu = read_worker_line(text)
                    write_round(run_path(out, j), f"{j.kind}-{j.run}", j.kind, j.units, m, gpu, commit)
                    done += 1
        finally:
            for pr in procs:
                if pr.poll() is None:
                    pr.kill()
                    pr.wait()
    return done


@dataclass(frozen=True)
class KindResult:
    kind: str
    aa_pairs: int
    false_alarms: int
    aa_faster: int
    detected: dict[float, tuple[int, int]]  # slowdown % -> (detected, pairs)
    round_cv: float  # median round-to-round CV of the runs' p50 (%)
    within_cv: float  # median within-round CV of the samples (%)
    p50_ms: float

    @property
    def smallest_detected(self) -> float | None:
        ok = [s for s, (d, n) in self.detected.items() if n and d / n >= 0.95]
        return min(ok) if ok else None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "aa_pairs": self.aa_pairs, "false_alarms": self.false_alarms,
                "false_alarm_rate": self.false_alarms / self.aa_pairs if self.aa_pairs else None,
                "aa_faster": self.aa_faster, "detected": {f"{s:g}": list(v) for s, v in self.detected.items()},
                "smallest_detected_pct": self.smallest_detected, "round_cv_pct": self.round_cv,
                "within_cv_pct": self.within_cv, "p50_ms": self.p50_ms}


def evaluate(out: Path, kind: str, pairs: int, ab_pairs: int, slowdowns: tuple[float, ...], rounds: int,
             t: Any) -> KindResult:
    """Classify every complete pair of one kind with the gate."""
    from harness.gate import compare
    from harness.history import case_rounds, load_run

    runs = {}
    for d in sorted((out / kind).glob("*/results.jsonl")):
        summary = load_run(d)
        if summary.cases and len(case_rounds(next(iter(summary.cases.values())))) >= min(rounds, t.min_rounds):
            runs[d.parent.name] = summary

    def verdicts(pairs_: list[tuple[str, str]]) -> list[str]:
        got = [(runs[a], runs[b]) for a, b in pairs_ if a in runs and b in runs]
        return [compare(a, b, t).rows[0].statistical for a, b in got]

    aa = verdicts([(f"A{2 * i:02d}", f"A{2 * i + 1:02d}") for i in range(pairs)])
    detected = {}
    for s in slowdowns:
        v = verdicts([(f"A{i:02d}", f"B{s:g}-{i:02d}") for i in range(ab_pairs)])
        detected[s] = (v.count("slower"), len(v))
    a_runs = [c for name, r in runs.items() if name.startswith("A") for c in r.cases.values()]
    cvs = [Samples(case_rounds(c)).cv * 100 for c in a_runs if len(case_rounds(c)) > 1]
    return KindResult(kind, len(aa), aa.count("slower"), aa.count("faster"), detected,
                      statistics.median(cvs) if cvs else math.nan,
                      statistics.median(float(c["cv"]) * 100 for c in a_runs) if a_runs else math.nan,
                      statistics.median(float(c["p50"]) for c in a_runs) if a_runs else math.nan)


def render(results: list[KindResult], rounds: int, t: Any, seconds: float) -> str:
    slow = sorted({s for r in results for s in r.detected})
    head = (f"{'kind':<10} {'p50 ms':>8} {'round CV':>9} {'A/A pairs':>9} {'false alarms':>13} "
            + " ".join(f"{f'+{s:g}%':>9}" for s in slow) + "  smallest detected (>= 95 %)")
    lines = [f"gate calibration on {platform.node()}: {rounds} rounds per run, each a fresh process; thresholds "
             f"min change {t.min_change}, cv factor {t.cv_factor}, alpha {t.alpha}, min rounds {t.min_rounds}", "", head]
    for r in results:
        rate = f"{r.false_alarms}/{r.aa_pairs} ({r.false_alarms / r.aa_pairs * 100:.0f}%)" if r.aa_pairs else "-"
        det = " ".join(f"{'{}/{}'.format(*r.detected[s]) if s in r.detected else '-':>9}" for s in slow)
        small = f"+{r.smallest_detected:g}%" if r.smallest_detected is not None else "none of those tried"
        lines.append(f"{r.kind:<10} {r.p50_ms:>8.4f} {r.round_cv:>8.2f}% {r.aa_pairs:>9} {rate:>13} {det}  {small}")
    lines += ["", f"took {seconds:.0f} s. Units: p50 = median latency of the base workload per iteration (ms); round CV = "
              "median over base runs of the CV of their round p50s; false alarms = A/A pairs the gate calls slower; "
              "+s% columns = A/B pairs with s % more work per iteration that the gate calls slower, out of the pairs run."]
    return "\n".join(lines)


def cmd_calibrate(args: argparse.Namespace, t: Any) -> int:
    from harness.config import check_out_dir
    from harness.session import _git_commit

    _check_counts(args)
    slowdowns = _percent_list(args.slowdowns)
    kinds = resolve_kinds(args.kinds)
    out = check_out_dir(args.out) if args.out else Path(tempfile.mkdtemp(prefix="harness-calibrate-"))
    if out.is_dir() and any(out.iterdir()):  # results files are appended to: an earlier calibration would mix in
        raise UsageError("--out", str(out), "is not empty", "pass a new or empty folder")
    jobs = plan(kinds, args.pairs, args.ab_pairs, slowdowns, args.rounds, args.seed)
    t0 = time.monotonic()
    done = execute(jobs, out, args.batch, args.budget_s, _git_commit())
    results = [evaluate(out, k, args.pairs, args.ab_pairs, slowdowns, args.rounds, t) for k in kinds]
    seconds = time.monotonic() - t0
    print(render(results, args.rounds, t, seconds))
    if done < len(jobs):
        print(f"budget: {done} of {len(jobs)} rounds measured in {args.budget_s:g} s; runs with fewer than "
              f"{t.min_rounds} rounds left out (the A/A pairs column counts the pairs evaluated)")
    from harness.results import write_atomic

    summary = {"machine": platform.node(), "rounds": args.rounds, "seconds": seconds, "rounds_measured": done,
               "rounds_planned": len(jobs), "thresholds": dataclasses.asdict(t),
               "kinds": [r.to_dict() for r in results]}
    write_atomic(out / "calibration.json", json.dumps(summary, indent=1))
    print(f"runs and calibration.json in {out}")
    return 0
