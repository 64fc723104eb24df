"""Latency measurement: a frozen ``TimingSpec`` (how to measure) apart from a ``Measurement`` (raw samples).

On a GPU each iteration is bracketed by a pair of CUDA events recorded on the bound stream, and the
host synchronises once, after the loop; on the CPU the host clock times each call. Statistics are
computed on demand from the raw samples, which are kept in the results file.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError

NOISE_CV = 0.025  # a measurement whose coefficient of variation exceeds 2.5 % is flagged noisy


@dataclass(frozen=True)
class TimingSpec:
    """What is measured: warm-up by time, then samples until ``min_samples`` and either the relative
    standard error of the mean drops under ``target_rse`` or ``max_time_s`` is spent."""

    warmup_s: float = 0.2
    min_warmup_iters: int = 3
    min_samples: int = 20
    max_samples: int = 2000
    max_time_s: float = 2.0
    target_rse: float = 0.005

    def __post_init__(self) -> None:
        if self.min_samples < 2 or self.max_samples < self.min_samples:
            raise UsageError("timing samples", (self.min_samples, self.max_samples),
                             "needs 2 <= min_samples <= max_samples", "raise max_samples or lower min_samples")
        if self.max_time_s <= 0 or self.warmup_s < 0:
            raise UsageError("timing budget", (self.warmup_s, self.max_time_s),
                             "needs warmup_s >= 0 and max_time_s > 0", "give positive durations in seconds")


@dataclass(frozen=True)
class Measurement:
    """Raw per-iteration latencies in milliseconds and how they were taken."""

    samples_ms: tuple[float, ...]
    clock: str  # "cuda_event" or "host"
    warmup_iters: int
    first_call_ms: float

    def _sorted(self) -> list[float]:
        return sorted(self.samples_ms)

    def quantile(self, q: float) -> float:
        s = self._sorted()
        if not s:
            return math.nan
        pos = q * (len(s) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms) if self.samples_ms else math.nan

    @property
    def cv(self) -> float:
        if self.n < 2:
            return math.nan
        return statistics.stdev(self.samples_ms) / self.mean

    @property
    def iqr(self) -> float:
        return self.quantile(0.75) - self.quantile(0.25)

    @property
    def noisy(self) -> bool:
        return self.cv > NOISE_CV

    def stats(self) -> dict[str, float]:
        return {
            "p10": self.quantile(0.10), "p50": self.quantile(0.50), "p90": self.quantile(0.90),
            "p95": self.quantile(0.95), "p99": self.quantile(0.99), "mean": self.mean,
            "cv": self.cv, "iqr": self.iqr, "n": float(self.n),
        }


def _rse(samples: list[float]) -> float:
    if len(samples) < 2:
        return math.inf
    mean = statistics.fmean(samples)
    return statistics.stdev(samples) / math.sqrt(len(samples)) / mean if mean > 0 else math.inf


def measure(fn: Callable[[], Any], spec: TimingSpec, *, cuda_stream: Any = None) -> Measurement:
    """Time ``fn``. With ``cuda_stream`` (a torch.cuda.Stream), per-iteration CUDA events on that stream."""
    t0 = time.perf_counter()
    if cuda_stream is not None:
        import torch

        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
    else:
        fn()
    first_ms = (time.perf_counter() - t0) * 1e3
    warm = 0
    start = time.perf_counter()
    while warm < spec.min_warmup_iters or time.perf_counter() - start < spec.warmup_s:
        fn()
        warm += 1
    if cuda_stream is not None:
        return Measurement(_measure_cuda(fn, spec, cuda_stream), "cuda_event", warm, first_ms)
    return Measurement(_measure_host(fn, spec), "host", warm, first_ms)


def _measure_host(fn: Callable[[], Any], spec: TimingSpec) -> tuple[float, ...]:
    samples: list[float] = []
    deadline = time.perf_counter() + spec.max_time_s
    while len(samples) < spec.max_samples:
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
        if len(samples) >= spec.min_samples and (_rse(samples) < spec.target_rse or time.perf_counter() > deadline):
            break
    return tuple(samples)


def _measure_cuda(fn: Callable[[], Any], spec: TimingSpec, stream: Any) -> tuple[float, ...]:
    import torch

    samples: list[float] = []
    deadline = time.perf_counter() + spec.max_time_s
    batch = spec.min_samples
    while len(samples) < spec.max_samples:
        n = min(batch, spec.max_samples - len(samples))
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))  # type: ignore[no-untyped-call]
                  for _ in range(n)]
        with torch.cuda.stream(stream):
            for begin, end in events:
                begin.record(stream)
                fn()
                end.record(stream)
        stream.synchronize()
        samples.extend(b.elapsed_time(e) for b, e in events)
        if _rse(samples) < spec.target_rse or time.perf_counter() > deadline:
            break
        batch = max(batch, len(samples))  # double the samples each round
    return tuple(samples)
