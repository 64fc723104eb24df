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
def test_spread_matches_the_statistics_module(values):
    s = Samples(values)
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    assert s.mean == mean and s.stdev == sd
    assert s.cv == sd / mean
    assert s.rse == sd / math.sqrt(len(values)) / mean == rse(values)


def test_empty_and_single_sample():
    assert math.isnan(Samples([]).quantile(0.5)) and math.isnan(Samples([]).cv) and Samples([]).rse == math.inf
    one = Samples([2.0])
    assert one.quantile(0.0) == one.quantile(1.0) == one.p50 == 2.0 and math.isnan(one.cv) and one.rse == math.inf


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan], ids=["negative", "over-one", "nan"])
def test_quantile_outside_zero_one_is_refused(q):
    with pytest.raises(UsageError, match=r"needs 0 <= q <= 1.*Fix:"):
        Samples([1.0, 2.0]).quantile(q)


def test_measurement_sorts_once_and_delegates():
    rng = random.Random(5)
    m = Measurement(tuple(rng.uniform(1, 2) for _ in range(50)), "host", 3, 1.0)
    assert m.sample_stats is m.sample_stats  # built once, then read
    assert m.sample_stats.values == tuple(sorted(m.samples_ms))
    assert m.quantile(0.9) == m.sample_stats.quantile(0.9) and m.cv == m.sample_stats.cv


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
