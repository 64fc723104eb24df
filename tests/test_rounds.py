"""A profile with rounds: one pytest process per round, extra rounds under RUN/rounds/, one history entry."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.history import case_rounds, load_history, load_run, round_files
from harness.rounds import run_rounds

ROOT = Path(__file__).resolve().parents[1]
TEST = f'''
import sys
sys.path.insert(0, {str(ROOT)!r})  # the harness's own tests are not installed with it
import pytest
from tests.measured import SPEC, UNITS
from harness.calibrate import measure_round

@pytest.mark.perf
def test_spin(harness_session):
    m, _ = measure_round("cpu-eager", UNITS, SPEC)
    harness_session.record("spin", "latency_ms", m.quantile(0.5), "ms", {{"batch": 1}}, m.samples_ms)

def test_not_perf():
    pass
'''


def test_rounds_run_in_fresh_processes_and_land_in_one_summary(tmp_path, capfd):
    (tmp_path / "test_spin.py").write_text(TEST)
    out, hist = tmp_path / "out", tmp_path / "hist"
    argv = [sys.executable, "-m", "pytest", str(tmp_path / "test_spin.py"), "-p", "harness.plugin", "-p", "no:cacheprovider",
            "-q", f"--rootdir={tmp_path}", f"--harness-out={out}", "--harness-device=cpu", "--harness-profile=nightly"]
    assert run_rounds(argv, 2, out, hist, [], tmp_path) == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    files = round_files(run_dir / "results.jsonl")
    assert [p.parent.name for p in files] == [f"{run_dir.name}-r2"]
    rounds = case_rounds(load_run(run_dir).cases["spin@b1"])
    assert len(rounds) == 2 and rounds[0] != rounds[1]  # two separate measurements
    (entry,) = load_history(hist)  # written once, after the last round
    assert entry.meta["rounds"] == 2 and entry.run_id == run_dir.name
    printed = capfd.readouterr().out
    assert "2 passed" in printed and "1 passed, 1 deselected" in printed  # round 2: the perf cell only
