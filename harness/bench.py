"""Benchmarks of the timing engine itself (``python -m harness bench``): they print numbers, they are not tests.

1. Fidelity: the harness's resnet18 CUDA-graph latency cell (a fresh process per build config,
   ``harness.children.latency_child``) against the loop a user would write (``harness/children/reference_loop.py``: a
   fresh process that imports nothing from the harness and builds its own torchvision model), alternating, at batch 1,
   4 and 8 (target within +-1 %).
2. Host overhead the harness adds per timed iteration, host clock and CUDA events (target <= 0.5 us).
3. Graph-mode noise: within-run CV (target <= 0.5 %) and between-process CV of p50 over 5 fresh
   processes (target <= 1 %).
4. The same for eager mode, reported.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from harness.backends.base import timed_call
from harness.stats import Samples
from harness.timing import TimingSpec, measure

SPEC = TimingSpec(warmup_s=0.5, min_samples=200, max_samples=4000, max_time_s=3.0, target_rse=0.0005)


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    target: str
    ok: bool | None  # None: reported, no target

    def line(self) -> str:
        status = {True: "meets", False: "MISSES", None: "reported"}[self.ok]
        return f"{self.name:<58} {self.value:>12.4f} {self.unit:<4} {self.target:>10}  {status}"


def _runner(mode: str, batch: int) -> tuple[Any, Any, Any]:
    import torch

    from harness.backends.base import BuildConfig, RunSettings
    from harness.backends.torch_backends import CudaGraphBackend, EagerBackend
    from models import get_model

    model = get_model("resnet18")
    backend = CudaGraphBackend() if mode == "graph" else EagerBackend()
    cfg = BuildConfig("cudagraph" if mode == "graph" else "eager", "resnet18", "dynamic", "cuda")
    runner = backend.load(backend.build(model, cfg), RunSettings())
    stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
    x = model.make_input(batch, device="cuda")
    with torch.cuda.stream(stream):
        runner(x)
    stream.synchronize()
    return runner, stream, x


def one(mode: str, batch: int) -> dict[str, float]:
    """One measurement in this process: p50, CV, block mean (ms)."""
    runner, stream, x = _runner(mode, batch)
    m = measure(timed_call(runner, x), SPEC, cuda_stream=stream)
    worst = max(range(m.n), key=m.samples_ms.__getitem__)
    return {"p50": m.quantile(0.5), "cv": m.cv, "block": m.block_ms_per_iter, "n": float(m.n), "p99": m.quantile(0.99),
            "max": m.samples_ms[worst], "argmax": float(worst)}


def reference_p50(batch: int) -> float:
    """p50 of the user's loop, in a fresh process that imports nothing from the harness."""
    from pathlib import Path

    script = Path(__file__).parent / "children" / "reference_loop.py"
    out = subprocess.run([sys.executable, str(script), str(batch)], capture_output=True, text=True, timeout=300, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["p50"])


def harness_p50(batch: int) -> float:
    """p50 of the harness's resnet18 CUDA-graph latency cell, measured as the suite measures it."""
    from dataclasses import asdict

    from harness.children.latency_child import LatencyRun, run_fresh

    out = run_fresh(LatencyRun("resnet18", "cudagraph", "dynamic", (batch,), asdict(SPEC)))
    if "error" in out:
        raise RuntimeError(f"harness latency process: {out['error']}")
    return Samples(out["rows"][0]["measurement"]["samples_ms"]).p50


def fidelity(batch: int, rounds: int = 2) -> list[Row]:
    ours, theirs = [], []
    for _ in range(rounds):  # alternating: a drift of the machine lands on both sides
        ours.append(harness_p50(batch))
        theirs.append(reference_p50(batch))
    h, r = statistics.median(ours), statistics.median(theirs)
    d = (h / r - 1) * 100
    return [Row(f"fidelity b{batch}: harness {'/'.join(f'{v:.4f}' for v in ours)} vs user loop "
                f"{'/'.join(f'{v:.4f}' for v in theirs)} ms (p50)", d, "%", "+-1 %", abs(d) <= 1)]


def host_overhead(n: int = 20000) -> list[Row]:
    """Host time the timed loop adds per iteration around a call that does nothing: the engine's own
    in-loop clock minus a bare loop of the same calls (event creation and priming, outside the loop, excluded)."""
    import torch

    def noop() -> None:
        return None

    t = time.perf_counter()
    for _ in range(n):
        noop()
    bare_us = (time.perf_counter() - t) / n * 1e6
    spec = TimingSpec(warmup_s=0.0, min_samples=n, max_samples=n, max_time_s=60, target_rse=1e-9)
    single = TimingSpec(warmup_s=0.0, min_samples=n, max_samples=n, max_time_s=60, target_rse=1e-9, batch=False)
    host = measure(noop, spec).host_loop_us - bare_us
    stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
    batched = measure(noop, spec, cuda_stream=stream)
    pair = measure(noop, single, cuda_stream=stream).host_loop_us - bare_us
    return [Row("host overhead per timed iteration, host clock", host, "us", "<= 0.5 us", host <= 0.5),
            Row(f"host overhead per iteration, batched CUDA events ({batched.iters_per_sample} per pair)",
                batched.host_loop_us - bare_us, "us", "<= 0.5 us", batched.host_loop_us - bare_us <= 0.5),
            Row("host cost of one torch CUDA event pair (the floor below which iterations are batched)", pair, "us",
                "-", None)]


def between_process_cv_pct(p50s: list[float]) -> float:
    """CV (%) of the p50s of fresh processes: ``harness.stats.Samples.cv``, the statistic a measurement's own CV is."""
    return Samples(p50s).cv * 100


def noise(mode: str, processes: int = 5) -> list[Row]:
    w = one(mode, 8)
    within = w["cv"] * 100
    print(f"{mode} b8 in-process: p50 {w['p50']:.4f} p99 {w['p99']:.4f} max {w['max']:.4f} ms at sample "
          f"{int(w['argmax'])} of {int(w['n'])}, block {w['block']:.4f} ms", flush=True)
    p50s = []
    for _ in range(processes):
        out = subprocess.run([sys.executable, "-m", "harness.bench", "--one", mode, "8"], capture_output=True, text=True,
                             timeout=300, check=True)
        p50s.append(json.loads(out.stdout.strip().splitlines()[-1])["p50"])
    between = between_process_cv_pct(p50s)
    graph = mode == "graph"
    return [Row(f"{mode}: within-run CV, resnet18 b8", within, "%", "<= 0.5 %" if graph else "-", within <= 0.5 if graph else None),
            Row(f"{mode}: between-process CV of p50 over {processes} processes "
                f"({', '.join(f'{p:.4f}' for p in p50s)} ms)", between, "%", "<= 1 %" if graph else "-",
                between <= 1 if graph else None)]


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        print("harness bench needs a CUDA GPU: torch.cuda.is_available() is False")
        return 2
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}  spec {SPEC}", flush=True)
    rows = [*fidelity(1), *fidelity(4), *fidelity(8), *host_overhead(), *noise("graph"), *noise("eager")]
    print(f"\n{'benchmark':<58} {'value':>12} {'unit':<4} {'target':>10}  status")
    for r in rows:
        print(r.line())
    print("Units: % = relative difference or coefficient of variation; us = microseconds per iteration; ms = milliseconds.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]))))
        sys.exit(0)
    sys.exit(main())
