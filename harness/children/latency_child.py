"""Latency of one build config in a fresh process: ``python -m harness.children.latency_child SPEC_JSON``.

A graph-mode latency measured inside the pytest process is not what a user's process sees: with another CUDA
graph of the same model alive in the process, a torchvision resnet18 graph replays 5.7 % slower at batch 8 on an
H100 (``.ci/gpu-gap.py``, variant ``runner_then_plain``), and the suites build many. So each graph-mode latency cell
runs here, in a process that builds only its own runner: the state a user's inference process has. The child
checks each batch's output against the fp32 reference, times it with the harness's engine (the runner's
``bind``: a bare replay, the input already in place) and prints one JSON line; each measurement in it is the
``Measurement`` as ``dataclasses.asdict`` writes it (``Measurement.from_dict`` reads it back).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.children.cache_child import child_env, run_json_child
from harness.timing import TimingSpec

# The variants measured in a fresh process on a GPU (harness.vocab.FRESH_VARIANTS): those that replay CUDA graphs
# (PyTorch's, inductor's or TensorRT-RTX's own). Eager and default torch.compile are host-bound launches, measured in
# the pytest process.
STATE_FRESH = "fresh process per build config"
STATE_SHARED = "pytest process"


@dataclass(frozen=True)
class LatencyRun:
    model: str
    variant: str
    shapes: str
    batches: tuple[int, ...]
    timing: dict[str, Any]  # a TimingSpec as a dict
    cache_dir: str = ".harness-cache"
    device: str = "cuda"


def run_fresh(spec: LatencyRun, timeout_s: float = 600) -> dict[str, Any]:
    """One fresh process; a crash or timeout comes back as ``{"error": ...}``, never as missing numbers."""
    return run_json_child("harness.children.latency_child", json.dumps(asdict(spec)), child_env(), timeout_s)


def _measure(spec: LatencyRun) -> dict[str, Any]:
    import torch

    from harness.backends.base import RunSettings, timed_call
    from harness.backends.registry import make_backend, variant_config
    from harness.timing import measure
    from models import get_model

    cfg = variant_config(spec.variant, spec.model, spec.shapes, spec.device)
    backend = make_backend(cfg.backend, Path(spec.cache_dir))
    backend.validate(cfg, RunSettings())
    model = get_model(spec.model)
    built = backend.build(model, cfg)
    runner = backend.load(built, RunSettings())
    timing = TimingSpec(**spec.timing)
    rows = []
    for batch in spec.batches:
        x = model.make_input(batch, device=spec.device)
        acc = model.accuracy.check(runner(x), model.reference(x.cpu()))
        row: dict[str, Any] = {"batch": batch, "cosine": acc.cosine, "max_abs": acc.max_abs, "ok": acc.ok, "why": acc.why}
        if acc.ok:
            fn = timed_call(runner, x)
            stream = torch.cuda.current_stream() if spec.device == "cuda" else None
            row["measurement"] = asdict(measure(fn, timing, cuda_stream=stream))
        rows.append(row)
    return {"build_s": built.build_s, "from_disk_cache": built.from_disk_cache, "rows": rows, "ran": runner.describe()}


def main(raw: str) -> int:
    spec = LatencyRun(**{**json.loads(raw), "batches": tuple(json.loads(raw)["batches"])})
    try:
        out = _measure(spec)
    except Exception as exc:  # reported, never a traceback in place of the numbers
        from harness.errors import CapabilityMissing

        out = {"unavailable" if isinstance(exc, CapabilityMissing) else "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
