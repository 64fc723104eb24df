"""Mann-Whitney U, step detection, the pooled standard deviation and the timing statistics."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.stats import detect_steps, mann_whitney_u, pooled_sd
from harness.timing import Measurement, TimingSpec, measure


def test_mann_whitney_matches_the_asymptotic_formula():
    # U = 0, mu = 4.5, var = 9/12 * 7 = 5.25, z = (4.5 - 0.5) / sqrt(5.25) = 1.7457, p = erfc(z / sqrt 2)
    u, p = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert u == 0 and p == pytest.approx(math.erfc(4 / math.sqrt(5.25) / math.sqrt(2)))
    assert p == pytest.approx(0.0809, abs=1e-3)


def test_mann_whitney_separates_shift_from_noise():
    rng = random.Random(7)
    a = [rng.gauss(1.0, 0.01) for _ in range(60)]
    shifted = [rng.gauss(1.01, 0.01) for _ in range(60)]
    same = [rng.gauss(1.0, 0.01) for _ in range(60)]
    assert mann_whitney_u(a, shifted)[1] < 0.01
    assert mann_whitney_u(a, same)[1] > 0.05
    assert mann_whitney_u([1.0] * 30, [1.0] * 30)[1] == 1.0  # all ties: no evidence


def test_step_detection_dates_planted_steps_and_ignores_noise():
    rng = random.Random(3)
    y = [1.0 + rng.gauss(0, 0.005) for _ in range(20)] + [1.1 + rng.gauss(0, 0.005) for _ in range(15)]
    y += [1.05 + rng.gauss(0, 0.005) for _ in range(10)]
    steps = detect_steps(y)
    assert [s.index for s in steps] == [20, 35]
    assert steps[0].change == pytest.approx(0.10, abs=0.01) and steps[1].change == pytest.approx(-0.045, abs=0.01)
    def noise(seed):
        r = random.Random(seed)
        return [1.0 + r.gauss(0, 0.01) for _ in range(60)]

    false_steps = sum(len(detect_steps(noise(seed))) for seed in range(100))
    assert false_steps <= 3  # pure noise: about one false step per 70 series of 60 runs (seen: 3 in 200)
    assert detect_steps(y, min_rel=0.08) == steps[:1]


def test_measurement_statistics():
    m = Measurement(tuple(float(x) for x in range(1, 101)), "host", 3, 5.0)
    st = m.stats()
    assert st["p50"] == 50.5 and st["p10"] == pytest.approx(10.9) and st["p99"] == pytest.approx(99.01)
    assert st["iqr"] == pytest.approx(49.5) and st["min"] == 1 and st["max"] == 100
    assert m.noisy  # CV ~ 57 %
    assert not Measurement((1.0, 1.001, 0.999), "host", 0, 1.0).noisy


def test_host_measure_stops_on_target_or_time():
    spec = TimingSpec(warmup_s=0.0, min_samples=10, max_time_s=0.2, target_rse=0.5)
    m = measure(lambda: sum(range(100)), spec)
    assert m.stopped == "target" and m.n == 10 and m.clock == "host"
    noisy = TimingSpec(warmup_s=0.0, min_samples=5, max_time_s=0.05, target_rse=1e-9)
    m = measure(lambda: sum(range(1000)), noisy)
    assert m.stopped in ("time", "max_samples") and m.n >= 5


@pytest.mark.parametrize("kwargs", [{"min_samples": 1}, {"min_samples": 10, "max_samples": 5}, {"max_time_s": 0},
                                    {"target_rse": 0}], ids=["min1", "max<min", "time0", "rse0"])
def test_bad_timing_specs(kwargs):
    with pytest.raises(UsageError, match="Fix:"):
        TimingSpec(**kwargs)


def test_batching_rule_keeps_long_iterations_single_and_batches_short_ones():
    from harness.timing import BATCH_TARGET_MS, iters_per_sample

    assert iters_per_sample(0.7) == 1 and iters_per_sample(0.1) == 1
    n = iters_per_sample(0.04)  # a dynconv CUDA-graph replay on an H100
    assert n == 25 and n * 0.04 >= BATCH_TARGET_MS


def test_a_run_cut_by_its_time_limit_says_so_and_a_precise_one_does_not():
    import time as _time

    from harness.timing import TimingSpec, measure

    def jittery() -> None:  # a real workload whose spread keeps the RSE above a 0.01 % target
        _time.sleep(0.0005 if int(_time.perf_counter() * 1e4) % 2 else 0.002)

    cut = measure(jittery, TimingSpec(warmup_s=0.0, min_samples=5, max_samples=10_000, max_time_s=0.2, target_rse=0.0001))
    assert cut.stopped == "time" and any("time limit reached" in r for r in cut.noise_reasons()), cut.noise_reasons()
    easy = measure(lambda: sum(range(2000)), TimingSpec(warmup_s=0.0, min_samples=50, max_time_s=5.0, target_rse=0.5))
    assert easy.stopped == "target" and not any("time limit" in r for r in easy.noise_reasons())


def test_host_bound_rule_compares_host_enqueue_time_with_device_time():
    from harness.timing import Measurement

    def m(host_us: float, device_ms: float) -> Measurement:
        return Measurement((device_ms,) * 30, "cuda_event", 3, 1.0, device_ms, "target", False, host_us, 1, 0.005)

    assert any(r.startswith("host-bound") for r in m(40.0, 0.041).noise_reasons())  # eager dynconv: host 40 us, device 41
    assert not m(5.0, 0.70).noise_reasons()  # resnet18 graph replay: the device is the bound


def _previous_pooled_sd(a: list[float], b: list[float]) -> float:
    """The gate's round spread as it computed it by hand before ``harness.stats.pooled_sd``."""
    df = len(a) + len(b) - 2
    ss = sum((x - statistics.fmean(a)) ** 2 for x in a) + sum((x - statistics.fmean(b)) ** 2 for x in b)
    return math.sqrt(ss / df) if df > 0 else math.nan


def _previous_core_sd(a: list[float], b: list[float]) -> float:
    ss, df = 0.0, 0
    for side in (a, b):
        core = sorted(side)[: (len(side) + 1) // 2]
        if len(core) > 1:
            m = statistics.fmean(core)
            ss += sum((x - m) ** 2 for x in core)
            df += len(core) - 1
    return math.sqrt(ss / df) if df else 0.0


LOG_P50S = st.lists(st.floats(min_value=-5, max_value=5), min_size=1, max_size=12)


@given(LOG_P50S, LOG_P50S)
def test_gate_spreads_are_the_numbers_the_gate_computed_before(a, b):
    from harness.gate import _core_sd

    before, now = _previous_pooled_sd(a, b), pooled_sd((a, b))
    assert now == before or (math.isnan(now) and math.isnan(before))
    assert _core_sd(a, b) == _previous_core_sd(a, b)


def test_pooled_sd_is_the_pooled_variance_of_the_statistics_module():
    """Reference: the pooled variance is the (n - 1)-weighted mean of the groups' sample variances. Negative control:
    the standard deviation of all values thrown together (the groups' means differ) is another number."""
    groups = [[1.0, 2.0, 4.0], [10.0, 11.0], [7.0]]
    want = math.sqrt((2 * statistics.variance(groups[0]) + statistics.variance(groups[1])) / 3)
    assert math.isclose(pooled_sd(groups), want, rel_tol=1e-12)
    assert not math.isclose(pooled_sd(groups), statistics.stdev([x for g in groups for x in g]), rel_tol=1e-3)
    assert math.isnan(pooled_sd([[1.0], []]))
