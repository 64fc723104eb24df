"""Latency records in pytest-benchmark's JSON format, so ``pytest-benchmark compare`` reads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from harness.results import Results
from harness.stats import Samples


def _stats(samples_ms: list[float]) -> dict[str, Any]:
    s = [x / 1e3 for x in samples_ms]  # pytest-benchmark works in seconds
    m = Samples(s)
    q1, q3 = m.quantile(0.25), m.quantile(0.75)
    iqr = q3 - q1
    mean = m.mean
    std = m.stdev if m.n > 1 else 0.0
    return {
        "min": m.min, "max": m.max, "mean": mean, "stddev": std, "rounds": m.n, "median": m.p50,
        "iqr": iqr, "q1": q1, "q3": q3,
        "iqr_outliers": sum(x < q1 - 1.5 * iqr or x > q3 + 1.5 * iqr for x in s),
        "stddev_outliers": sum(abs(x - mean) > std for x in s),
        "outliers": f"{sum(abs(x - mean) > std for x in s)};{sum(x < q1 - 1.5 * iqr or x > q3 + 1.5 * iqr for x in s)}",
        "ld15iqr": min(x for x in s if x >= q1 - 1.5 * iqr), "hd15iqr": max(x for x in s if x <= q3 + 1.5 * iqr),
        "ops": 1 / mean if mean else 0.0, "total": sum(s), "iterations": 1, "data": s,
    }


def to_pytest_benchmark(res: Results) -> dict[str, Any]:
    meta = res.meta
    benches = []
    for r in res.records:
        if r.get("metric") != "latency_ms" or not r.get("samples"):
            continue
        name = f"{r['case_id']}-b{r.get('batch')}"
        benches.append({
            "group": f"{r.get('model')}-{r.get('shapes')}-b{r.get('batch')}", "name": name,
            "fullname": f"suites::{name}", "params": {"batch": r.get("batch")}, "param": str(r.get("batch")),
            "extra_info": {"clock": r.get("clock"), "device": r.get("device"), "stream": r.get("stream"),
                           "variant": r.get("variant")},
            "options": {"disable_gc": False, "timer": r.get("clock", "host"), "min_rounds": len(r["samples"]),
                        "max_time": 0, "min_time": 0, "warmup": True},
            "stats": _stats(r["samples"]),
        })
    machine = meta.get("machine", {})
    return {
        "machine_info": {"node": machine.get("host", ""), "processor": "", "machine": machine.get("platform", ""),
                         "python_implementation": "CPython", "python_version": machine.get("python", ""),
                         "release": "", "system": "Linux", "cpu": {}, "gpu": meta.get("gpu")},
        "commit_info": {"id": meta.get("git_commit", "unknown"), "time": meta.get("started_utc", ""), "dirty": False,
                        "project": "trtrtx-harness", "branch": ""},
        "benchmarks": benches,
        "datetime": meta.get("started_utc") or dt.datetime.now(dt.timezone.utc).isoformat(),
        "version": "5.1.0",
    }
