"""Where does the harness's graph-replay latency gap come from? Each variant is a fresh process timing a torchvision
resnet18 (weights=None, seeded, eval, inference_mode) CUDA-graph replay at batch 8: 3 warm-up calls, capture on a side
stream, 2 s of replays, then 3,000 replays each between its own pair of CUDA events; p50 in ms. The variants add one
piece of the harness process's state at a time. Usage: python3 .ci/gpu-gap.py [ROUNDS]"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r'''
import os, sys, time, json
variant = sys.argv[1]
import torch, torchvision
if variant in ("nvtx_range", "nvtx_range_inject"):
    import nvtx
    nvtx.push_range("x"); nvtx.pop_range()
if variant == "cupti_loaded":
    from cupti import cupti
    cupti.get_timestamp()
if variant == "harness_probe":
    sys.path.insert(0, os.getcwd())
    from harness.probe import run_probe
    run_probe()
if variant == "harness_import":
    sys.path.insert(0, os.getcwd())
    import harness.fixture, harness.timing, harness.streams  # noqa
torch.manual_seed(0)
if variant == "harness_model":
    sys.path.insert(0, os.getcwd())
    from models import get_model
    m = get_model("resnet18").build().cuda().eval()
else:
    m = torchvision.models.resnet18(weights=None).cuda().eval()
x = torch.randn(8, 3, 224, 224, device="cuda")
if variant in ("runner_then_plain", "runner_graph_only"):
    sys.path.insert(0, os.getcwd())
    from harness.backends.torch_backends import CudaGraphRunner
    r = CudaGraphRunner(m, "side")
    with torch.inference_mode():
        r(x)
    if variant == "runner_graph_only":  # the runner's own graph, replayed without the input copy
        g_runner = next(iter(r.graphs.values()))[0]
if variant == "harness_runner":
    sys.path.insert(0, os.getcwd())
    from harness.backends.torch_backends import CudaGraphRunner
    from harness.timing import TimingSpec, measure
    r = CudaGraphRunner(m, "side")
    with torch.inference_mode():
        r(x)
        meas = measure(lambda: r(x), TimingSpec(warmup_s=2.0, min_samples=3000, max_samples=3000, max_time_s=60),
                       cuda_stream=torch.cuda.current_stream())
    print(json.dumps({"variant": variant, "p50": meas.quantile(0.5)}))
    sys.exit(0)
with torch.inference_mode():
    s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3): m(x)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        y = m(x)
if variant == "runner_graph_only":
    g = g_runner
static_in = x.clone()
step = (lambda: (static_in.copy_(x), g.replay())) if variant == "plain_with_copy" else g.replay
t_end = time.perf_counter() + 2.0
while time.perf_counter() < t_end:
    step()
torch.cuda.synchronize()
n = 3000
ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n)]
for a, b in ev:
    a.record(); step(); b.record()
torch.cuda.synchronize()
ms = sorted(a.elapsed_time(b) for a, b in ev)
if variant == "harness_measure":
    sys.path.insert(0, os.getcwd())
    from harness.timing import TimingSpec, measure
    meas = measure(g.replay, TimingSpec(warmup_s=2.0, min_samples=3000, max_samples=3000, max_time_s=60),
                   cuda_stream=torch.cuda.current_stream())
    ms = sorted(meas.samples_ms)
print(json.dumps({"variant": variant, "p50": ms[n // 2], "p10": ms[n // 10], "p90": ms[9 * n // 10]}))
'''

VARIANTS = ["plain", "nvtx_range", "nvtx_range_inject", "cupti_loaded", "harness_import", "harness_probe",
            "harness_model", "harness_measure", "harness_runner", "plain_with_copy", "runner_then_plain",
            "runner_graph_only"]
if os.environ.get("GAP_VARIANTS"):
    VARIANTS = os.environ["GAP_VARIANTS"].split(",")


def libcupti() -> str:
    import nvidia

    return str(sorted(p for d in nvidia.__path__ for p in Path(d).rglob("libcupti.so*"))[0])


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    inject = libcupti()
    rows: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for v in VARIANTS:
            env = {k: val for k, val in os.environ.items() if k != "NVTX_INJECTION64_PATH"}
            if v == "nvtx_range_inject" or v == "harness_probe_inject":
                env["NVTX_INJECTION64_PATH"] = inject
            out = subprocess.run([sys.executable, "-c", CHILD, v], env=env, capture_output=True, text=True, timeout=300)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
            if not line:
                print(v, "FAILED", out.stderr[-800:])
                continue
            rows[v].append(json.loads(line[-1])["p50"])
    base = sorted(rows["plain"])[len(rows["plain"]) // 2] if rows["plain"] else float("nan")
    print(f"{'variant':22} {'p50 ms per round':40} vs plain")
    for v, xs in rows.items():
        med = sorted(xs)[len(xs) // 2] if xs else float("nan")
        print(f"{v:22} {' '.join(f'{x:.4f}' for x in xs):40} {100 * (med / base - 1):+.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
