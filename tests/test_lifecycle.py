"""Run lifecycle with real pytest processes, real signals and real files: run ids never reused, ``latest`` moved
only after a completed main-job run, interrupted and killed runs marked as such, runs sharing the machine flagged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.results import read_results
from tests.plugin_project import harness_env, write_project

ROOT = Path(__file__).resolve().parents[1]
SUITE = textwrap.dedent("""
    import os
    import time
    from pathlib import Path

    import pytest

    @pytest.mark.parametrize("i", range(3), ids=[f"c{i}" for i in range(3)])
    def test_fast(i):
        assert i >= 0

    def test_slow():  # with HARNESS_TEST_MARKER set: says it started, then runs long enough to be interrupted
        marker = os.environ.get("HARNESS_TEST_MARKER")
        if marker:
            Path(marker).write_text(str(os.getpid()))
            time.sleep(120)
""")


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    proj = write_project(tmp_path_factory.mktemp("proj"), {"test_cells.py": SUITE})
    (proj / "registry").mkdir()
    return proj


def _env(proj: Path, marker: Path | None = None) -> dict[str, str]:
    env = harness_env(TRTRTX_HARNESS_RUNS_DIR=str(proj / "registry"))
    env.pop("HARNESS_TEST_MARKER", None)
    if marker is not None:
        env["HARNESS_TEST_MARKER"] = str(marker)
    return env


def _pytest_argv(proj: Path, out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites", "-p", "no:cacheprovider", "-q", f"--rootdir={proj}",
            f"--harness-out={out}", *args]


def _pytest(proj: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_pytest_argv(proj, out, *args), cwd=proj, capture_output=True, text=True, timeout=180,
                          env=_env(proj))


def _wait_for(marker: Path, proc: subprocess.Popen[str], timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while not (marker.exists() and marker.read_text()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow cell never started"
        time.sleep(0.05)
    return int(marker.read_text())


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_run_id_is_never_reused_unless_resumed(proj, tmp_path):
    out = tmp_path / "out"
    first = _pytest(proj, out, "--harness-run-id=nightly", "--harness-no-report")
    assert first.returncode == 0, first.stdout + first.stderr
    results = out / "nightly" / "results.jsonl"
    res = read_results(results)
    assert res.meta_lines == 1 and res.sections[0].planned == 4 and res.status == "completed" and len(res.cells) == 4
    before = results.read_bytes()

    again = _pytest(proj, out, "--harness-run-id=nightly", "--harness-no-report")
    assert again.returncode == 2, again.stdout + again.stderr
    text = again.stdout + again.stderr
    assert "'nightly'" in text and "already exists" in text and "--harness-resume" in text and "Traceback" not in text
    assert results.read_bytes() == before  # the earlier run is untouched

    resumed = _pytest(proj, out, "--harness-run-id=nightly", "--harness-resume", "--harness-no-report")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    res = read_results(results)
    assert res.meta_lines == 2 and [s.meta["resumed"] for s in res.sections] == [False, True]
    assert [s.cells for s in res.sections] == [4, 4] and res.status == "completed"
    assert results.read_bytes().startswith(before)  # appended, nothing rewritten
    assert not (out / "latest").exists()  # a test run (no --harness-latest) never moves latest


def test_interrupted_run_is_marked_and_latest_stays(proj, tmp_path):
    """Ctrl-C (SIGINT) in the middle: finished cells kept, end line interrupted, report says incomplete, latest
    still names the last completed run. A second run meanwhile is flagged as sharing the machine, both ways."""
    out = tmp_path / "out"
    done = _pytest(proj, out, "--harness-run-id=done", "--harness-latest")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "latest").readlink() == Path("done") and (out / "LATEST").read_text() == "done\n"
    assert "shared_machine" not in read_results(out / "done").meta  # alone on the machine: no warning

    marker = tmp_path / "started"
    proc = subprocess.Popen(_pytest_argv(proj, out, "--harness-run-id=cut", "--harness-latest"), cwd=proj,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(proj, marker))
    _wait_for(marker, proc)
    beside = _pytest(proj, out, "--harness-run-id=beside", "--harness-no-report")
    assert beside.returncode == 0, beside.stdout + beside.stderr
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, stdout

    cut = read_results(out / "cut")
    assert [c["outcome"] for c in cut.cells] == ["passed"] * 3  # the finished cells are kept
    end = cut.sections[0].end
    assert end is not None and end["status"] == "interrupted" and "KeyboardInterrupt" in end["reason"]
    report = (out / "cut" / "report.md").read_text().splitlines()
    assert any(line.startswith("incomplete: 3 of 4 cells (interrupted") for line in report[:8]), report[:8]
    assert any("shared machine:" in line and "beside" in line for line in report[:10]), report[:10]
    assert "done" not in end["shared_machine"]  # a run that ended before this one started is not named
    assert "cut" in read_results(out / "beside").meta["shared_machine"]
    assert (out / "latest").readlink() == Path("done")  # an interrupted run never moves latest


def _harness_run(proj: Path, out: Path, marker: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "harness", "run", "--suites", str(proj / "suites"), "--out", str(out),
            "--run-id", "main", "--profile", "quick", "--device", "cpu"]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(proj, marker))


def test_ctrl_c_of_harness_run_stops_cleanly(proj, tmp_path):
    out, marker = tmp_path / "out", tmp_path / "started"
    proc = _harness_run(proj, out, marker)
    child = _wait_for(marker, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr and "interrupted" in stderr
    assert _gone(child, 5)
    res = read_results(out / "main")
    assert res.status == "interrupted" and len(res.cells) == 3
    assert "incomplete: 3 of 4 cells (interrupted" in (out / "main" / "report.md").read_text()
    assert not (out / "latest").exists()


def test_sigkill_of_harness_run_takes_the_child_down(proj, tmp_path):
    """Before: the pytest child ran on (here 120 s) after its parent was killed. Now it gets SIGTERM at once, stops
    like Ctrl-C and leaves a report that says so."""
    out, marker = tmp_path / "out", tmp_path / "started"
    proc = _harness_run(proj, out, marker)
    child = _wait_for(marker, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone(child, 30), "the pytest child outlived its killed parent"
    res = read_results(out / "main")
    end = res.sections[0].end
    assert end is not None and end["status"] == "interrupted" and "SIGTERM" in end["reason"]
    assert "incomplete: 3 of 4 cells (interrupted: SIGTERM" in (out / "main" / "report.md").read_text()


def test_killed_run_without_end_line_reads_as_incomplete(tmp_path):
    """A run killed outright (no end line) renders with the incomplete banner, and compare/history refuse it."""
    from harness.results import ResultsWriter

    p = tmp_path / "run" / "results.jsonl"
    with ResultsWriter(p) as w:
        w.write("meta", {"run_id": "k", "planned_cells": 490, "started_utc": "2026-11-22T00:00:00+00:00"})
        w.write("record", {"case_id": "c", "metric": "latency_ms", "value": 1.0, "samples": [1.0, 1.1], "batch": 1})
        for i in range(3):
            w.write("cell", {"case_id": f"c{i}", "nodeid": f"suites/t.py::t[{i}]", "outcome": "passed", "reason": ""})
    run = [sys.executable, "-m", "harness"]
    rep = subprocess.run([*run, "report", str(p)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert rep.returncode == 0, rep.stderr
    head = (p.parent / "report.md").read_text().splitlines()[:6]
    assert "incomplete: 3 of 490 cells (no end record: the run was killed, or is still running)" in head, head
    for args in (["history", "add", str(p), "--dir", str(tmp_path / "h")], ["compare", str(p), str(p)]):
        refused = subprocess.run([*run, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert refused.returncode == 2 and "incomplete: 3 of 490 cells" in refused.stderr, refused.stderr
        allowed = subprocess.run([*run, *args, "--allow-incomplete"], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert allowed.returncode == 0, allowed.stderr
    assert json.loads(next((tmp_path / "h").glob("*.json")).read_text())["run_id"] == "k"
