"""Report rendering from saved results only: the same code runs at the end of a pytest session and
from ``python -m harness report RESULTS``."""

from __future__ import annotations

import json
from pathlib import Path

from harness.results import read_results, write_atomic
from reports.benchjson import to_pytest_benchmark
from reports.html import render_html
from reports.markdown import render_markdown
from reports.plots import latency_plots
from reports.sections import build_document
from reports.tables import build_tables


def render_run(results: Path | str, out_dir: Path | None = None, salvage: bool = False) -> list[Path]:
    """Render report.md, report.html, plots/ and benchmark.json next to the results file (or into ``out_dir``)."""
    res = read_results(results, salvage=salvage)
    out = out_dir or Path(res.path).parent
    tables = build_tables(res)
    images = latency_plots(tables.latency)
    for name, png in images.items():
        write_atomic(out / "plots" / name, png)
    title, sections = build_document(tables, sorted(images))
    md, page = out / "report.md", out / "report.html"
    write_atomic(md, render_markdown(title, sections))
    write_atomic(page, render_html(title, sections, images))
    bench = out / "benchmark.json"  # pytest-benchmark's format: `pytest-benchmark compare` reads it
    write_atomic(bench, json.dumps(to_pytest_benchmark(res), indent=1))
    return [md, page, bench, Path(res.path)]
