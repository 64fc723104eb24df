"""History files, BASE/HEAD classification, the CLI's exit code, pytest-benchmark JSON and the dashboard."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import SchemaVersionError, UsageError
from harness.history import Thresholds, add_to_history, compare, load_history, load_run
from harness.results import ResultsWriter
from reports import render_run
from reports.dashboard import build_dashboard, regressions

ROOT = Path(__file__).resolve().parents[2]


def write_run(path: Path, run_id: str, started: str, cases: dict[str, tuple[float, float]], seed: int = 0, n: int = 60):
    """A completed run's results file whose cases have samples ~ N(mean, sd) (ms)."""
    rng = random.Random(seed)
    with ResultsWriter(path) as w:
        w.write("meta", {"run_id": run_id, "started_utc": started, "git_commit": f"c{run_id}", "device": "cuda"})
        for case, (mean, sd) in cases.items():
            samples = [rng.gauss(mean, sd) for _ in range(n)]
            w.write("record", {"case_id": case, "metric": "latency_ms", "value": sorted(samples)[n // 2], "unit": "ms",
                               "batch": 4, "model": case.split("-")[0], "shapes": "static", "variant": "eager",
                               "stream": "default", "device": "cuda", "clock": "cuda_event", "samples": samples,
                               "stats": {}})
        w.write("end", {"status": "completed", "reason": "", "cells": 0})
    return path


BASE = {"a-fast": (1.0, 0.01), "b-slow": (1.0, 0.01), "c-same": (1.0, 0.01), "d-noisy": (1.0, 0.3)}
HEAD = {"a-fast": (0.90, 0.01), "b-slow": (1.10, 0.01), "c-same": (1.01, 0.01), "d-noisy": (1.15, 0.3)}


@pytest.fixture
def pair(tmp_path):
    return (write_run(tmp_path / "base" / "results.jsonl", "1", "2026-11-01T00:00:00", BASE, seed=1),
            write_run(tmp_path / "head" / "results.jsonl", "2", "2026-11-02T00:00:00", HEAD, seed=2, n=8))


def test_classification(pair):
    rows = {r.key: r for r in compare(load_run(pair[0]), load_run(pair[1]))}
    assert rows["a-fast@b4"].verdict == "faster" and rows["b-slow@b4"].verdict == "slower"
    assert rows["c-same@b4"].verdict == "same"  # 1 % is under the 5 % floor, significant or not
    assert rows["d-noisy@b4"].verdict == "ambiguous"  # 15 % on 8 noisy samples: the U test does not agree
    assert rows["b-slow@b4"].change == pytest.approx(0.10, abs=0.02) and rows["b-slow@b4"].p_value < 1e-4  # 60 against 8 samples


def test_between_run_cv_raises_the_threshold(tmp_path, pair):
    hist = []
    for i, m in enumerate((1.0, 1.09, 0.92, 1.07, 0.94, 1.06)):  # a case whose p50 wanders by ~7 % run to run
        p = write_run(tmp_path / f"h{i}" / "results.jsonl", f"h{i}", f"2026-10-0{i + 1}", {"b-slow": (m, 0.01)}, seed=i)
        hist.append(load_run(p))
    rows = {r.key: r for r in compare(load_run(pair[0]), load_run(pair[1]), Thresholds(), history=hist)}
    assert rows["b-slow@b4"].between_cv > 0.04 and rows["b-slow@b4"].threshold > 0.12
    assert rows["b-slow@b4"].verdict == "same"  # 10 % is inside this case's own run-to-run wander


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_compare_cli_exits_1_on_a_regression(pair):
    out = _cli("compare", str(pair[0]), str(pair[1]))
    assert out.returncode == 1 and "b-slow@b4" in out.stdout and "slower: 1" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("Units:")
    ok = _cli("compare", str(pair[0]), str(pair[0]))
    assert ok.returncode == 0 and "slower: 0" in ok.stdout
    bad = _cli("compare", str(pair[0]), str(pair[1]), "--alpha", "-1")
    assert bad.returncode == 2 and "--alpha" in bad.stderr and "Fix:" in bad.stderr


def test_history_files_round_trip_and_refuse_unknown_versions(pair, tmp_path):
    hdir = tmp_path / "hist"
    f = add_to_history(pair[0], hdir)
    assert load_run(f).cases["a-fast@b4"]["samples"] == load_run(pair[0]).cases["a-fast@b4"]["samples"]
    d = json.loads(f.read_text())
    d["schema"] = 9
    f.write_text(json.dumps(d))
    with pytest.raises(SchemaVersionError, match="9"):
        load_history(hdir)


def test_pytest_benchmark_compare_reads_our_json(pair):
    bench = next(p for p in render_run(pair[0]) if p.name == "benchmark.json")
    exe = shutil.which("pytest-benchmark") or str(Path(sys.executable).parent / "pytest-benchmark")
    out = subprocess.run([exe, "compare", str(bench), "--columns=min,median,max", "--sort=name"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "a-fast-b4" in out.stdout and "b-slow-b4" in out.stdout
    data = json.loads(bench.read_text())
    rec = next(b for b in data["benchmarks"] if b["name"] == "a-fast-b4")
    assert rec["stats"]["median"] == pytest.approx(load_run(pair[0]).cases["a-fast@b4"]["p50"] / 1e3)


@pytest.fixture
def history(tmp_path):
    hdir = tmp_path / "hist"
    for i in range(10):  # "resnet" steps up 12 % at run 6; "conv" stays flat
        resnet = 1.12 if i >= 6 else 1.0
        p = write_run(tmp_path / f"r{i}" / "results.jsonl", f"r{i}", f"2026-11-{i + 1:02d}T00:00:00",
                      {"resnet-x": (resnet, 0.005), "conv-y": (0.2, 0.002)}, seed=i)
        add_to_history(p, hdir)
    return hdir


def test_regression_is_dated_to_its_first_run(history):
    regs = regressions(load_history(history))
    assert [(g.key, g.run_id, g.commit) for g in regs] == [("resnet-x@b4", "r6", "cr6")]
    assert regs[0].change == pytest.approx(0.12, abs=0.01)
    from harness.history import between_run_cv

    assert between_run_cv(load_history(history), "resnet-x@b4") < 0.01  # the 12 % step is not run-to-run noise


def test_dashboard_needs_two_runs(tmp_path, pair):
    hdir = tmp_path / "one"
    add_to_history(pair[0], hdir)
    with pytest.raises(UsageError, match="holds 1 run"):
        build_dashboard(hdir, tmp_path / "site")


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium on PATH (apt-get install chromium)")
def test_dashboard_renders_in_headless_chromium(history, tmp_path):
    page = build_dashboard(history, tmp_path / "site", baseline="r0")
    text = page.read_text()
    assert "resnet-x@b4" in text and "r6" in text and text.count("data:image/png;base64,") == 2
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--enable-logging=stderr", "--v=0"]
    shot = tmp_path / "dash.png"
    proc = subprocess.run([_chromium(), *flags, "--window-size=1300,1600", f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    assert "CONSOLE" not in proc.stderr and "Uncaught" not in proc.stderr  # no console errors
    from matplotlib import image

    assert image.imread(str(shot)).std() > 0.05
