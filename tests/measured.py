"""Runs measured for real: the calibration spin timed with the harness's own engine, written as results files
(one per round, a run folder with ``rounds/rK`` like the nightly profile's) that the history code reads back."""

from __future__ import annotations

from pathlib import Path

from harness.calibrate import BASE_UNITS, measure_round, write_round
from harness.timing import TimingSpec

SPEC = TimingSpec(warmup_s=0.01, min_samples=30, max_samples=300, max_time_s=0.04, target_rse=0.002)
UNITS = BASE_UNITS["cpu-eager"]


def units(slowdown: float) -> int:
    return round(UNITS * (1 + slowdown))


def measure_runs(root: Path, runs: dict[str, dict[str, int]], rounds: int = 1, commits: dict[str, str] | None = None,
                 gpu: str = "no GPU") -> dict[str, Path]:
    """``runs``: run name -> {case id: units}. Rounds of all runs are interleaved in time (round 1 of every run,
    then round 2, ...), so a burst of host load falls on both sides of a comparison. Returns run name -> folder."""
    for k in range(1, rounds + 1):
        for name, cases in runs.items():
            path = root / name / "results.jsonl" if k == 1 else root / name / "rounds" / f"r{k}" / "results.jsonl"
            for case, n in cases.items():
                m, _ = measure_round("cpu-eager", n, SPEC)
                write_round(path, name, "cpu-eager", n, m, gpu, (commits or {}).get(name, f"commit-{name}"), case=case)
    return {name: root / name for name in runs}
