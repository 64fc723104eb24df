"""The report shows exactly the numbers in the results file, renders from saved results alone, and opens
in a real headless browser with its tables and plots."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results import ResultsWriter
from reports import render_run

ROOT = Path(__file__).resolve().parents[2]


def _latency(w, variant, batch, samples, shapes="static"):
    s = sorted(samples)
    stats = {"p10": s[0], "p50": s[len(s) // 2], "p90": s[-1], "cv": 0.01, "n": float(len(s))}
    w.write("record", {"case_id": f"dynconv-{shapes}-{variant}-{batch}", "metric": "latency_ms", "value": stats["p50"],
                       "unit": "ms", "model": "dynconv", "variant": variant, "shapes": shapes, "stream": "default",
                       "strategy": "disabled", "kernel_strategy": "lazy", "device": "cpu", "batch": batch,
                       "samples": samples, "stats": stats, "noisy": False, "clock": "host"})


@pytest.fixture
def results(tmp_path):
    p = tmp_path / "run" / "results.jsonl"
    with ResultsWriter(p) as w:
        w.write("meta", {"run_id": "r1", "device": "cpu", "config": {"profile": "quick"}, "packages": {"torch": "2.14.1"}})
        _latency(w, "eager", 4, [2.0, 2.5, 3.0])
        _latency(w, "compile", 4, [0.9, 1.0, 1.1])
        _latency(w, "eager", 1, [0.7, 0.75, 0.8])
        w.write("record", {"case_id": "b", "metric": "build_s", "value": 3.25, "unit": "s", "model": "dynconv",
                           "variant": "trt_rtx", "shapes": "dynamic"})
        w.write("record", {"case_id": "b", "metric": "engine_bytes", "value": 291300, "unit": "B", "model": "dynconv",
                           "variant": "trt_rtx", "shapes": "dynamic"})
        for i in range(3):
            w.write("cell", {"case_id": f"s{i}", "nodeid": f"t::s{i}", "outcome": "skipped", "reason": "no GPU here",
                             "duration_s": 0.0})
        w.write("cell", {"case_id": "p", "nodeid": "t::p", "outcome": "passed", "reason": "", "duration_s": 1.0})
        w.write("finding", {"case_id": "probe", "text": "compile() swallows kwargs", "source": "spec"})
    return p


def _md_rows(md: str, first_col: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()
            if line.startswith(f"| {first_col} ")]


def test_report_numbers_equal_the_records(results):
    md_path, html_path, *_ = render_run(results)
    md = md_path.read_text()
    rows = {(r[2], r[5]): r for r in _md_rows(md, "dynconv") if len(r) == 13}  # (batch, variant) -> row
    assert rows[("4", "eager")][7] == "2.5" and rows[("4", "compile")][7] == "1"
    assert rows[("4", "compile")][12] == "2.50x"  # 2.5 / 1.0
    assert rows[("1", "eager")][7] == "0.75" and rows[("1", "eager")][12] == "1.00x"
    assert "| no GPU here | 3 | t::s0 |" in md
    assert "| dynconv | trt_rtx | dynamic | 3.25 | 291,300 |" in md
    assert "compile() swallows kwargs" in md and "1 passed, 3 skipped" in md
    assert md.rstrip().splitlines()[-1].startswith("Units:")
    page = html_path.read_text()
    assert page.count("<table>") == 4 and "data:image/png;base64," in page and "2.50x" in page


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


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium on PATH (apt-get install chromium)")
def test_html_opens_in_headless_chromium(results, tmp_path):
    _, html_path, *_ = render_run(results)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = html_path.as_uri()
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert len(re.findall(r"<table>", dom.stdout)) == 4 and "data:image/png;base64," in dom.stdout
    shot = tmp_path / "shot.png"
    proc = subprocess.run([_chromium(), *flags, "--window-size=1400,2400", f"--screenshot={shot}", url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    from matplotlib import image

    pixels = image.imread(str(shot))
    assert pixels.std() > 0.05  # not a blank page
    colours = {tuple(p) for p in (pixels[::17, ::17, :3] * 255).astype(int).reshape(-1, 3)}
    assert len(colours) > 20  # plot bars and tables, not a single-colour page
