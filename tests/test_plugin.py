"""The pytest plugin (``-p harness.plugin``) under pytest's own ``pytester``: option errors, the run config reaching
a test through its fixture, the results file with its meta, cell and end lines, and the exit codes.

Sessions run in this process (``runpytest`` in-process) except the option errors: the plugin keeps its state in each session's
``config.stash``, so sessions do not see each other and leave no trace in the plugin module. Runs that need a
separate process (signals, kills, xdist workers) are in ``test_lifecycle.py`` and ``test_distributed.py``.
"""

from __future__ import annotations

import copy
import json
import signal

import pytest
import torch  # noqa: F401  (loaded before pytester's snapshot: it unloads what a session imported, torch cannot load twice)

import harness.plugin
from harness.results import read_results

pytest_plugins = ["pytester"]

CELLS = """
import pytest

@pytest.mark.parametrize("i", [0, 1], ids=["c0", "c1"])
def test_pass(i):
    assert i >= 0

def test_fail():
    assert 1 == 2, "a failing cell"

def test_skip():
    pytest.skip("not on this machine")
"""

SEE_CONFIG = """
import json
from pathlib import Path

def test_sees(run_config, harness_session):
    assert harness_session.config is run_config
    Path("seen.json").write_text(json.dumps(run_config.to_dict()))
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project rooted at the pytester folder (an ini file fixes the rootdir there): suites/ holds cells."""
    monkeypatch.setenv("TRTRTX_HARNESS_RUNS_DIR", str(pytester.path / "registry"))  # alone on the machine
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU, whatever the host has
    pytester.makeini("[pytest]\n")
    (pytester.path / "suites").mkdir()
    return pytester


def run(p: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    argv = ("-p", "harness.plugin", f"--harness-out={p.path / 'out'}", "--harness-no-report", *args)
    return p.runpytest_subprocess(*argv, timeout=120) if subprocess else p.runpytest(*argv)


@pytest.mark.parametrize(("args", "fragments"), [
    (["--harness-profile=weekly"], ["profile 'weekly'", "['default', 'full', 'nightly', 'quick']"]),
    (["--harness-models=resnet50,dynconv"], ["model 'resnet50'", "['dynconv', 'resnet18']"]),
    (["--harness-device=tpu"], ["device 'tpu'", "['auto', 'cpu', 'cuda']"]),
    (["--harness-run-id=latest"], ["run id 'latest'", "reserved"]),
    (["--harness-resume"], ["--harness-resume True", "pass --harness-run-id ID with it"]),
    (["--harness-gpus=0,0"], ["--harness-gpus '0,0'", "distinct"]),
], ids=["profile", "model", "device", "run-id", "resume-without-id", "gpus"])
def test_bad_option_exits_2_naming_value_rule_and_fix(project, args, fragments):
    """In a process of its own: pytester's in-process run cannot report a session that exits in pytest_configure."""
    (project.path / "suites" / "test_cells.py").write_text(CELLS)
    result = run(project, *args, subprocess=True)
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, text
    assert all(f in text for f in fragments) and "Fix:" in text, text
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    assert not (project.path / "out").exists()  # refused before anything was written


def test_resuming_a_run_of_an_older_results_schema_is_refused(project):
    """A file holds one schema: appending today's lines to a schema-2 run would make it unreadable. The control is
    the same run id resumed after a run of today's schema."""
    from harness.results import encode_line

    (project.path / "suites" / "test_cells.py").write_text(CELLS)
    old = project.path / "out" / "old-run" / "results.jsonl"
    old.parent.mkdir(parents=True)
    rows = (("meta", {"run_id": "old-run"}), ("end", {"status": "completed", "reason": "", "cells": 0}))
    old.write_bytes(b"".join(encode_line(k, d, version=2) for k, d in rows))
    result = run(project, "--harness-run-id=old-run", "--harness-resume", "-k", "test_pass", subprocess=True)
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == 2 and "'old-run'" in text and "results schema 2" in text and "Fix: start a new run id" in text, text
    assert "Traceback" not in text and read_results(old).version == 2 and len(read_results(old).sections) == 1
    assert run(project, "--harness-run-id=new-run", "-k", "test_pass").ret == 0
    assert run(project, "--harness-run-id=new-run", "--harness-resume", "-k", "test_pass").ret == 0  # control
    assert len(read_results(project.path / "out" / "new-run").sections) == 2


def test_resuming_an_unreadable_run_is_refused_and_an_empty_one_resumes(project):
    """A results file that is not one: exit 2 naming why, no traceback. An empty one (a run killed before its first
    line) has no schema to differ: it resumes."""
    (project.path / "suites" / "test_cells.py").write_text(CELLS)
    for run_id, content in (("garbage", b"hello\n"), ("empty", b"")):
        path = project.path / "out" / run_id / "results.jsonl"
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
    bad = run(project, "--harness-run-id=garbage", "--harness-resume", "-k", "test_pass", subprocess=True)
    text = bad.stdout.str() + bad.stderr.str()
    assert bad.ret == 2 and "cannot be read" in text and "not a harness results file" in text and "Fix:" in text, text
    assert "Traceback" not in text
    assert run(project, "--harness-run-id=empty", "--harness-resume", "-k", "test_pass").ret == 0
    assert len(read_results(project.path / "out" / "empty").cells) == 2


def test_good_options_pass_the_same_checks(project):
    """Control for the sweep above: good values of the same options run the cells."""
    (project.path / "suites" / "test_cells.py").write_text(CELLS)
    result = run(project, "--harness-profile=quick", "--harness-models=dynconv", "--harness-device=cpu",
                 "--harness-run-id=good-1")
    result.assert_outcomes(passed=2, failed=1, skipped=1)


@pytest.mark.parametrize(("args", "expected"), [
    (["--harness-profile=quick", "--harness-run-id=r1", "--harness-device=cpu"],
     {"profile": "quick", "models": ["dynconv"], "device": "cpu", "run_id": "r1", "variants": None}),
    (["--harness-profile=full", "--harness-run-id=r2", "--harness-models=resnet18", "--harness-backends=eager,compile"],
     {"profile": "full", "models": ["resnet18"], "device": "auto", "run_id": "r2", "variants": ["eager", "compile"]}),
], ids=["quick", "full"])
def test_run_config_reaches_the_test_through_its_fixture(project, args, expected):
    """Two sessions given different options each see their own: a fixture that ignored the options (or a config left
    over from another session) fails one of them."""
    (project.path / "suites" / "test_sees.py").write_text(SEE_CONFIG)
    cache = project.path / "my-cache"
    result = run(project, *args, f"--harness-cache-dir={cache}")
    result.assert_outcomes(passed=1)
    seen = json.loads((project.path / "seen.json").read_text())
    assert {k: seen[k] for k in expected} == expected
    assert seen["cache_dir"] == str(cache.resolve()) and seen["out_root"] == str((project.path / "out").resolve())


def test_results_file_holds_meta_cells_and_end_line(project):
    """Each suite test is a cell with its outcome; a test outside suites/ is not; the end line closes the run."""
    (project.path / "suites" / "test_cells.py").write_text(CELLS)
    project.makepyfile(test_outside="def test_outside():\n    assert True\n")
    result = run(project, "--harness-run-id=cells", "suites", "test_outside.py")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    res = read_results(project.path / "out" / "cells")
    assert res.meta["run_id"] == "cells" and res.sections[0].planned == 4  # the suite cells only
    outcomes = {c["nodeid"].split("::")[1]: c["outcome"] for c in res.cells}
    assert outcomes == {"test_pass[c0]": "passed", "test_pass[c1]": "passed", "test_fail": "failed",
                        "test_skip": "skipped"}
    assert "a failing cell" in next(c for c in res.cells if c["outcome"] == "failed")["reason"]
    assert next(c for c in res.cells if c["outcome"] == "skipped")["reason"] == "not on this machine"
    end = res.sections[0].end
    assert end is not None and end["status"] == "completed" and end["cells"] == 4 and res.status == "completed"


def test_exit_codes(project):
    """0 when every cell passes, 1 when one fails, 5 when nothing is collected (and no results file is written)."""
    (project.path / "suites" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    assert run(project, "--harness-run-id=ok").ret == pytest.ExitCode.OK
    (project.path / "suites" / "test_bad.py").write_text("def test_bad():\n    assert False\n")
    assert run(project, "--harness-run-id=bad").ret == pytest.ExitCode.TESTS_FAILED
    assert run(project, "--harness-run-id=none", "-k", "no_such_test").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert sorted(p.name for p in (project.path / "out").iterdir()) == ["bad", "ok"]


def test_sessions_leave_no_state_in_the_plugin_module(project):
    """The plugin keeps its state in each session's config.stash: two sessions in this process leave the module's
    globals and the SIGTERM handler as they found them (before: a module-level dict kept the last config)."""

    def state() -> dict[str, tuple[int, str | None]]:
        """Every global of the module: which object it is, and what a container holds."""
        return {k: (id(v), repr(v) if isinstance(v, (dict, list, set)) else None)
                for k, v in vars(harness.plugin).items() if not k.startswith("__")}

    before, handler = copy.deepcopy(state()), signal.getsignal(signal.SIGTERM)
    with pytest.MonkeyPatch.context() as mp:  # control: a rebound global (a config kept by the last session) shows
        mp.setattr(harness.plugin, "_LAST_CONFIG", object(), raising=False)
        assert state() != before
    (project.path / "suites" / "test_cells.py").write_text(CELLS)
    run(project, "--harness-run-id=one").assert_outcomes(passed=2, failed=1, skipped=1)
    run(project, "--harness-run-id=two", "-k", "test_pass").assert_outcomes(passed=2)
    assert state() == before and signal.getsignal(signal.SIGTERM) == handler
    assert [len(read_results(project.path / "out" / r).cells) for r in ("one", "two")] == [4, 2]
