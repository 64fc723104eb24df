"""``python -m harness bench``'s between-process CV is ``harness.stats.Samples.cv``: the same number, to the bit, as the
formula the bench computed by hand before (sample standard deviation over mean) on real samples, numpy's on any list,
and a hand-worked value."""

from __future__ import annotations

import gzip
import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.bench import between_process_cv_pct
from harness.results import read_results
from tests.test_report import CPU_MAIN_JOB


def previous_formula(p50s: list[float]) -> float:
    """What ``harness.bench.noise`` computed before it used ``harness.stats``."""
    return statistics.stdev(p50s) / statistics.fmean(p50s) * 100


def _real_series(tmp_path) -> list[list[float]]:
    """Every latency record's raw samples of a real CPU run, and the p50s of all its records (unsorted, as measured)."""
    path = tmp_path / "results.jsonl"
    path.write_bytes(gzip.decompress(CPU_MAIN_JOB.read_bytes()))
    records = [r for r in read_results(path).records if r.get("metric") == "latency_ms" and r.get("samples")]
    assert len(records) >= 4
    return [[float(x) for x in r["samples"]] for r in records] + [[float(r["value"]) for r in records]]


def test_same_cv_as_the_previous_formula_on_real_samples(tmp_path):
    series = _real_series(tmp_path)
    for values in series:
        assert between_process_cv_pct(values) == previous_formula(values), values[:5]
    # Negative control: a plausible wrong formula (population standard deviation) gives other numbers on the same data
    assert any(statistics.pstdev(v) / statistics.fmean(v) * 100 != between_process_cv_pct(v) for v in series)


def test_cv_of_a_hand_worked_example():
    assert between_process_cv_pct([1.0, 2.0, 3.0, 4.0]) == pytest.approx(51.63977794943222, rel=1e-12)


@given(st.lists(st.floats(min_value=1e-3, max_value=1e3), min_size=2, max_size=50))
def test_cv_matches_numpy_on_any_p50s(p50s):
    a = np.asarray(p50s)
    expected = float(np.std(a, ddof=1) / np.mean(a) * 100)
    assert math.isclose(between_process_cv_pct(p50s), expected, rel_tol=1e-9, abs_tol=1e-9)
