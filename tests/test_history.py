"""History files, BASE/HEAD classification, the CLI's exit code, pytest-benchmark JSON and the dashboard."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.errors import ResultsError, SchemaVersionError, UsageError
from harness.history import add_to_history, load_history, load_run, merge_histories, round_files
from harness.results import ResultsWriter
from reports import render_run
from reports.dashboard import build_dashboard, regressions, trend_anchor

ROOT = Path(__file__).resolve().parents[1]


def write_run(path: Path, run_id: str, started: str, cases: dict[str, tuple[float, float]], seed: int = 0, n: int = 60,
              machine: str = "runner-1", gpu: str = "NVIDIA H100", commit: str | None = None):
    """A completed run's results file whose cases have samples ~ N(mean, sd) (ms): for file handling and plots, never for verdicts
    (those are tested on real measurements in test_gate.py)."""
    rng = random.Random(seed)
    with ResultsWriter(path) as w:
        w.write("meta", {"run_id": run_id, "started_utc": started, "git_commit": commit or f"c{run_id}", "device": "cuda",
                         "machine": {"host": machine}, "gpu": {"name": gpu, "compute_capability": [9, 0], "sm_count": 132,
                                                               "driver_version": "580"}})
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


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_history_files_round_trip_and_refuse_unknown_versions(pair, tmp_path):
    hdir = tmp_path / "hist"
    f = add_to_history(pair[0], hdir)
    assert f.name == "2026-11-01T000000-runner-1-NVIDIA_H100-1.json"  # keyed by start, machine, GPU and run
    run = load_run(f)
    assert (run.machine, run.gpu) == ("runner-1", "NVIDIA H100")
    assert run.cases["a-fast@b4"]["samples"] == load_run(pair[0]).cases["a-fast@b4"]["samples"]
    d = json.loads(f.read_text())
    d["schema"] = 9
    f.write_text(json.dumps(d))
    with pytest.raises(SchemaVersionError, match="9"):
        load_history(hdir)


def test_schema_1_history_files_read_as_one_round(pair, tmp_path):
    d = json.loads(add_to_history(pair[0], tmp_path / "h").read_text())
    old = {"schema": 1, "run_id": d["run_id"], "started": d["started"], "meta": d["meta"],
           "cases": {k: {kk: vv for kk, vv in v.items() if kk != "rounds"} for k, v in d["cases"].items()}}
    f = tmp_path / "old.json"
    f.write_text(json.dumps(old))
    from harness.history import case_rounds

    run = load_run(f)
    assert case_rounds(run.cases["a-fast@b4"]) == [run.cases["a-fast@b4"]["p50"]] and run.gpu == "NVIDIA H100"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["schema", "run_id", "started", "cases",
                                                                                         "meta", "x"]), c, max_size=5)))
@example(doc={"schema": True, "cases": "0", "run_id": None, "started": None})  # true == 1, and cases not an object
@example(doc={"schema": 2, "cases": {}, "meta": [], "run_id": "r", "started": "s"})
def test_any_history_file_loads_or_is_refused_with_a_fix(tmp_path, doc):
    f = tmp_path / "any.json"
    f.write_text(json.dumps(doc))
    try:
        load_run(f)
    except ResultsError as exc:
        assert "Fix:" in str(exc)


MALFORMED = {"schema-true": ({"schema": True, "cases": {}, "run_id": "r", "started": "s"}, "schema version True"),
             "cases-not-object": ({"schema": 2, "cases": "0", "run_id": "r", "started": "s"}, "'cases' is '0'"),
             "meta-not-object": ({"schema": 2, "cases": {}, "meta": [], "run_id": "r", "started": "s"}, "'meta' is []"),
             "no-run-id": ({"schema": 2, "cases": {}, "started": "s"}, "lacks 'run_id'")}


@pytest.mark.parametrize(("doc", "says"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_history_files_are_refused_naming_what_is_wrong(tmp_path, doc, says):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match="Fix:") as exc:
        load_run(f)
    assert says in str(exc.value)
    f.write_text(json.dumps({"schema": 2, "cases": {}, "meta": {}, "run_id": "r", "started": "s"}))
    assert load_run(f).run_id == "r"  # control: the same file, well formed, loads


def test_rounds_of_a_run_are_read_once_each(pair, tmp_path):
    run_dir = pair[0].parent
    for k in (2, 3):
        write_run(run_dir / "rounds" / f"1-r{k}" / "results.jsonl", f"1-r{k}", "2026-11-01T00:10:00", BASE, seed=10 + k)
    (run_dir / "rounds" / "latest").symlink_to("1-r3")  # what the plugin leaves in a rounds folder
    assert [p.parent.name for p in round_files(pair[0])] == ["1-r2", "1-r3"]
    case = load_run(pair[0]).cases["a-fast@b4"]
    assert len(case["rounds"]) == 3 and case["n"] == 180 and case["p50"] == sorted(case["rounds"])[1]


def test_history_merge_combines_runners_without_duplicates(tmp_path):
    a, b = tmp_path / "runner-a", tmp_path / "runner-b"
    for i in range(3):
        add_to_history(write_run(tmp_path / f"a{i}" / "results.jsonl", f"a{i}", f"2026-11-0{i + 1}T00:00:00",
                                 {"x": (1.0, 0.01)}, seed=i, machine="a", gpu="NVIDIA H100"), a)
        add_to_history(write_run(tmp_path / f"b{i}" / "results.jsonl", f"b{i}", f"2026-11-0{i + 1}T00:00:00",
                                 {"x": (2.0, 0.01)}, seed=i, machine="b", gpu="NVIDIA H200"), b)
    shutil.copy(next(a.glob("*.json")), b)  # runner b already holds one of a's runs
    dest = tmp_path / "all"
    out = _cli("history", "merge", str(a), str(b), "--dir", str(dest))
    assert out.returncode == 0 and "6 added, 1 already there, 0 conflicting" in out.stdout, out.stdout + out.stderr
    again = merge_histories(dest, [a, b])
    assert (len(again.added), len(again.duplicates)) == (0, 7)
    runs = load_history(dest)
    assert len(runs) == 6 and {(r.machine, r.gpu) for r in runs} == {("a", "NVIDIA H100"), ("b", "NVIDIA H200")}
    f = next(a.glob("*.json"))  # the same run with other numbers: a conflict, listed, not copied
    d = json.loads(f.read_text())
    d["cases"]["x@b4"]["p50"] = 9.0
    f.write_text(json.dumps(d))
    out = _cli("history", "merge", str(a), "--dir", str(dest))
    assert out.returncode == 2 and "conflict:" in out.stdout and len(load_history(dest)) == 6
    assert _cli("history", "add", "x", "y", "--dir", str(dest)).returncode == 2


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
    assert [(g.key, g.run_id, g.commit, g.machine) for g in regs] == [("resnet-x@b4", "r6", "cr6", "runner-1")]
    assert regs[0].change == pytest.approx(0.12, abs=0.01) and regs[0].anchor.startswith("trend-NVIDIA-H100-resnet-x-b4-")
    from harness.history import between_run_sigma

    assert between_run_sigma(load_history(history), "resnet-x@b4")[0] < 0.01  # the 12 % step is not run-to-run noise


def test_step_detection_needs_five_runs_and_runs_per_machine(tmp_path):
    hdir = tmp_path / "h"
    for i in range(4):  # two runs each on two machines, 20 % apart: neither a step nor a comparison across machines
        for m, mean in (("fast", 1.0), ("slow", 1.2)):
            add_to_history(write_run(tmp_path / f"{m}{i}" / "results.jsonl", f"{m}{i}", f"2026-11-0{i + 1}T0{i}:00:00",
                                     {"x": (mean, 0.002)}, seed=i, machine=m), hdir)
    assert regressions(load_history(hdir)) == []
    add_to_history(write_run(tmp_path / "s4" / "results.jsonl", "s4", "2026-11-05T00:00:00", {"x": (1.5, 0.002)},
                             seed=9, machine="slow", commit="cslow3"), hdir)  # the fifth run on "slow": a step, same commit
    regs = regressions(load_history(hdir))
    assert [(g.machine, g.run_id) for g in regs] == [("slow", "s4")] and "same commit" in regs[0].note


def test_dashboard_needs_two_runs(tmp_path, pair):
    hdir = tmp_path / "one"
    add_to_history(pair[0], hdir)
    with pytest.raises(UsageError, match="holds 1 run"):
        build_dashboard(hdir, tmp_path / "site")


def _tick_labels(runs, key):
    from reports.dashboard import trend_figure

    fig = trend_figure(runs, key)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    import matplotlib.pyplot as plt

    plt.close(fig)
    return labels


def test_dashboard_with_two_measured_runs_shows_insufficient_evidence(tmp_path):
    from tests.measured import UNITS, measure_runs

    runs = measure_runs(tmp_path / "runs", {"n1": {"spin": UNITS}, "n2": {"spin": UNITS}}, commits={"n1": "c1", "n2": "c1"})
    hdir = tmp_path / "h"
    for r in runs.values():
        add_to_history(r, hdir)
    text = build_dashboard(hdir, tmp_path / "site").read_text()
    assert "<b>insufficient evidence</b>" in text and "needs 3 each" in text and "Noise check" in text
    anchor = trend_anchor("no GPU", "spin@b1")
    assert anchor.startswith("trend-no-GPU-spin-b1-") and f"href='#{anchor}'" in text and f"id='{anchor}'" in text
    assert "c1" in text
    labels = _tick_labels(load_history(hdir), "spin@b1")
    assert labels and not any(re.fullmatch(r"-?\d\.\d+", t) for t in labels), labels  # dates, not 0.0 ... 1.0


def test_cases_an_html_id_cannot_tell_apart_keep_their_own_trend(tmp_path):
    """``m=1`` and ``m-1`` read the same once made an HTML id: each keeps its own anchor and its own picture."""
    hdir = tmp_path / "h"
    for i in range(2):
        add_to_history(write_run(tmp_path / f"r{i}" / "results.jsonl", f"r{i}", f"2026-11-0{i + 1}T00:00:00",
                                 {"m=1": (1.0, 0.01), "m-1": (2.0, 0.01)}, seed=i), hdir)
    text = build_dashboard(hdir, tmp_path / "site").read_text()
    anchors = {trend_anchor("NVIDIA H100", k) for k in ("m=1@b4", "m-1@b4")}
    assert len(anchors) == 2 and all(f"id='{a}'" in text for a in anchors), anchors
    assert len(set(re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text))) == 2  # two pictures, not one twice


def test_dashboard_groups_by_gpu_and_reads_with_200_runs(tmp_path):
    hdir = tmp_path / "h"
    import datetime as dt

    t0 = dt.datetime(2026, 5, 1)
    for i in range(200):
        gpu, machine = ("NVIDIA H100", "a") if i % 2 else ("NVIDIA H200", "b")
        started = (t0 + dt.timedelta(hours=12 * i)).isoformat()
        add_to_history(write_run(tmp_path / "r" / f"{i}" / "results.jsonl", f"r{i:03d}", started,
                                 {"m": (1.3 if i >= 150 and gpu == "NVIDIA H100" else 1.0, 0.005)}, seed=i, n=20,
                                 machine=machine, gpu=gpu), hdir)
    text = build_dashboard(hdir, tmp_path / "site").read_text()
    assert text.count("<section id='trend-NVIDIA-H") == 2 and "GPU: NVIDIA H100" in text and "GPU: NVIDIA H200" in text
    assert text.count("data:image/png;base64,") == 2 and text.count("<details>") == 2
    regs = regressions(load_history(hdir))
    assert [(g.gpu, g.run_id) for g in regs] == [("NVIDIA H100", "r151")]
    assert f"<a href='#{regs[0].anchor}'>m@b4</a>" in text
    assert "history 99" in text or "history 98" in text  # the comparison rests on the same GPU's own runs
    labels = _tick_labels(load_history(hdir), "m@b4")
    assert 2 <= len([t for t in labels if t]) <= 12


def test_dashboard_is_one_document_for_both_renderers(history):
    """The dashboard is a ``reports.document`` page: Markdown renders the same sections, links, verdicts and
    figures that the HTML page shows (and the HTML page escapes what it shows)."""
    from reports.dashboard import dashboard_document, trend_anchor
    from reports.html import render_html
    from reports.markdown import render_markdown

    title, sections, images = dashboard_document(load_history(history), "<hist>", baseline="r0")
    md, page = render_markdown(title, sections), render_html(title, sections, images)
    anchor = trend_anchor("NVIDIA H100", "resnet-x@b4")
    assert f"[resnet-x@b4](#{anchor})" in md and f"<a href='#{anchor}'>resnet-x@b4</a>" in page
    assert f"![resnet-x@b4](plots/{anchor}.png)" in md and f"<figure id='{anchor}'><img alt='resnet-x@b4'" in page
    assert "## GPU: NVIDIA H100" in md and "### Regressions" in md and "<h3>Regressions</h3>" in page
    verdicts = re.findall(r"\*\*(slower|faster|same|insufficient evidence)\*\*", md)
    assert len(verdicts) == 2 and verdicts == re.findall(r"<b>(slower|faster|same|insufficient evidence)</b>", page)
    assert "10 runs in <hist>" in md and "10 runs in &lt;hist&gt;" in page and "<hist>" not in page


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
