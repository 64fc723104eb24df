"""Saved results -> the report's tables (pandas). Every number shown is a record's value, unchanged, or derived
from records in the open: a latency record's statistics from its raw samples when it stores none
(``harness.stats.Samples``), the speed-up against the eager row, and an eager row's device floor (the CUDA-graph
row's p50) and host overhead (its p50 minus that floor)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.results import Results
from harness.stats import Samples

LATENCY_KEYS = ["model", "shapes", "batch", "device", "stream", "variant", "cuda_graph_strategy", "kernel_strategy"]
UNITS = ("Units: latency in milliseconds (ms) per forward call, measured with CUDA events on a GPU and the host "
         "clock on the CPU; p50/p90 are percentiles of the per-iteration samples; CV = standard deviation / mean; "
         "speedup = eager p50 / this p50 at the same model, batch, device and stream; first call in ms on the host "
         "clock (the first forward of a fresh runner or at a new shape, compilation included); cosine and max |diff| "
         "compare the flattened output with the fp32 eager reference (cosine 1 = same direction; max |diff| in the "
         "output's own units); build time in seconds (s); engine size in bytes (B); every other value carries its "
         "unit in its column or row.")


@dataclass(frozen=True)
class ReportTables:
    header: dict[str, Any]
    latency: pd.DataFrame
    builds: pd.DataFrame
    cells: pd.DataFrame
    skipped: pd.DataFrame
    failed: pd.DataFrame
    findings: pd.DataFrame
    torn: int
    results: Results  # the records as read: sections take their own metrics from it
    status: tuple[str, ...] = ()  # incomplete run, salvaged damage, shared machine: shown first


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows)
    for c in columns:
        if c not in df.columns:
            df[c] = pd.Series(dtype="object")
    return df


def latency_table(res: Results) -> pd.DataFrame:
    rows = []
    for r in res.records:
        if r.get("metric") != "latency_ms":
            continue
        st = r.get("stats") or {}
        if r.get("samples") and not st:  # statistics are derived from the raw samples when not stored
            st = Samples(r["samples"]).summary()
        rows.append({**{k: r.get(k) for k in LATENCY_KEYS}, "p50_ms": r["value"], "p10_ms": st.get("p10"),
                     "p90_ms": st.get("p90"), "cv": st.get("cv"), "n": int(st.get("n", 0)), "clock": r.get("clock"),
                     "noisy": bool(r.get("noisy", False)), "why_noisy": "; ".join(r.get("noise") or []),
                     "per_sample": int(r.get("iters_per_sample") or 1), "state": r.get("state") or ""})
    cols = [*LATENCY_KEYS, "p50_ms", "p10_ms", "p90_ms", "cv", "n", "per_sample", "clock", "state", "noisy", "why_noisy",
            "graph_floor_ms", "host_overhead_ms", "speedup_vs_eager"]
    df = _frame(rows, cols)
    if df.empty:
        return df[cols]
    match = ["model", "shapes", "batch", "device", "stream"]
    eager = df[df["variant"] == "eager"][[*match, "p50_ms"]].rename(columns={"p50_ms": "eager_p50_ms"})
    eager = eager.drop_duplicates(subset=match)
    df = df.drop(columns=["speedup_vs_eager"]).merge(eager, on=match, how="left")
    df["speedup_vs_eager"] = df["eager_p50_ms"] / df["p50_ms"]
    df = df.drop(columns=["eager_p50_ms"])
    # The device-time floor of an eager row: the same model's CUDA-graph replay (the kernels, without the host's
    # per-op launches); eager p50 minus it is what the host adds.
    graph = df[df["variant"] == "cudagraph"][[*match, "p50_ms"]].rename(columns={"p50_ms": "floor"})
    df = df.drop(columns=["graph_floor_ms", "host_overhead_ms"]).merge(graph.drop_duplicates(subset=match), on=match, how="left")
    is_eager = df["variant"] == "eager"
    df["graph_floor_ms"] = df["floor"].where(is_eager)
    df["host_overhead_ms"] = (df["p50_ms"] - df["floor"]).where(is_eager)
    df = df.drop(columns=["floor"])
    return df.sort_values(["model", "shapes", "batch", "stream", "p50_ms"]).reset_index(drop=True)[cols]


def build_table(res: Results) -> pd.DataFrame:
    rows: dict[str, dict[str, Any]] = {}
    for r in res.records:
        if r.get("metric") not in ("build_s", "engine_bytes") or r.get("batch") is not None:
            continue
        row = rows.setdefault(r["case_id"], {"case_id": r["case_id"], "model": r.get("model"),
                                             "variant": r.get("variant"), "shapes": r.get("shapes"),
                                             "from_disk_cache": r.get("from_disk_cache")})
        row[r["metric"]] = r["value"]
    return _frame(list(rows.values()), ["case_id", "model", "variant", "shapes", "build_s", "engine_bytes",
                                        "from_disk_cache"])


def metric_frame(res: Results, metric: str) -> pd.DataFrame:
    """Every record of ``metric``, one row each, without raw samples; batch stays an integer."""
    rows = [{k: v for k, v in r.items() if k not in ("samples", "stats")} for r in res.records if r.get("metric") == metric]
    df = pd.DataFrame.from_records(rows)
    if "batch" in df.columns:
        df["batch"] = df["batch"].astype("Int64")
    return df


def build_tables(res: Results) -> ReportTables:
    cells = _frame(res.cells, ["case_id", "nodeid", "outcome", "reason", "duration_s"])
    skipped = cells[cells["outcome"] == "skipped"]
    skipped = (skipped.groupby("reason", dropna=False)
               .agg(cells=("nodeid", "count"), example=("nodeid", "first")).reset_index()
               .sort_values("cells", ascending=False)) if not skipped.empty else _frame([], ["reason", "cells", "example"])
    failed = cells[cells["outcome"] == "failed"][["nodeid", "reason"]] if not cells.empty else _frame([], ["nodeid", "reason"])
    return ReportTables(
        header=res.meta,
        latency=latency_table(res),
        builds=build_table(res),
        cells=cells,
        skipped=skipped,
        failed=failed,
        findings=_frame(res.findings, ["case_id", "text", "source"]),
        torn=res.torn,
        results=res,
        status=tuple(res.status_lines()),
    )


def outcome_counts(cells: pd.DataFrame) -> dict[str, int]:
    if cells.empty:
        return {}
    return {str(k): int(v) for k, v in cells["outcome"].value_counts().items()}


def fmt(value: Any, column: str = "") -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and column in ("batch", "n", "cells"):
        return str(int(value))
    if isinstance(value, float):
        if column == "cv":
            return f"{value * 100:.2f}%"
        if column.startswith("speedup"):
            return f"{value:.2f}x"
        if column == "build_s":
            return f"{value:.2f}"
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and column == "engine_bytes":
        return f"{value:,}"
    return str(value)
