"""Bad-input sweep: every bad value given to the command line or to the pytest options exits 2 with a message that
names the value, the rule and the fix, and never a traceback or an INTERNALERROR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import cli
from harness.results import ResultsWriter, encode_line

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    f = {"dir": d, "file": d / "afile", "out": d / "out"}
    f["file"].write_text("x")

    def results(name, *, end=True, planned=1):
        p = d / name / "results.jsonl"
        with ResultsWriter(p) as w:
            w.write("meta", {"run_id": name, "planned_cells": planned, "started_utc": "2026-11-22T00:00:00+00:00"})
            w.write("record", {"case_id": "c", "metric": "latency_ms", "value": 1.0, "samples": [1.0, 1.1], "batch": 1})
            w.write("cell", {"case_id": "c", "nodeid": "suites/t.py::t[c]", "outcome": "passed", "reason": ""})
            if end:
                w.write("end", {"status": "completed", "reason": "", "cells": 1})
        return p

    f["good"] = results("good")
    nameless = d / "nameless" / "results.jsonl"
    with ResultsWriter(nameless) as w:
        w.write("meta", {"planned_cells": 0})
        w.write("record", {"case_id": "c", "metric": "latency_ms", "value": 1.0, "samples": [1.0, 1.1], "batch": 1})
        w.write("end", {"status": "completed", "reason": "", "cells": 0})
    f["nameless"] = nameless
    f["incomplete"] = results("incomplete", end=False, planned=490)
    corrupt = results("corrupt")
    corrupt.write_bytes(corrupt.read_bytes().replace(b'"value":1.0', b'"value":9.0'))
    f["corrupt"] = corrupt
    meta = results("meta")
    meta.write_bytes(meta.read_bytes().replace(b'"run_id":"meta"', b'"run_id":"mexa"'))
    f["meta"] = meta
    future = d / "future.jsonl"
    future.write_bytes(encode_line("meta", {}, version=999))
    f["future"] = future
    (d / "notresults.txt").write_text("hello world\n")
    f["notresults"] = d / "notresults.txt"
    (d / "empty.jsonl").write_bytes(b"")
    f["empty"] = d / "empty.jsonl"
    (d / "emptyrun").mkdir()
    f["emptyrun"] = d / "emptyrun"
    (d / "notatrace.json").write_text(json.dumps({"hello": 1}))
    f["notatrace"] = d / "notatrace.json"
    (d / "binary.bin").write_bytes(bytes(range(256)) * 4)
    f["binary"] = d / "binary.bin"
    (d / "out" / "taken").mkdir(parents=True)
    return f


# (arguments with {placeholders} for the files above, text the message must hold)
CLI_CASES = [
    (["run", "--models", "resnet50"], "'resnet50'"),
    (["run", "--models", ""], "model ''"),
    (["run", "--models", ","], "model ','"),
    (["run", "--backends", "tensorrt"], "'tensorrt'"),
    (["run", "--backends", ""], "backend variant ''"),
    (["run", "--profile", "weekly"], "'weekly'"),
    (["run", "--device", "tpu"], "device 'tpu'"),
    (["run", "--device", "cpu,cuda"], "device 'cpu,cuda'"),
    (["run", "--device", "cuda"], "shows no GPU"),
    (["run", "--out", "{file}/sub"], "is not a directory"),
    (["run", "--history", "{file}"], "is not a directory"),
    (["run", "--run-id", "latest"], "reserved"),
    (["run", "--run-id", "LATEST"], "reserved"),
    (["run", "--run-id", "../../escape"], "plain file name"),
    (["run", "--run-id", "a/b"], "plain file name"),
    (["run", "--run-id", ".."], "plain file name"),
    (["run", "--run-id", ""], "plain file name"),
    (["run", "--run-id", "x" * 200], "plain file name"),
    (["run", "--resume"], "--resume"),
    (["run", "--suites", "{dir}/nosuites"], "is not a folder"),
    (["report", "{dir}/missing.jsonl"], "does not exist"),
    (["report", "{notresults}"], "not a harness results file"),
    (["report", "{empty}"], "holds no valid line"),
    (["report", "{emptyrun}"], "does not exist"),
    (["report", "{corrupt}"], "corrupt at line 2"),
    (["report", "{meta}"], "corrupt at line 1"),
    (["report", "{future}"], "schema version 999"),
    (["report", "{good}", "--out", "{file}"], "is not a directory"),
    (["export", "{good}", "--format", "xlsx"], "'xlsx'"),
    (["export", "{good}", "--out", "{dir}"], "is a folder"),
    (["export", "{good}", "--out", "{file}/x.csv"], "is not a directory"),
    (["export", "{corrupt}"], "corrupt at line 2"),
    (["export", "{good}", "--out", "/proc/x.csv"], "cannot be used"),  # an OSError no check foresaw
    (["export", "{dir}/missing.jsonl"], "does not exist"),
    (["trace", "{dir}/missing.trace.json"], "does not exist"),
    (["trace", str(FIXTURES / "confinement-dynconv.nsys.sqlite.gz")], "gzip-compressed"),
    (["trace", "{good}"], "neither an SQLite database nor JSON"),
    (["trace", "{notatrace}"], "not a harness trace"),
    (["trace", "{binary}"], "neither an SQLite database nor JSON"),
    (["trace", "{dir}"], "is a folder"),
    (["compare", "{dir}/missing.jsonl", "{good}"], "does not exist"),
    (["compare", "{good}", "{good}", "--min-change", "-1"], "--min-change -1.0"),
    (["compare", "{good}", "{good}", "--alpha", "nan"], "--alpha nan"),
    (["compare", "{incomplete}", "{good}"], "incomplete: 1 of 490 cells"),
    (["compare", "{good}", "{corrupt}"], "corrupt at line 2"),
    (["compare", "{good}", "{good}", "--history", "{file}"], "is a file, not a folder"),
    (["history", "add", "{good}", "--dir", "{file}"], "is not a directory"),
    (["history", "add", "{incomplete}", "--dir", "{dir}/h"], "incomplete: 1 of 490 cells"),
    (["history", "add", "{corrupt}", "--dir", "{dir}/h"], "corrupt at line 2"),
    (["history", "add", "{nameless}", "--dir", "{dir}/h"], "no run id"),
    (["dashboard", "{file}"], "is a file, not a folder"),
    (["dashboard", "{dir}/nohistory"], "does not exist"),
    (["dashboard", "{dir}", "--cv-factor", "-3"], "--cv-factor -3.0"),
]


def _fill(args, files):
    return [a.format(**{k: str(v) for k, v in files.items()}) for a in args]


@pytest.mark.parametrize(("args", "fragment"), CLI_CASES, ids=[f"{i:02d}-{' '.join(a)[:40]}" for i, (a, _) in enumerate(CLI_CASES)])
def test_cli_bad_input_exits_2(files, args, fragment, capsys, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU, whatever the host has
    argv = _fill(args, files)
    code = cli.main(argv)  # an exception escaping here is the traceback a user would see
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Fix:" in err and fragment in err, err
    assert "Traceback" not in err


def test_cli_argparse_errors_exit_2(capsys):
    for argv in (["nosuchcommand"], ["compare", "a", "b", "--min-change", "abc"], ["history", "drop", "x", "--dir", "d"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
        assert "invalid" in capsys.readouterr().err


PYTEST_CASES = [
    (["--harness-profile=weekly"], "'weekly'"),
    (["--harness-models=resnet50"], "'resnet50'"),
    (["--harness-models="], "model ''"),
    (["--harness-backends=tensorrt"], "'tensorrt'"),
    (["--harness-device=tpu"], "device 'tpu'"),
    (["--harness-device=cuda"], "shows no GPU"),
    (["--harness-out={file}/sub"], "is not a directory"),
    (["--harness-cache-dir={file}/sub"], "is not a directory"),
    (["--harness-history={file}"], "is not a directory"),
    (["--harness-run-id=latest"], "reserved"),
    (["--harness-run-id=../../escape"], "plain file name"),
    (["--harness-run-id=a/b"], "plain file name"),
    (["--harness-run-id=taken"], "already exists"),
    (["--harness-resume"], "--harness-resume"),
    (["--harness-run-id=ghost", "--harness-resume"], "holds no results.jsonl"),
    (["--harness-gpus=2"], "shows no GPU"),
    (["--harness-gpus=abc"], "GPU count"),
    (["--harness-gpus=0,0"], "distinct"),
]


def test_pytest_options_bad_input_exits_2(files):
    """Each bad option in a real pytest process: exit 2, the message, no INTERNALERROR (before: exit 3 or 4)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}

    def one(case):
        args, _ = case
        argv = [sys.executable, "-m", "pytest", "suites", "--co", "-q", "-p", "no:cacheprovider",
                f"--harness-out={files['out']}", *_fill(args, files)]
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)

    with ThreadPoolExecutor(4) as pool:
        procs = list(pool.map(one, PYTEST_CASES))
    for (args, fragment), proc in zip(PYTEST_CASES, procs, strict=True):
        text = proc.stdout + proc.stderr
        assert proc.returncode == 2, (args, text[-2000:])
        assert fragment in text and "Fix:" in text, (args, text[-2000:])
        assert "Traceback" not in text and "INTERNALERROR" not in text, (args, text[-2000:])
    assert sorted(p.name for p in files["out"].iterdir()) == ["taken"]  # no bad run wrote anything
    assert not (files["dir"].parent / "escape").exists()


def test_sweep_covers_at_least_40_inputs():
    assert len(CLI_CASES) + len(PYTEST_CASES) + 3 >= 40


def test_salvage_renders_what_is_readable_and_says_so(files, tmp_path, capsys):
    """The same corrupt file that exits 2 above renders with --salvage, its first lines naming the damaged line."""
    assert cli.main(["report", str(files["corrupt"]), "--out", str(tmp_path), "--salvage"]) == 0, capsys.readouterr().err
    head = (tmp_path / "report.md").read_text().splitlines()[:8]
    assert any(line.startswith("salvaged: 1 damaged line(s) skipped (line 2)") for line in head), head
    assert not any(line.startswith("incomplete") for line in head)  # its end line survived: the run completed


def test_good_values_pass_the_same_checks(monkeypatch):
    """Controls for the sweep: the checks that refuse the bad values accept good ones."""
    from harness.config import check_device_available, check_run_id

    for good in ("nightly", "20261122T120000Z-42", "run_1.b", "latest-2"):
        assert check_run_id(good) == good
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # one GPU listed: cuda is a valid request
    check_device_available("cuda")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    check_device_available("cpu")
