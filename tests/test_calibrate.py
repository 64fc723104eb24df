"""The gate's calibration on this machine (CPU eager kind): no false alarm in 10 A/A pairs, a 25 % slowdown
caught in at least 9 of 10 pairs; and the command's bad-input errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from harness.calibrate import BASE_UNITS, plan, read_worker_line, slots

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "calibrate", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def test_cpu_calibration_no_false_alarm_and_a_25_percent_slowdown_caught(tmp_path):
    """A false alarm fails at once. A 25 % slowdown must be caught in at least 9 of 10 pairs (on this machine the
    gate catches it in 9 or 10 of 10: ten pairs cannot show 95 % power either way). A disturbed machine (a
    neighbour took a core, round CV several times the usual 2-3 %) catches fewer: the calibration is then run again,
    up to 3 times, and every attempt is printed."""
    for attempt in range(3):
        out_dir = tmp_path / f"a{attempt}"
        out = _cli("--kinds", "cpu-eager", "--pairs", "10", "--ab-pairs", "10", "--slowdowns", "25", "--out", str(out_dir),
                   timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        print(out.stdout)  # the numbers, for the log
        got = json.loads((out_dir / "calibration.json").read_text())
        cpu = got["kinds"][0]
        assert cpu["kind"] == "cpu-eager" and got["rounds_measured"] == got["rounds_planned"] == 30 * 5
        assert cpu["aa_pairs"] == 10 and cpu["false_alarms"] == 0, out.stdout
        caught, pairs = cpu["detected"]["25"]
        if pairs == 10 and caught >= 9:
            break
    assert pairs == 10 and caught >= 9, out.stdout
    assert "cpu-eager" in out.stdout and "0/10 (0%)" in out.stdout and f"{caught}/10" in out.stdout
    rounds = sorted(p.parent.name for p in (out_dir / "cpu-eager" / "A00").rglob("results.jsonl"))
    assert rounds == ["A00", "r2", "r3", "r4", "r5"]  # every round a results file of its own


def test_plan_spreads_every_runs_rounds_over_the_calibration():
    jobs = plan(("cpu-eager",), pairs=3, ab_pairs=2, slowdowns=(5.0, 25.0), rounds=4, seed=1)
    per_run = Counter(j.run for j in jobs)
    assert len(per_run) == 6 + 4 and set(per_run.values()) == {4}
    assert {j.units for j in jobs if j.run.startswith("A")} == {BASE_UNITS["cpu-eager"]}
    assert {j.units for j in jobs if j.run.startswith("B25")} == {round(BASE_UNITS["cpu-eager"] * 1.25)}
    first = [i for i, j in enumerate(jobs) if j.run == "A00"]
    assert first != list(range(first[0], first[0] + 4))  # not back to back (seeded order)


def test_one_worker_process_holds_one_round_of_each_kind():
    jobs = plan(("gpu-eager", "gpu-graph"), pairs=2, ab_pairs=2, slowdowns=(1.0,), rounds=3, seed=0)
    groups = slots(jobs)
    assert len(groups) == len(jobs) // 2 and all(sorted(j.kind for j in g) == ["gpu-eager", "gpu-graph"] for g in groups)
    assert sorted(j for g in groups for j in g) == sorted(jobs)


def test_worker_protocol_measures_each_workload_after_go():
    pr = subprocess.run([sys.executable, "-m", "harness.children.calibrate_worker", "cpu-eager:100", "cpu-eager:300"],
                        input="go\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    lines = pr.stdout.splitlines()
    assert pr.returncode == 0 and lines[0] == "ready" and len(lines) == 3, pr.stdout + pr.stderr
    small, big = (json.loads(x) for x in lines[1:])
    p50 = [sorted(d["samples"])[len(d["samples"]) // 2] for d in (small, big)]
    assert small["clock"] == "host" and small["gpu"] == "no GPU" and 1.5 < p50[1] / p50[0] < 6  # 3x the work
    m, gpu = read_worker_line(lines[1])  # what the calibration reads back: the worker's measurement, whole
    assert gpu == "no GPU" and list(m.samples_ms) == small["samples"] and m.warmup_iters == small["warmup_iters"] > 0


@pytest.mark.parametrize(("args", "flag"), [(("--slowdowns", "abc"), "--slowdowns"), (("--slowdowns", "0"), "--slowdowns"),
                                            (("--pairs", "0"), "--pairs"), (("--ab-pairs", "30"), "--ab-pairs"),
                                            (("--kinds", "tpu"), "calibration kind"), (("--alpha", "2"), "--alpha")],
                         ids=["slowdowns-text", "slowdowns-zero", "pairs0", "ab-over", "kind", "alpha"])
def test_bad_calibration_arguments(args, flag):
    out = _cli(*args)
    assert out.returncode == 2 and flag in out.stderr and "Fix:" in out.stderr and "Traceback" not in out.stderr


def test_calibration_refuses_a_folder_with_an_earlier_calibration(tmp_path):
    (tmp_path / "calibration.json").write_text("{}")
    out = _cli("--kinds", "cpu-eager", "--out", str(tmp_path))
    assert out.returncode == 2 and "is not empty" in out.stderr and "Fix:" in out.stderr
