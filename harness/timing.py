"""Latency measurement: a frozen ``TimingSpec`` (how to measure) apart from a ``Measurement`` (raw samples).

On a GPU the loop runs in rounds. Inside a round every sample is bracketed by a pair of CUDA events
(percentiles) and the whole round by one more pair (``block_ms_per_iter``: the round's device wall time per
iteration, the sample events and any gaps between samples included, and with ``cold_l2`` the L2 flushes too:
then it is no throughput figure). A sample is
one iteration, or, for an iteration shorter than ``BATCH_BELOW_MS`` of device time, a batch of iterations lasting
about ``BATCH_TARGET_MS`` divided by its length (nvbench's batched timing: the event pair's own cost and
resolution stop dominating; percentiles are then of batch means, and ``iters_per_sample`` says so); events
are created and primed before the round, the garbage collector is off during it, a few untimed calls
open it (so the device has queued work while the host enqueues the first timed one), and the host
synchronises only between rounds, to decide whether to stop. Warm-up runs on the measured stream and is
drained before the first round.
Optionally an L2 flush (a write of twice the L2 size) runs before each iteration, outside its sample's event
pair but inside the round's ("cold" mode; a sample is then one iteration, never a batch). On the CPU the host
clock times each call, and ``block_ms_per_iter`` is the mean sample.

Stopping: after ``min_samples``, when the relative standard error of the mean (std / sqrt(n) / mean)
drops under ``target_rse`` — the part of the spread that more samples can shrink — or ``max_time_s``
or ``max_samples`` is reached. The coefficient of variation (std / mean) is reported, and a measurement
whose CV exceeds 2.5 % is flagged noisy. The statistics themselves (quantiles, CV, RSE) are those of
``harness.stats.Samples``, which a ``Measurement`` builds once (``sample_stats``).
"""

from __future__ import annotations

import contextlib
import gc
import math
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from harness.errors import UsageError
from harness.stats import Samples, rse

NOISE_CV = 0.025
LEAD_IN = 3  # untimed calls that open each CUDA round
BATCH_BELOW_MS = 0.1  # an iteration shorter than this (device time) is timed in batches
BATCH_TARGET_MS = 1.0  # a batched sample lasts about this long
HOST_BOUND = 0.9  # host time per iteration over device time per iteration at which the device waits on the host


@dataclass(frozen=True)
class TimingSpec:
    """What is measured and how long to try: ``warmup_s`` seconds and at least ``min_warmup_iters`` calls of
    warm-up; then samples until the stop rule (module docstring) ends it, at ``min_samples`` at the earliest, at
    ``max_samples`` or after ``max_time_s`` seconds at the latest, or once the RSE is under ``target_rse``
    (a fraction). ``cold_l2``: flush the L2 before each iteration (GPU); ``batch``: on a GPU and without
    ``cold_l2``, time iterations shorter than ``BATCH_BELOW_MS`` in batches (False: one iteration per sample)."""

    warmup_s: float = 0.2
    min_warmup_iters: int = 3
    min_samples: int = 20
    max_samples: int = 5000
    max_time_s: float = 2.0
    target_rse: float = 0.005
    cold_l2: bool = False
    batch: bool = True

    def __post_init__(self) -> None:
        if self.min_samples < 2 or self.max_samples < self.min_samples:
            raise UsageError("timing samples", (self.min_samples, self.max_samples),
                             "needs 2 <= min_samples <= max_samples", "raise max_samples or lower min_samples")
        if self.max_time_s <= 0 or self.warmup_s < 0:
            raise UsageError("timing budget", (self.warmup_s, self.max_time_s),
                             "needs warmup_s >= 0 and max_time_s > 0", "give positive durations in seconds")
        if not 0 < self.target_rse < 1:
            raise UsageError("target_rse", self.target_rse, "needs 0 < target_rse < 1", "e.g. 0.005 for 0.5 %")


@dataclass(frozen=True)
class Measurement:
    """Raw per-iteration latencies (ms), the per-iteration mean of the block timings, and how they were taken."""

    samples_ms: tuple[float, ...]
    clock: str  # "cuda_event" or "host"
    warmup_iters: int
    first_call_ms: float
    block_ms_per_iter: float = math.nan  # one event pair around each round, divided by its iterations
    stopped: str = ""  # "target", "time" or "max_samples"
    cold_l2: bool = False
    host_loop_us: float = math.nan  # host time per iteration inside the timed loops, fn included
    iters_per_sample: int = 1  # > 1: each sample is the mean of this many back-to-back iterations
    target_rse: float = math.nan  # the precision the stop rule aimed at

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Measurement:
        """The measurement a child process sent as ``dataclasses.asdict`` over JSON (the samples come back a list)."""
        return cls(**{**d, "samples_ms": tuple(d["samples_ms"])})

    @cached_property
    def sample_stats(self) -> Samples:
        """The samples' statistics (sorted once, on first use)."""
        return Samples(self.samples_ms)

    def quantile(self, q: float) -> float:
        return self.sample_stats.quantile(q)

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def mean(self) -> float:
        return self.sample_stats.mean

    @property
    def cv(self) -> float:
        return self.sample_stats.cv

    @property
    def iqr(self) -> float:
        return self.sample_stats.iqr

    @property
    def noisy(self) -> bool:
        return self.cv > NOISE_CV

    def noise_reasons(self) -> list[str]:
        """Why this number may not be trusted: each reason with the numbers that show it; empty when none applies."""
        reasons = []
        got = self.sample_stats.rse
        if self.stopped == "time" and got > self.target_rse:
            reasons.append(f"time limit reached before the precision target (RSE {got:.2%} > {self.target_rse:.2%} "
                           f"after {self.n} samples)")
        device_us = self.block_ms_per_iter * 1e3
        if self.clock == "cuda_event" and self.host_loop_us >= HOST_BOUND * device_us:
            reasons.append(f"host-bound: the host needs {self.host_loop_us:.1f} us per iteration to enqueue, the device "
                           f"{device_us:.1f} us wall per iteration: the device waits on the host")
        if self.noisy and not reasons:
            reasons.append(f"CV {self.cv:.1%} over {NOISE_CV:.1%} with neither a host bound nor an early stop: clock, "
                           "placement or a neighbour's load changed during the run")
        return reasons

    def stats(self) -> dict[str, float]:
        """The samples' summary (``Samples.summary``), then how they were taken."""
        return {
            **self.sample_stats.summary(),
            "block_ms_per_iter": self.block_ms_per_iter, "first_call_ms": self.first_call_ms,
            "host_loop_us": self.host_loop_us, "iters_per_sample": float(self.iters_per_sample),
        }


def _stop(samples: list[float], spec: TimingSpec, deadline: float) -> str:
    if len(samples) >= spec.max_samples:
        return "max_samples"
    if len(samples) >= spec.min_samples:
        if rse(samples) < spec.target_rse:
            return "target"
        if time.perf_counter() > deadline:
            return "time"
    return ""


def measure(fn: Callable[[], Any], spec: TimingSpec, *, cuda_stream: Any = None) -> Measurement:
    """Time ``fn``. With ``cuda_stream`` (a torch.cuda.Stream): everything, warm-up included, runs with that
    stream current, and CUDA events are recorded on it."""
    if cuda_stream is None:
        return _measure(fn, spec, None)
    import torch

    torch.cuda.synchronize()
    with torch.cuda.stream(cuda_stream):
        return _measure(fn, spec, cuda_stream)


def _measure(fn: Callable[[], Any], spec: TimingSpec, cuda_stream: Any) -> Measurement:
    t0 = time.perf_counter()
    fn()
    if cuda_stream is not None:
        cuda_stream.synchronize()
    first_ms = (time.perf_counter() - t0) * 1e3
    warm = 0
    start = time.perf_counter()
    while warm < spec.min_warmup_iters or time.perf_counter() - start < spec.warmup_s:
        fn()
        warm += 1
    if cuda_stream is not None:
        cuda_stream.synchronize()  # the warm-up backlog must not run into the first sample
        return _measure_cuda(fn, spec, cuda_stream, warm, first_ms)
    return _measure_host(fn, spec, warm, first_ms)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The garbage collector stays off inside a timed round (a collection pause would land in a sample)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _measure_host(fn: Callable[[], Any], spec: TimingSpec, warm: int, first_ms: float) -> Measurement:
    samples: list[float] = []
    deadline = time.perf_counter() + spec.max_time_s
    clock = time.perf_counter
    stopped = ""
    t_loop = clock()
    with _no_gc():
        while not stopped:
            t = clock()
            fn()
            samples.append((clock() - t) * 1e3)
            stopped = _stop(samples, spec, deadline)
    loop_us = (clock() - t_loop) / len(samples) * 1e6
    return Measurement(tuple(samples), "host", warm, first_ms, statistics.fmean(samples), stopped, False, loop_us,
                       target_rse=spec.target_rse)


class _L2Flush:
    """Writes twice the L2 size on the stream: the next iteration starts with a cold L2."""

    def __init__(self, stream: Any) -> None:
        import torch

        l2 = torch.cuda.get_device_properties(stream.device).L2_cache_size
        self.buf = torch.empty(2 * l2 // 4 + 1, dtype=torch.float32, device=stream.device)

    def __call__(self) -> None:
        self.buf.fill_(1.0)


def iters_per_sample(per_iter_ms: float) -> int:
    """1 for an iteration of ``BATCH_BELOW_MS`` or more; else enough iterations for a sample of ``BATCH_TARGET_MS``."""
    if per_iter_ms >= BATCH_BELOW_MS:
        return 1
    return max(2, math.ceil(BATCH_TARGET_MS / max(per_iter_ms, 1e-6)))


def _probe_per_iter_ms(fn: Callable[[], Any], stream: Any, iters: int = 20) -> float:
    """Device wall time per iteration over ``iters`` back-to-back calls between one event pair."""
    import torch

    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
    a.record(stream)
    for _ in range(iters):
        fn()
    b.record(stream)
    stream.synchronize()
    return float(a.elapsed_time(b)) / iters


def _measure_cuda(fn: Callable[[], Any], spec: TimingSpec, stream: Any, warm: int, first_ms: float) -> Measurement:
    import torch

    flush = _L2Flush(stream) if spec.cold_l2 else None
    per_sample = 1 if spec.cold_l2 or not spec.batch else iters_per_sample(_probe_per_iter_ms(fn, stream))
    samples: list[float] = []
    block_ms = block_iters = loop_s = 0.0
    deadline = time.perf_counter() + spec.max_time_s
    n = spec.min_samples
    stopped = ""
    with torch.cuda.stream(stream):
        while not stopped:
            n = min(n, spec.max_samples - len(samples))
            events = [torch.cuda.Event(enable_timing=True) for _ in range(2 * n + 2)]  # type: ignore[no-untyped-call]
            for e in events:  # torch creates the CUDA event at its first record: do that outside the timed round
                e.record(stream)
            stream.synchronize()
            with _no_gc():
                for _ in range(LEAD_IN):  # untimed: the device has work queued while the host enqueues the first sample
                    fn()
                t_loop = time.perf_counter()
                events[-2].record(stream)
                for i in range(n):
                    if flush is not None:
                        flush()
                    events[2 * i].record(stream)
                    for _ in range(per_sample):
                        fn()
                    events[2 * i + 1].record(stream)
                events[-1].record(stream)
                loop_s += time.perf_counter() - t_loop
            stream.synchronize()
            samples.extend(events[2 * i].elapsed_time(events[2 * i + 1]) / per_sample for i in range(n))
            block_ms += events[-2].elapsed_time(events[-1])
            block_iters += n * per_sample
            stopped = _stop(samples, spec, deadline)
            n = max(n, len(samples))  # double the samples each round
    return Measurement(tuple(samples), "cuda_event", warm, first_ms, block_ms / block_iters, stopped, spec.cold_l2,
                       loop_s / block_iters * 1e6, per_sample, spec.target_rse)
