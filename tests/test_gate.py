"""The regression gate's verdicts, each reached from real timed runs of the calibration spin; its exit codes
and its threshold checks through the command line."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.gate import DEFAULT_THRESHOLDS, INSUFFICIENT, Thresholds, compare, gate_exit
from harness.history import add_to_history, load_history, load_run
from harness.stats import t_two_sided_p, welch_t
from tests.measured import UNITS, measure_runs, units

ROOT = Path(__file__).resolve().parents[1]
CASE = "spin"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def _row(base: Path, head: Path, t: Thresholds = DEFAULT_THRESHOLDS, history: Path | None = None):
    c = compare(load_run(base), load_run(head), t, load_history(history) if history else None)
    assert len(c.rows) == 1
    return c, c.rows[0]


def test_single_rounds_of_the_same_code_are_insufficient_evidence_and_flagged_as_noise(tmp_path):
    runs = measure_runs(tmp_path, {"r1": {CASE: UNITS}, "r2": {CASE: UNITS}}, commits={"r1": "abc", "r2": "abc"})
    c, row = _row(runs["r1"], runs["r2"])
    assert row.verdict == INSUFFICIENT and "1 base and 1 head round" in row.reason and "nightly" in row.reason
    assert "measures noise" in c.noise_check
    out = _cli("compare", str(runs["r1"]), str(runs["r2"]))
    assert out.returncode == 0 and "NOISE CHECK" in out.stdout and "slower: 0" in out.stdout, out.stdout + out.stderr


def test_single_rounds_never_say_slower_even_for_a_large_slowdown(tmp_path):
    """One round each, the head doing twice the work. A burst of load on the shared CI host can hide the slowdown
    in a single round: the pair is measured again (up to 3 times) until the slowdown shows, so the verdict is
    always judged on a large measured change."""
    for attempt in range(3):
        runs = measure_runs(tmp_path / str(attempt), {"a": {CASE: UNITS}, "b": {CASE: units(1.0)}})
        _, row = _row(runs["a"], runs["b"])
        if row.change > 0.3:
            break
    assert row.change > 0.3, f"a twice-as-long workload measured {row.change:+.1%} in 3 attempts"
    assert row.verdict == INSUFFICIENT  # no run-level evidence: no decision either way


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """Five rounds each: two runs of the base workload, one 50 % slower."""
    root = tmp_path_factory.mktemp("rounds")
    return measure_runs(root, {"a1": {CASE: UNITS}, "a2": {CASE: UNITS}, "slow": {CASE: units(0.5)}}, rounds=5)


def test_rounds_decide_slower_faster_and_same(rounds):
    _, slow = _row(rounds["a1"], rounds["slow"])
    assert slow.verdict == "slower" and slow.evidence.startswith("rounds") and slow.p_value < 0.01, slow
    assert slow.change == pytest.approx(0.5, abs=0.15)
    _, fast = _row(rounds["slow"], rounds["a1"])
    assert fast.verdict == "faster"
    _, same = _row(rounds["a1"], rounds["a2"])  # negative control: same workload, other commit
    assert same.verdict == "same" and abs(same.change) <= same.threshold
    assert _cli("compare", str(rounds["a1"]), str(rounds["slow"])).returncode == 1
    assert _cli("compare", str(rounds["a1"]), str(rounds["a2"])).returncode == 0


def test_a_change_over_the_threshold_without_significance_is_insufficient_evidence(rounds):
    _, row = _row(rounds["a1"], rounds["slow"], Thresholds(alpha=1e-15, cv_factor=0.0))
    assert row.verdict == INSUFFICIENT and ">= alpha" in row.reason and row.p_value >= 1e-15


def test_too_few_rounds_is_insufficient_evidence(rounds):
    _, row = _row(rounds["a1"], rounds["slow"], Thresholds(min_rounds=6))
    assert row.verdict == INSUFFICIENT and "needs 6 each" in row.reason


def test_same_code_on_the_same_machine_never_reads_slower(tmp_path):
    runs = measure_runs(tmp_path, {"a": {CASE: UNITS}, "b": {CASE: units(0.5)}}, rounds=4, commits={"a": "abc", "b": "abc"})
    c, row = _row(runs["a"], runs["b"])
    assert row.statistical == "slower" and row.verdict == INSUFFICIENT and "same code" in row.reason
    assert c.noise_check and gate_exit(c)[0] == 0


def _history_rows(root: Path):
    runs = measure_runs(root / "runs", {**{f"h{i}": {CASE: UNITS} for i in range(6)}, "base": {CASE: UNITS},
                                        "same": {CASE: UNITS}, "slow": {CASE: units(0.5)}}, rounds=3)
    hist = root / "hist"
    for i in range(6):
        add_to_history(runs[f"h{i}"], hist)
    # 3 rounds (a burst of host load in one is left out) are not evidence here; the 15 % floor keeps a load change
    # of a few % between the base and the other runs (other tests running beside this one) from reading as a change
    only_history = Thresholds(min_rounds=4, min_change=0.15)
    _, slow = _row(runs["base"], runs["slow"], only_history, history=hist)
    _, same = _row(runs["base"], runs["same"], only_history, history=hist)
    _, other = _row(runs["base"], runs["slow"], Thresholds(min_rounds=4, min_history=7), history=hist)
    return slow, same, other


def test_history_spread_is_evidence(tmp_path):
    """Nine runs measured interleaved; a burst of load on a shared CI host can still land on two of the base's
    three rounds, so the whole set is measured again (up to 3 times) before the verdicts are judged."""
    for attempt in range(3):
        slow, same, other = _history_rows(tmp_path / str(attempt))
        if slow.verdict == "slower" and same.verdict == "same":
            break
    assert slow.verdict == "slower" and slow.evidence == "history 6", slow
    assert same.verdict == "same", same
    assert other.verdict == INSUFFICIENT and "6 run(s)" in other.reason


def test_history_of_another_machine_is_not_evidence(tmp_path):
    runs = measure_runs(tmp_path / "runs", {**{f"h{i}": {CASE: UNITS} for i in range(5)}, "base": {CASE: UNITS},
                                            "slow": {CASE: units(0.5)}})
    hist = tmp_path / "hist"
    for i in range(5):
        add_to_history(runs[f"h{i}"], hist)
    elsewhere = load_history(hist)
    for r in elsewhere:
        r.meta["machine"] = {"host": "another-runner"}
    row = compare(load_run(runs["base"]), load_run(runs["slow"]), Thresholds(), elsewhere).rows[0]
    assert row.verdict == INSUFFICIENT and "0 run(s) of this case on this machine" in row.reason


def test_missing_case_and_empty_head_fail_the_gate(tmp_path):
    runs = measure_runs(tmp_path, {"base": {CASE: UNITS, "other": UNITS}, "head": {CASE: UNITS}})
    out = _cli("compare", str(runs["base"]), str(runs["head"]))
    assert out.returncode == 2 and "lacks 1 case(s)" in out.stderr and "other@b1" in out.stderr and "Fix:" in out.stderr
    assert _cli("compare", str(runs["base"]), str(runs["head"]), "--allow-missing").returncode == 0
    from harness.results import ResultsWriter

    empty = tmp_path / "empty" / "results.jsonl"
    with ResultsWriter(empty) as w:  # a run whose only cell (TensorRT-RTX here) was skipped: no latency
        w.write("meta", {"run_id": "empty", "started_utc": "2026-11-22T00:00:00+00:00", "git_commit": "x"})
        w.write("cell", {"case_id": "dynconv-trt_rtx", "nodeid": "t", "outcome": "skipped", "reason": "no GPU"})
        w.write("end", {"status": "completed", "reason": "", "cells": 1})
    out = _cli("compare", str(runs["base"]), str(empty))
    assert out.returncode == 2 and "holds no latency case" in out.stderr and "gone: 2" in out.stdout
    assert "nan%" in out.stdout  # the table still shows what is there


def test_comparison_across_gpus_is_refused(tmp_path):
    runs = measure_runs(tmp_path / "a", {"a": {CASE: UNITS}})
    other = measure_runs(tmp_path / "b", {"b": {CASE: UNITS}}, gpu="NVIDIA H100")
    out = _cli("compare", str(runs["a"]), str(other["b"]))
    assert out.returncode == 2 and "not comparable across GPUs" in out.stderr and "Traceback" not in out.stderr


BAD = {"alpha5": ("--alpha", "5", {"alpha": 5.0}), "alpha0": ("--alpha", "0", {"alpha": 0.0}),
       "alpha-nan": ("--alpha", "nan", {"alpha": math.nan}), "min-change-neg": ("--min-change", "-0.1", {"min_change": -0.1}),
       "min-change-1": ("--min-change", "1", {"min_change": 1.0}), "cv-neg": ("--cv-factor", "-1", {"cv_factor": -1.0}),
       "cv-inf": ("--cv-factor", "inf", {"cv_factor": math.inf}), "rounds1": ("--min-rounds", "1", {"min_rounds": 1}),
       "history2": ("--min-history", "2", {"min_history": 2})}


@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
def test_thresholds_are_validated(bad):
    flag, value, kwargs = bad
    out = _cli("compare", "nowhere-a", "nowhere-b", flag, value)
    assert out.returncode == 2 and flag in out.stderr and value in out.stderr and "Fix:" in out.stderr
    assert "needs" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(UsageError, match="Fix:"):
        Thresholds(**kwargs)
    assert Thresholds(**{k: type(v)(Thresholds().__getattribute__(k)) for k, v in kwargs.items()})  # defaults pass


def test_student_t_and_welch_match_tables():
    assert t_two_sided_p(2.228, 10) == pytest.approx(0.05, abs=2e-4)  # textbook critical values
    assert t_two_sided_p(3.169, 10) == pytest.approx(0.01, abs=1e-4)
    assert t_two_sided_p(12.706, 1) == pytest.approx(0.05, abs=1e-4)
    t, df, p = welch_t([1, 2, 3, 4], [2, 3, 4, 5, 9])  # scipy.stats.ttest_ind(equal_var=False): 1.5329, 5.9615, 0.1765
    assert (t, df, p) == pytest.approx((1.5329, 5.9615, 0.1765), abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=8), st.lists(st.floats(-5, 5), min_size=2, max_size=8))
def test_welch_is_symmetric_and_a_probability(a, b):
    t1, _, p1 = welch_t(a, b)
    t2, _, p2 = welch_t(b, a)
    assert 0.0 <= p1 <= 1.0 and p1 == pytest.approx(p2)
    assert math.isinf(t1) or t1 == pytest.approx(-t2, abs=1e-9)
