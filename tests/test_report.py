"""The report shows exactly the numbers in the results file, renders from saved results alone, gives every
record kind a run writes a section, and opens in a real headless browser with its sections and no console error."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results import ResultsWriter, read_results
from reports import render_run
from reports.markdown import render_markdown
from reports.sections import METRICS, SHOWN, build_document
from reports.tables import build_tables, fmt

ROOT = Path(__file__).resolve().parents[1]
CPU_MAIN_JOB = Path(__file__).parent / "fixtures" / "cpu-main-job.results.jsonl.gz"  # `harness run` on a 2-core CPU host


def _latency(w, variant, batch, samples, shapes="static"):
    s = sorted(samples)
    stats = {"p10": s[0], "p50": s[len(s) // 2], "p90": s[-1], "cv": 0.01, "n": float(len(s))}
    w.write("record", {"case_id": f"dynconv-{shapes}-{variant}-{batch}", "metric": "latency_ms", "value": stats["p50"],
                       "unit": "ms", "model": "dynconv", "variant": variant, "shapes": shapes, "stream": "default",
                       "cuda_graph_strategy": "disabled", "kernel_strategy": "lazy", "device": "cpu", "batch": batch,
                       "samples": samples, "stats": stats, "noisy": False, "clock": "host"})


def _rtx_cell(w, outcome, reason, cg_mode, shapes, kernel, rt="python", seg="broken"):
    case = f"dynconv-{shapes}-torch_trt-ks={kernel}-mode={cg_mode}-rt={rt}-seg={seg}"
    w.write("cell", {"case_id": case, "nodeid": f"suites/cudagraphs/test_rtx_matrix.py::test_rtx_cell[{case}]",
                     "outcome": outcome, "reason": reason, "duration_s": 0.5, "model": "dynconv", "variant": "torch_trt",
                     "shapes": shapes, "stream": "default", "cuda_graph_strategy": "disabled", "kernel_strategy": kernel,
                     "cg_mode": cg_mode, "runtime_cache": "off", "rt": rt, "seg": seg})


@pytest.fixture
def results(tmp_path):
    p = tmp_path / "run" / "results.jsonl"
    with ResultsWriter(p) as w:
        w.write("meta", {"run_id": "r1", "device": "cpu", "config": {"profile": "quick", "timing": {"warmup_s": 0.2}},
                         "packages": {"torch": "2.14.1"}, "machine": {"host": "box", "cpus": 2}})
        _latency(w, "eager", 4, [2.0, 2.5, 3.0])
        _latency(w, "compile", 4, [0.9, 1.0, 1.1])
        _latency(w, "eager", 1, [0.7, 0.75, 0.8])
        for variant, first in (("eager", 9.5), ("compile", 1234.5)):
            w.write("record", {"case_id": f"dynconv-static-{variant}-4", "metric": "first_call_ms", "value": first,
                               "unit": "ms", "model": "dynconv", "variant": variant, "shapes": "static", "batch": 4,
                               "stream": "default", "device": "cpu", "clock": "host"})
        for metric, value in (("cosine", 0.99991), ("max_abs", 0.0123)):
            w.write("record", {"case_id": "dynconv-static-compile-4", "metric": metric, "value": value, "unit": "1",
                               "model": "dynconv", "variant": "compile", "shapes": "static", "device": "cpu", "batch": 4})
        w.write("record", {"case_id": "b", "metric": "build_s", "value": 3.25, "unit": "s", "model": "dynconv",
                           "variant": "trt_rtx", "shapes": "dynamic"})
        w.write("record", {"case_id": "b", "metric": "engine_bytes", "value": 291300, "unit": "B", "model": "dynconv",
                           "variant": "trt_rtx", "shapes": "dynamic"})
        w.write("record", {"case_id": "e", "metric": "build_s", "value": 0.0, "unit": "s", "model": "dynconv",
                           "variant": "eager", "shapes": "static"})  # nothing built: not a Builds row
        w.write("record", {"case_id": "g", "metric": "green_cycle_ms", "value": 4.75, "unit": "ms", "model": "-",
                           "variant": "-", "shapes": "-", "stream": "green16"})
        for i in range(3):
            w.write("cell", {"case_id": f"s{i}", "nodeid": f"suites/t.py::s{i}", "outcome": "skipped",
                             "reason": "no GPU here", "duration_s": 0.0})
        w.write("cell", {"case_id": "p", "nodeid": "suites/t.py::p", "outcome": "passed", "reason": "", "duration_s": 1.0,
                         "setup_s": 2.5})
        w.write("cell", {"case_id": "f", "nodeid": "suites/t.py::f", "outcome": "failed", "reason": "AssertionError: 3 != 4",
                         "duration_s": 1.0})
        # whole_graph + lazy + dynamic + broken graph on the Python runtime raises (oracle); static runs
        _rtx_cell(w, "passed", "", "whole_graph", "dynamic", "lazy")
        _rtx_cell(w, "passed", "", "whole_graph", "static", "lazy")
        _rtx_cell(w, "skipped", "torch_tensorrt is not installed", "standard", "static", "lazy")
        w.write("finding", {"case_id": "probe", "text": "compile() swallows kwargs",
                            "source": "static scan of the installed torch_tensorrt"})
        w.write("finding", {"case_id": "c", "text": "negative control flagged: 3 kernel(s) ran off the bound stream",
                            "source": "harness.expect.confinement"})
        w.write("finding", {"case_id": "s", "text": "35 of 40 updates lost", "source": "spec Runtime cache"})
    return p


def _md_rows(md: str, first: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines() if line.startswith(f"| {first} ")]


def _section(md: str, title: str) -> str:
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_report_numbers_equal_the_records(results):
    md_path, html_path, *_ = render_run(results)
    md = md_path.read_text()
    lat = _section(md, "Latency")
    rows = {(r[0], r[1]): r for r in _md_rows(lat, "4") + _md_rows(lat, "1")}  # (batch, variant) -> row
    assert rows[("4", "eager")][4] == "2.5" and rows[("4", "compile")][4] == "1" and rows[("4", "compile")][14] == "2.50x"
    assert rows[("1", "eager")][4] == "0.75" and rows[("1", "eager")][14] == "1.00x"
    assert "| dynconv | static | 4 | compile | cpu | 1,234 | 1 | 1,234 |" in _section(md, "First call")
    assert "| dynconv | compile | static | cpu | 4 | 0.9999 | 0.0123 |" in _section(md, "Accuracy")
    builds = _section(md, "Builds")
    assert "| dynconv | trt_rtx | dynamic | 3.25 | 291,300 | – |" in builds and "eager" not in builds
    assert "| green_cycle_ms | g | 4.75 | ms |" in _section(md, "Other measurements")
    summary = _section(md, "Summary")
    assert "Ran 8 cells of 2 suites: 2 passed, 1 raised as expected, 1 failed, 4 skipped." in summary
    assert "| suites/t.py::f | AssertionError: 3 != 4 |" in summary and "4 skipped cells, 3 of them because: no GPU here" in summary
    assert "| S1 | 3 | no GPU here |" in _section(md, "Conformance matrix")
    findings = _section(md, "Findings")
    assert "| success (control flagged) | c |" in findings and "| attention | probe |" in findings
    assert "| info | s | 35 of 40 updates lost |" in findings
    assert "| warmup_s" not in md and "| timing.warmup_s | 0.2 |" in _section(md, "Configuration")
    assert md.rstrip().splitlines()[-1].startswith("Units:")
    page = html_path.read_text()
    assert "data:image/png;base64," in page and "2.50x" in page and "<details><summary>2 cells passed" in page


def test_time_per_suite_sums_each_cells_call_and_setup(results):
    md = _section(render_run(results)[0].read_text(), "Cells")
    table = md.split("Time per suite", 1)[1]
    rows = [r for r in (_md_rows(table, "t") + _md_rows(table, "cudagraphs/test_rtx_matrix")) if len(r) == 5]
    assert rows == [["t", "5", "2.0", "2.5", "4.5"], ["cudagraphs/test_rtx_matrix", "3", "1.5", "0.0", "1.5"]], rows
    assert table.index("| t | 5 |") < table.index("| cudagraphs/test_rtx_matrix | 3 |")  # longest first
    assert "| suites/t.py::p | 1.00 | 2.50 |" in table  # the longest cell, its setup apart


def test_matrix_cells_coloured_by_outcome(results):
    md, *_ = render_run(results)
    matrix = _section(md.read_text(), "Conformance matrix")
    row = _md_rows(matrix, "mode=whole_graph")[0]
    assert row[1:] == ["R", "P"]  # dynamic raises as the oracle expects; static runs
    assert _md_rows(matrix, "mode=standard")[0][1:] == ["·", "S2"]  # the dynamic cell of this row did not run
    page = md.with_suffix(".html").read_text()
    assert page.count("class='h raised'") == 1 and page.count("class='h passed'") == 1
    assert "title='dynconv-static-torch_trt-ks=lazy-mode=standard-rt=python-seg=broken: skipped (S2: torch_tensorrt is" in page


def test_every_record_kind_of_the_cpu_main_job_has_a_section(tmp_path):
    """The CPU main job's 63 records: every metric has its section, and each record's value is in it."""
    path = tmp_path / "results.jsonl"
    path.write_bytes(gzip.decompress(CPU_MAIN_JOB.read_bytes()))
    res = read_results(path)
    kinds = {r["metric"] for r in res.records}
    assert len(res.records) == 63 and kinds == {"latency_ms", "first_call_ms", "build_s", "engine_bytes", "cosine",
                                                 "graphs_compiled", "warm_speedup", "lost_updates"}
    assert kinds <= SHOWN
    title, sections = build_document(build_tables(res), [])
    md = render_markdown(title, sections)
    assert "## Other measurements" not in md
    anchor = {m: a for a, ms in METRICS.items() for m in ms}
    text = {s.anchor: render_markdown("", [s]) for s in sections}
    engines = {r["case_id"] for r in res.records if r["metric"] == "engine_bytes"}
    for r in res.records:
        if r["metric"] == "build_s" and r["case_id"] not in engines:
            continue  # nothing was built (eager): Builds lists engines only
        where = "cache" if r["metric"] == "first_call_ms" and r.get("start") else anchor[r["metric"]]
        value = fmt(r["value"], "engine_bytes" if r["metric"] == "engine_bytes" else "build_s" if r["metric"] == "build_s" else "")
        assert value in text[where], (r["metric"], r["case_id"], value, where)


def test_unknown_record_kind_is_not_dropped(results):
    """A metric no section knows lands in Other measurements (the negative control of the check above)."""
    with ResultsWriter(results) as w:
        w.write("record", {"case_id": "x", "metric": "brand_new_metric", "value": 7.125, "unit": "W", "model": "m"})
    md, *_ = render_run(results)
    assert "| brand_new_metric | x | 7.125 | W | m |" in _section(md.read_text(), "Other measurements")


def test_cli_report_rerenders_saved_results(results, tmp_path):
    out = tmp_path / "again"
    proc = subprocess.run([sys.executable, "-m", "harness", "report", str(results), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    md, *_ = render_run(results)  # the end-of-session path
    assert (out / "report.md").read_text() == md.read_text()  # same renderer, same saved results, same report
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == ["latency-dynconv-cpu-default.png"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


SECTION_IDS = ("summary", "matrix", "latency", "first-call", "cache", "accuracy", "builds", "findings", "cells", "config",
               "units")


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium on PATH (apt-get install chromium)")
def test_cpu_main_job_report_in_headless_chromium(tmp_path):
    """Screenshots of the CPU main job's report (saved under $HARNESS_SCREENSHOTS when set): the first screen holds
    the summary and the matrix heatmap; every section is in the DOM; the browser logs no console message."""
    path = tmp_path / "run" / "results.jsonl"
    path.parent.mkdir()
    path.write_bytes(gzip.decompress(CPU_MAIN_JOB.read_bytes()))
    _, html_path, *_ = render_run(path)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    url = html_path.as_uri()
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    ids = re.findall(r"<section id=\"([\w-]+)\"", dom.stdout)
    assert ids[:2] == ["summary", "matrix"] and set(SECTION_IDS) <= set(ids), ids
    assert dom.stdout.count("class=\"h skipped\"") == 672 and "data:image/png;base64," in dom.stdout
    from matplotlib import image

    for name, size in (("first-screen", "1400,1000"), ("full", "1400,9000")):
        shot = tmp_path / f"report-{name}.png"
        proc = subprocess.run([_chromium(), *flags, f"--window-size={size}", f"--screenshot={shot}", url],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]
        assert "CONSOLE" not in proc.stderr and "Uncaught" not in proc.stderr, proc.stderr[-2000:]  # no console errors
        pixels = image.imread(str(shot))
        assert pixels.std() > 0.05  # not a blank page
        if name == "first-screen":  # the heatmap's grey (skipped) squares are on the first screen
            body = pixels[:, :-40, :3]  # the scrollbar is grey too
            grey = (abs(body - 0xA8 / 255) < 0.01).all(axis=2).sum()
            assert grey > 20_000, grey
        if os.environ.get("HARNESS_SCREENSHOTS"):
            dest = Path(os.environ["HARNESS_SCREENSHOTS"])
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, dest / shot.name)


def test_plain_text_summary_of_the_cpu_main_job(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_bytes(gzip.decompress(CPU_MAIN_JOB.read_bytes()))
    out = subprocess.run([sys.executable, "-m", "reports.summarize_run", str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "completion not recorded (a schema-1 results file has no end line)"  # status lines come first
    run = next(ln for ln in lines if ln.startswith("run "))
    assert run.startswith("run 20261122T115027Z-4987: 910 cells {") and "'passed': 18" in run
    assert sum("warm_speedup" in ln for ln in lines) == 2 and sum(ln.startswith("  cache ") for ln in lines) == 6
