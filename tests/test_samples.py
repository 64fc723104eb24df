"""``harness.stats.Samples``: quantiles against independent references, monotone in q, blind to the input's order,
and the same numbers the timing engine wrote into a real results file."""

from __future__ import annotations

import gzip
import math
import random
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.results import read_results
from harness.stats import Samples, rse
from harness.timing import Measurement
from tests.test_report import CPU_MAIN_JOB

LATENCIES = st.lists(st.floats(min_value=1e-4, max_value=1e4, allow_nan=False, allow_infinity=False), min_size=1,
                     max_size=200)
FRACTIONS = st.floats(min_value=0.0, max_value=1.0)


def _close(a: float, b: float, values: list[float]) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12 * max(abs(v) for v in values))


@given(LATENCIES, FRACTIONS)
def test_quantile_matches_numpy_linear(values, q):
    assert _close(Samples(values).quantile(q), float(np.quantile(values, q, method="linear")), values)


@given(st.lists(st.floats(min_value=1e-4, max_value=1e4), min_size=2, max_size=200))
def test_percentiles_match_statistics_inclusive(values):
    got = [Samples(values).quantile(k / 100) for k in range(1, 100)]
    want = statistics.quantiles(values, n=100, method="inclusive")
    assert all(_close(g, w, values) for g, w in zip(got, want, strict=True))


def test_the_reference_comparison_tells_definitions_apart():
    """Negative control: the exclusive (Weibull) definition, a plausible wrong one, fails the reference check."""
    values = [1.0, 2.0, 3.0, 4.0]
    exclusive = statistics.quantiles(values, n=4, method="exclusive")
    assert Samples(values).quantile(0.25) == 1.75 and exclusive[0] == 1.25
    assert not _close(Samples(values).quantile(0.25), exclusive[0], values)


@given(LATENCIES, FRACTIONS, FRACTIONS)
def test_quantile_is_monotone_in_q(values, q1, q2):
    s = Samples(values)
    lo, hi = sorted((q1, q2))
    assert s.min <= s.quantile(lo) <= s.quantile(hi) <= s.max


@given(LATENCIES, st.randoms(use_true_random=False))
def test_statistics_do_not_depend_on_the_input_order(values, rng):
    shuffled = list(values)
    rng.shuffle(shuffled)
    assert Samples(shuffled) == Samples(values)
    assert Samples(shuffled).summary() == Samples(values).summary()


def test_unsorted_positions_would_give_other_quantiles():
    """Negative control for the order test: reading positions of the unsorted input is not the same statistic."""
    values = [5.0, 1.0, 3.0]
    assert Samples(values).values == (1.0, 3.0, 5.0)
    assert Samples(values).p50 == 3.0 != values[1]


@given(st.lists(st.floats(min_value=1e-3, max_value=1e3), min_size=2, max_size=100))
def test_spread_matches_numpy(values):
    """Mean, stdev (n-1), CV and RSE against numpy's, computed apart from the statistics module Samples uses."""
    s, a = Samples(values), np.asarray(values)
    mean, sd = float(np.mean(a)), float(np.std(a, ddof=1))
    assert math.isclose(s.mean, mean, rel_tol=1e-9) and math.isclose(s.stdev, sd, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(s.cv, sd / mean, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(s.rse, sd / math.sqrt(len(values)) / mean, rel_tol=1e-9, abs_tol=1e-12)


def test_spread_of_a_hand_worked_example():
    s = Samples([4.0, 1.0, 3.0, 2.0])  # mean 2.5, variance 5/3
    assert s.mean == 2.5 and s.stdev == pytest.approx(1.2909944487358056, rel=1e-12)
    assert s.cv == pytest.approx(0.5163977794943222, rel=1e-12) and s.rse == pytest.approx(0.2581988897471611, rel=1e-12)
    assert rse([4.0, 1.0, 3.0, 2.0]) == pytest.approx(0.2581988897471611, rel=1e-12)
    assert statistics.pstdev([4.0, 1.0, 3.0, 2.0]) != pytest.approx(s.stdev)  # control: the population stdev differs


def test_empty_and_single_sample():
    assert math.isnan(Samples([]).quantile(0.5)) and math.isnan(Samples([]).cv) and Samples([]).rse == math.inf
    one = Samples([2.0])
    assert one.quantile(0.0) == one.quantile(1.0) == one.p50 == 2.0 and math.isnan(one.cv) and one.rse == math.inf


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan], ids=["negative", "over-one", "nan"])
def test_quantile_outside_zero_one_is_refused(q):
    with pytest.raises(UsageError, match=r"needs 0 <= q <= 1.*Fix:"):
        Samples([1.0, 2.0]).quantile(q)


def test_measurement_sorts_once_and_answers_from_its_samples(monkeypatch):
    """However many statistics are read, a Measurement builds (and sorts) its Samples once; the answers are those of
    numpy on the raw samples."""
    import harness.timing

    built = []

    class Counting(Samples):
        def __init__(self, values):
            built.append(1)
            super().__init__(values)

    monkeypatch.setattr(harness.timing, "Samples", Counting)
    rng = random.Random(5)
    m = Measurement(tuple(rng.uniform(1, 2) for _ in range(50)), "host", 3, 1.0)
    q90, cv, mean, iqr = m.quantile(0.9), m.cv, m.mean, m.iqr
    m.quantile(0.5)
    assert len(built) == 1
    a = np.asarray(m.samples_ms)
    assert q90 == pytest.approx(float(np.quantile(a, 0.9)), rel=1e-12) and mean == pytest.approx(float(np.mean(a)))
    assert cv == pytest.approx(float(np.std(a, ddof=1) / np.mean(a)), rel=1e-9)
    assert iqr == pytest.approx(float(np.quantile(a, 0.75) - np.quantile(a, 0.25)), rel=1e-12)


def test_same_numbers_as_the_results_file_the_timing_engine_wrote(tmp_path):
    """Every latency record of a real CPU run: the summary of its raw samples equals, to the bit, the statistics
    the timing engine stored when it measured them."""
    path = tmp_path / "results.jsonl"
    path.write_bytes(gzip.decompress(CPU_MAIN_JOB.read_bytes()))
    records = [r for r in read_results(path).records if r.get("metric") == "latency_ms" and r.get("stats")]
    assert len(records) >= 4
    for r in records:
        got = Samples(r["samples"]).summary()
        want = {k: v for k, v in r["stats"].items() if k in got}
        assert got == want, r["case_id"]
        assert got["p50"] == r["value"]
