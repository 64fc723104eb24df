"""The report as a renderer-neutral document: sections of text, tables and images.

Markdown and HTML render the same document, so both always show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from reports.tables import UNITS, ReportTables, fmt, outcome_counts


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # file names of PNGs in plots/


def to_table(df: pd.DataFrame, columns: list[str]) -> Table:
    cols = [c for c in columns if c in df.columns]
    rows = tuple(tuple(fmt(v, c) for c, v in zip(cols, rec, strict=True)) for rec in df[cols].itertuples(index=False))
    return Table(tuple(cols), rows)


LATENCY_COLUMNS = ["model", "shapes", "batch", "device", "stream", "variant", "strategy", "p50_ms", "p90_ms", "cv",
                   "n", "noisy", "speedup_vs_eager"]


def build_document(t: ReportTables, plots: list[str]) -> tuple[str, list[Section]]:
    meta = t.header
    cfg = meta.get("config", {})
    title = f"Harness report — run {meta.get('run_id', '?')}"
    head = Section("Run")
    gpu = meta.get("gpu")
    gpu_text = (f"{gpu['name']} (sm_{gpu['compute_capability'][0]}{gpu['compute_capability'][1]}, {gpu['sm_count']} SMs, "
                f"driver {gpu['driver_version']})") if gpu else "none"
    pk = meta.get("packages", {})
    head.paragraphs += [*t.status,
        f"Started {meta.get('started_utc', '?')} on {meta.get('machine', {}).get('host', '?')}; device {meta.get('device', '?')}; "
        f"GPU: {gpu_text}; git {str(meta.get('git_commit', '?'))[:12]}.",
        f"Config: profile {cfg.get('profile')}, models {cfg.get('models')}, variants {cfg.get('variants') or 'profile'}, "
        f"timing {cfg.get('timing')}.",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in pk.items() if v != "not installed") + ".",
        "Cells: " + (", ".join(f"{v} {k}" for k, v in sorted(outcome_counts(t.cells).items())) or "none") + ".",
    ]
    if t.torn:
        head.paragraphs.append(f"{t.torn} torn line(s) in the results file were skipped (a writer was interrupted).")
    caps = meta.get("probe", {}).get("capabilities", [])
    if caps:
        df = pd.DataFrame.from_records(caps)
        df["found"] = [r["detail"] if r["ok"] else r["reason"] for r in caps]
        head.tables.append(to_table(df, ["name", "ok", "found"]))
    sections = [head]
    lat = Section("Latency", images=plots)
    if t.latency.empty:
        lat.paragraphs.append("No latency was measured in this run.")
    else:
        lat.tables.append(to_table(t.latency, LATENCY_COLUMNS))
        if t.latency["noisy"].any():
            lat.paragraphs.append("Rows marked noisy have CV above 2.5 %: treat their differences with care.")
    sections.append(lat)
    if not t.builds.empty:
        b = Section("Builds")
        b.tables.append(to_table(t.builds, ["model", "variant", "shapes", "build_s", "engine_bytes", "from_disk_cache"]))
        sections.append(b)
    if not t.cells.empty and "worker" in t.cells.columns and t.cells["worker"].nunique() > 1:
        w = Section("Workers")
        w.paragraphs.append("Cells per pytest-xdist worker and the GPU it was pinned to (CUDA_VISIBLE_DEVICES).")
        counts = (t.cells.assign(gpu=t.cells.get("gpu", "all")).groupby(["worker", "gpu"])["outcome"]
                  .value_counts().unstack(fill_value=0).reset_index())
        w.tables.append(to_table(counts, ["worker", "gpu", "passed", "skipped", "failed"]))
        sections.append(w)
    sk = Section("Skipped cells")
    if t.skipped.empty:
        sk.paragraphs.append("No cell was skipped.")
    else:
        sk.tables.append(to_table(t.skipped, ["reason", "cells", "example"]))
    sections.append(sk)
    if not t.failed.empty:
        f = Section("Failed cells")
        f.tables.append(to_table(t.failed, ["nodeid", "reason"]))
        sections.append(f)
    fi = Section("Findings")
    if t.findings.empty:
        fi.paragraphs.append("No finding.")
    else:
        fi.tables.append(to_table(t.findings, ["case_id", "text", "source"]))
    sections.append(fi)
    sections.append(Section("Units", paragraphs=[UNITS]))
    return title, sections
