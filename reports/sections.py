"""The report's sections, in reading order. Each builder takes the run's tables and returns its sections.

``METRICS`` names, per section, the record metrics it shows; every record of another metric appears in "Other
measurements", so no record a run writes is left out. ``BANNERS`` are the first lines of the report (a
status that must be seen before anything else); each returns its lines, or none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd

from harness.results import cell_seconds
from reports import matrix
from reports.document import STATES, Details, Image, Section, Table, to_table
from reports.tables import UNITS, ReportTables, fmt, metric_frame


def run_status(t: ReportTables) -> list[str]:
    """Incomplete run (N of M cells), salvaged damage, a machine shared with another run: ``Results.status_lines``."""
    return list(t.status)


BANNERS: list[Callable[[ReportTables], list[str]]] = [run_status]  # first-screen status lines, before the summary

METRICS: dict[str, tuple[str, ...]] = {
    "latency": ("latency_ms",),
    "first-call": ("first_call_ms", "graphs_compiled", "sweep_first_call_ms_total"),
    "cache": ("warm_speedup", "lost_updates"),  # and the first calls that carry ``start``
    "accuracy": ("cosine", "max_abs"),
    "builds": ("build_s", "engine_bytes"),
}
SHOWN = {m for ms in METRICS.values() for m in ms}

LATENCY_COLUMNS = ["batch", "variant", "cuda_graph_strategy", "kernel_strategy", "p50_ms", "p10_ms", "p90_ms", "cv", "n",
                   "per_sample", "clock", "state", "graph_floor_ms", "host_overhead_ms", "speedup_vs_eager", "noisy", "why_noisy"]
HEAD = {"p50_ms": "p50 (ms)", "p10_ms": "p10 (ms)", "p90_ms": "p90 (ms)", "cv": "CV", "n": "samples",
        "speedup_vs_eager": "speedup vs eager (x)", "value": "value", "build_s": "build (s)", "engine_bytes": "engine (B)",
        "first_call_ms": "first call (ms)", "process_s": "process (s)", "cold_ms": "cold first call (ms)",
        "warm_ms": "warm first call (ms)", "warm_speedup": "speed-up (x)", "cosine": "cosine",
        "max_abs": "max |diff| (output units)", "duration_s": "duration (s)", "per_sample": "iterations per sample",
        "state": "measured in", "graph_floor_ms": "device floor: graph replay (ms)", "host_overhead_ms": "host overhead (ms)",
        "why_noisy": "why noisy"}


def _cells(t: ReportTables) -> list[dict[str, Any]]:
    return t.results.cells


def summary(t: ReportTables, plots: list[str]) -> list[Section]:
    meta, cells = t.header, _cells(t)
    s = Section("Summary", "summary")
    for banner in BANNERS:
        s.add(*banner(t))
    version = matrix.torch_trt_version(meta)
    states = Counter(matrix.cell_state(c, version) for c in cells)
    counts = ", ".join(f"{states[k]} {STATES[k]}" for k in ("passed", "raised", "failed", "skipped") if states[k])
    suites = {matrix.suite_of(str(c.get("nodeid", ""))) for c in cells}
    s.add(f"Ran {len(cells)} cells of {len(suites)} suites: {counts or 'none'}.")
    m, gpu = meta.get("machine", {}), meta.get("gpu")
    gpu_text = (f"{gpu['name']} (sm_{gpu['compute_capability'][0]}{gpu['compute_capability'][1]}, {gpu['sm_count']} SMs, "
                f"driver {gpu['driver_version']})") if gpu else "no GPU"
    s.add(f"Machine: {m.get('host', '?')}, {m.get('platform', '?')}, {m.get('cpus', '?')} CPUs, Python {m.get('python', '?')}; "
          f"GPU: {gpu_text}; device {meta.get('device', '?')}. Started {meta.get('started_utc', '?')}, git "
          f"{str(meta.get('git_commit', '?'))[:12]}.")
    if t.torn:
        s.add(f"{t.torn} damaged line(s) of the results file were not read (a writer was interrupted).")
    failed = [c for c in cells if c.get("outcome") == "failed"]
    if failed:
        s.add(f"{len(failed)} failed cell(s), with their message:",
              Table(("cell", "message"), tuple((str(c["nodeid"]), str(c.get("reason", ""))[:600]) for c in failed)))
    else:
        s.add("No cell failed.")
    skipped = [c for c in cells if c.get("outcome") == "skipped"]
    if skipped:
        top = Counter(str(c.get("reason", "")) for c in skipped).most_common(1)[0]
        s.add(f"{len(skipped)} skipped cells, {top[1]} of them because: {top[0][:200]} (every reason: the legend under the "
              "conformance matrix).")
    return [s]


def conformance_matrix(t: ReportTables, plots: list[str]) -> list[Section]:
    s = Section("Conformance matrix", "matrix")
    maps = matrix.heatmaps(_cells(t), t.header)
    if not maps:
        s.add("The TensorRT-RTX CUDA-graph matrix (suites/cudagraphs/test_rtx_matrix.py) did not run.")
    else:
        s.add("Each square is one cell of suites/cudagraphs/test_rtx_matrix.py: green passed, blue raised the error "
              "the oracle expects (type and message checked), red failed, grey skipped (its key names the reason in "
              "the legend below; hover a square for the cell id and reason), white not in this run.")
    s.add(*maps)
    if any(c.get("outcome") == "skipped" for c in _cells(t)):
        s.add("Why cells were skipped, every suite (the keys mark skipped squares above):", matrix.skip_legend(_cells(t)))
    return [s]


def latency(t: ReportTables, plots: list[str]) -> list[Section]:
    s = Section("Latency", "latency")
    if t.latency.empty:
        return [s.add("No latency was measured in this run.")]
    s.add("One table per model, shape kind, device and stream: rows of one batch compare backends on the same input.")
    for (model, shapes, device, stream), df in t.latency.groupby(["model", "shapes", "device", "stream"], sort=True):
        s.add(f"{model}, {shapes} shapes, on {device}, stream {stream}:",
              to_table(df.sort_values(["batch", "p50_ms"]), LATENCY_COLUMNS, HEAD))
    s.add("Measured in: \"fresh process per build config\" (graph-mode cells on a GPU: the state of a user's inference "
          "process, with no other graph of the model alive) or \"pytest process\". Iterations per sample > 1: an iteration "
          "too short for its own event pair is timed in batches and the percentiles are of batch means. Device floor: "
          "the same model's CUDA-graph replay at that batch, shown on eager rows; host overhead = eager p50 minus it.")
    if t.latency["noisy"].any():
        s.add("Rows marked noisy have CV above 2.5 %; the why column gives the reason the numbers show (host-bound, "
              "stopped by the time limit before the precision target, or a change during the run).")
    return [s.add(*(Image(p) for p in plots))]


def _records(t: ReportTables, metric: str, **where: Any) -> pd.DataFrame:
    df = metric_frame(t.results, metric)
    for k, want in where.items():
        if df.empty:
            break
        col = df[k] if k in df.columns else pd.Series([None] * len(df), index=df.index)
        df = df[col.isna()] if want is None else df[col == want]
    return df


def first_call(t: ReportTables, plots: list[str]) -> list[Section]:
    s = Section("First call", "first-call")
    fresh = _records(t, "first_call_ms", start=None, new_shape=None)
    if not fresh.empty:
        on = [c for c in ("model", "variant", "shapes", "batch", "device", "stream") if c in fresh.columns]
        df = fresh.merge(t.latency[[*on, "p50_ms"]].astype({"batch": "Int64"} if "batch" in on else {}), on=on, how="left")
        df["first_over_p50"] = df["value"] / df["p50_ms"]
        s.add("First forward of a fresh runner against its steady p50 (latency suite):",
              to_table(df.rename(columns={"value": "first_call_ms"}).sort_values(["model", "shapes", "batch", "variant"]),
                       ["model", "shapes", "batch", "variant", "device", "first_call_ms", "p50_ms", "first_over_p50"],
                       {**HEAD, "first_over_p50": "first / p50 (x)"}))
    shape = _records(t, "first_call_ms", new_shape=True)
    if not shape.empty:
        s.add("First call at each new batch size (kernel-specialization sweep):",
              to_table(shape.rename(columns={"value": "first_call_ms"}).sort_values(
                  ["model", "variant", "shapes", "kernel_strategy", "batch"]),
                  ["model", "variant", "shapes", "kernel_strategy", "batch", "first_call_ms"], HEAD))
    for metric, what in (("graphs_compiled", "Graphs compiled over the batch sweep"),
                         ("sweep_first_call_ms_total", "Sum of the sweep's first calls (ms)")):
        df = _records(t, metric)
        if not df.empty:
            s.add(f"{what}:", to_table(df, ["model", "variant", "shapes", "kernel_strategy", "value", "unit", "batches",
                                            "new_shape_first_call_ms_min", "new_shape_first_call_ms_max"],
                                       {**HEAD, "batches": "batch sizes", "new_shape_first_call_ms_min": "fastest first call (ms)",
                                        "new_shape_first_call_ms_max": "slowest first call (ms)"}))
    return [s] if s.blocks else [s.add("No first call was recorded in this run.")]


def cache(t: ReportTables, plots: list[str]) -> list[Section]:
    s = Section("Runtime cache: cold and warm", "cache")
    starts = _records(t, "first_call_ms")
    starts = starts[starts["start"].notna()] if "start" in starts.columns else starts.iloc[0:0]
    if not starts.empty:
        s.add("First call of a fresh process by the cache it starts from (cold: none, warm: the cold run's, corrupt: "
              "a damaged file):", to_table(starts.rename(columns={"value": "first_call_ms"}).sort_values(
                  ["model", "variant", "start"]), ["model", "variant", "shapes", "start", "first_call_ms", "process_s"], HEAD))
    warm = _records(t, "warm_speedup")
    if not warm.empty:
        s.add("Warm against cold:", to_table(warm.rename(columns={"value": "warm_speedup"}),
                                             ["model", "variant", "shapes", "cold_ms", "warm_ms", "warm_speedup"], HEAD))
    lost = _records(t, "lost_updates")
    if not lost.empty:
        s.add("Processes saving one cache file under the file lock:",
              to_table(lost.drop(columns=["value"]), ["writers", "rounds", "updates", "lost_updates", "corrupt_files",
                                                       "torn_reads", "mode"], {"lost_updates": "lost updates"}))
    return [s] if s.blocks else [s.add("No runtime-cache cell ran.")]


def accuracy(t: ReportTables, plots: list[str]) -> list[Section]:
    s = Section("Accuracy", "accuracy")
    frames = [_records(t, m).assign(metric=m) for m in METRICS["accuracy"]]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return [s.add("No output was compared with the reference in this run.")]
    df = pd.concat(frames)
    keys = ["model", "variant", "shapes", "device", "batch"]
    wide = df.pivot_table(index=keys, columns="metric", values="value", aggfunc="first").reset_index()
    s.add("Each backend's output against the fp32 eager reference on the same input:")
    return [s.add(to_table(wide.sort_values(keys), [*keys, "cosine", "max_abs"], HEAD))]


def builds(t: ReportTables, plots: list[str]) -> list[Section]:
    built = t.builds[t.builds["engine_bytes"].notna()] if not t.builds.empty else t.builds
    if built.empty:
        return []
    s = Section("Builds", "builds")
    s.add("Engines built in this run (backends that build nothing ahead of time are not listed):")
    return [s.add(to_table(built, ["model", "variant", "shapes", "build_s", "engine_bytes", "from_disk_cache"], HEAD))]


def other(t: ReportTables, plots: list[str]) -> list[Section]:
    rest = [r for r in t.results.records if r.get("metric") not in SHOWN]
    if not rest:
        return []
    df = pd.DataFrame.from_records([{k: v for k, v in r.items() if k not in ("samples", "stats", "ran")} for r in rest])
    if "batch" in df.columns:
        df["batch"] = df["batch"].astype("Int64")
    s = Section("Other measurements", "other")
    order = [c for c in ("metric", "case_id") if c in df.columns]
    return [s.add(to_table(df.sort_values(order), ["metric", "case_id", "value", "unit", "model", "variant",
                                                                    "shapes", "stream", "batch"], HEAD))]


def verdict(f: dict[str, Any]) -> str:
    """success: a deliberately wrong run was flagged; attention: the library or driver misbehaves; info: a fact."""
    text, source = str(f.get("text", "")), str(f.get("source", ""))
    if text.startswith("negative control flagged") or "escapes it" in text:
        return "success (control flagged)"
    if "static scan" in source or "loses" in text or "mismatch" in text:
        return "attention"
    return "info"


def coverage(t: ReportTables, plots: list[str]) -> list[Section]:
    """Per oracle row and contract expectation, the highest proof level this run reached (harness/coverage.py)."""
    from harness.coverage import LEVEL_TEXT, LEVELS
    from harness.coverage import coverage as covered

    rows = covered(t.results.records, t.results.cells)
    s = Section("Coverage", "coverage")
    counts = {lvl: sum(r.level == lvl for r in rows) for lvl in LEVELS}
    s.add("How far each expectation is proven on this run: " + "; ".join(
        f"{lvl} {LEVEL_TEXT[lvl]}: {counts[lvl]}" for lvl in LEVELS) + f" (of {len(rows)}). L1 is the adapters' "
        "type-check in CI; L2 to L4 are cells that passed in this run. The rows and their sources: docs/behaviour.md.")
    s.add(Table(("level", "row or expectation", "passing cells", "source"),
                tuple((r.level, r.row, str(r.cells), r.source) for r in sorted(rows, key=lambda r: (r.level, r.row),
                                                                                reverse=True))))
    return [s]


def findings(t: ReportTables, plots: list[str]) -> list[Section]:
    s = Section("Findings", "findings")
    fs = t.results.findings
    if not fs:
        return [s.add("No finding.")]
    rows = tuple((verdict(f), str(f.get("case_id")), str(f.get("text")), str(f.get("source"))) for f in fs)
    s.add("Verdict: success = a deliberately wrong run (a negative control) was flagged, as it must be; attention = "
          "the library or driver does something a user must know; info = a measured fact.")
    return [s.add(Table(("verdict", "case", "finding", "source"), rows))]


def cells_lists(t: ReportTables, plots: list[str]) -> list[Section]:
    version = matrix.torch_trt_version(t.header)
    s = Section("Cells", "cells")
    s.add("Cells per suite:", matrix.suite_counts(_cells(t), t.header))
    if _cells(t):
        s.add("Time per suite, longest first: each cell's call and the setup it paid (a shared build, a traced child); "
              "with several workers the run's wall clock is shorter than the sum.", matrix.suite_seconds(_cells(t)))
        slowest = sorted(_cells(t), key=lambda c: -sum(cell_seconds(c)))[:10]
        s.add(Details("The 10 longest cells", Table(("cell", "call (s)", "setup (s)"), tuple(
            (str(c["nodeid"]), *(f"{x:.2f}" for x in cell_seconds(c))) for c in slowest))))
    for state in ("passed", "raised"):
        mine = [c for c in _cells(t) if matrix.cell_state(c, version) == state]
        if mine:
            s.add(Details(f"{len(mine)} cells {STATES[state]} (click to list)", Table(
                ("cell", "duration (s)"), tuple((str(c["nodeid"]), fmt(c.get("duration_s"), "duration_s")) for c in mine))))
    cells = t.cells
    if not cells.empty and "worker" in cells.columns and cells["worker"].nunique() > 1:
        counts = (cells.assign(gpu=cells.get("gpu", "all")).groupby(["worker", "gpu"])["outcome"]
                  .value_counts().unstack(fill_value=0).reset_index())
        s.add("Cells per pytest-xdist worker and the GPU it was pinned to (CUDA_VISIBLE_DEVICES):",
              to_table(counts, ["worker", "gpu", "passed", "skipped", "failed"]))
    return [s] if s.blocks else []


def _flat(d: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", "–" if v is None else ", ".join(map(str, v)) if isinstance(v, list) else str(v)))
    return out


def configuration(t: ReportTables, plots: list[str]) -> list[Section]:
    meta = t.header
    s = Section("Configuration", "config")
    config = Table(("setting", "value"), tuple(_flat(meta.get("config", {}))))
    s.add("Run configuration (timing in seconds, samples as counts):", config)
    pk = meta.get("packages", {})
    s.add("Packages:", Table(("package", "version"), tuple((k, str(v)) for k, v in pk.items())))
    caps = meta.get("probe", {}).get("capabilities", [])
    if caps:
        s.add("Capability probe:", Table(("capability", "available", "found"), tuple(
            (c["name"], "yes" if c["ok"] else "no", c["detail"] if c["ok"] else c["reason"]) for c in caps)))
    return [s]


def units(t: ReportTables, plots: list[str]) -> list[Section]:
    return [Section("Units", "units").add(UNITS)]


# Reading order. A new section is one more builder here.
SECTIONS: list[Callable[[ReportTables, list[str]], list[Section]]] = [
    summary, conformance_matrix, coverage, latency, first_call, cache, accuracy, builds, other, findings, cells_lists,
    configuration, units,
]


def build_document(t: ReportTables, plots: list[str]) -> tuple[str, list[Section]]:
    """The report's title and its sections, in reading order."""
    title = f"Harness report — run {t.header.get('run_id', '?')}"
    sections: list[Section] = []
    for builder in SECTIONS:
        sections += builder(t, plots)
    return title, sections
