"""Bad input gets exit code 2 and a message naming the value, the valid values and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize(("args", "value", "valid"), [
    (("run", "--models", "resnet50"), "resnet50", "dynconv"),
    (("run", "--backends", "tensorrt"), "tensorrt", "trt_rtx"),
    (("run", "--profile", "weekly"), "weekly", "nightly"),
    (("run", "--device", "tpu"), "tpu", "cuda"),
    (("export", "reports/none.jsonl", "--format", "xlsx"), "none.jsonl", "--"),
], ids=["model", "backend", "profile", "device", "export-missing"])
def test_unknown_names(args, value, valid):
    out = harness(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert value in out.stderr and "Fix:" in out.stderr
    if valid != "--":
        assert valid in out.stderr


def test_output_path_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    out = harness("run", "--out", str(f / "sub"))
    assert out.returncode == 2
    assert "is not a directory" in out.stderr and "Fix:" in out.stderr


def test_unreadable_results(tmp_path):
    bad = tmp_path / "results.jsonl"
    bad.write_text("not json\n")
    out = harness("report", str(bad))
    assert out.returncode == 2
    assert "not a harness results file" in out.stderr and "Fix:" in out.stderr


def test_unknown_export_format(tmp_path):
    from harness.results import ResultsWriter

    p = tmp_path / "results.jsonl"
    with ResultsWriter(p) as w:
        w.write("meta", {"run_id": "x"})
    out = harness("export", str(p), "--format", "xlsx")
    assert out.returncode == 2
    assert "'xlsx'" in out.stderr and "csv" in out.stderr and "parquet" in out.stderr


def test_harness_test_writes_suite_results_to_a_temporary_folder(monkeypatch):
    """`python -m harness test` runs the suites with --harness-out in a temporary folder (removed afterwards),
    never the user's reports/out, and without --harness-latest."""
    from harness import cli

    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda argv, cwd: calls.append(argv) or 0)
    assert cli.cmd_test() == 0
    pytest_step = next(a for a in calls if a[1:3] == ["-m", "pytest"])
    out = Path(next(a for a in pytest_step if a.startswith("--harness-out=")).split("=", 1)[1])
    assert not out.is_relative_to(ROOT) and not out.exists()
    assert "--harness-latest" not in pytest_step
