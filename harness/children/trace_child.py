"""A traced run in a fresh process: ``python -m harness.children.trace_child SPEC.json OUT.trace.json CACHE_DIR``.

CUPTI starts before CUDA does, NVTX reaches CUPTI through ``NVTX_INJECTION64_PATH`` (set by
``run_traced`` before the process starts), and the run is: build, warm up (outside any checked range),
then one checked range ``replay <case> [expect <mode> sms=<N>]`` that opens with the ``%smid`` probe on
the bound stream and runs the model ``iters`` times. Negative controls make the run deliberately wrong (``side_capture``
through its build option alone: a graph captured on a side stream).
Builds (engines, ONNX) are kept in ``CACHE_DIR``, the run's ``--harness-cache-dir``. On a machine without a GPU each
case records its error and the trace is still written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import UnknownChoiceError, UsageError
from harness.trace.model import Trace
from harness.vocab import CONTROLS


@dataclass(frozen=True)
class TraceSpec:
    model: str
    variant: str  # a harness.config.VARIANTS key
    shapes: str
    mode: str  # a stream mode: default, caller, external, green<N>, torchgreen<N>
    control: str = "none"
    iters: int = 5
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.control not in CONTROLS:
            raise UnknownChoiceError("negative control", self.control, CONTROLS)
        if self.control == "side_capture" and (self.variant != "cudagraph" or ("capture", "side") not in self.extra):
            raise UsageError("negative control side_capture", (self.variant, self.extra),
                             "needs the cudagraph variant with the build option capture=side (the fault it names)",
                             "pass variant 'cudagraph' and extra=(('capture', 'side'),)")

    @property
    def case_id(self) -> str:
        ctl = "" if self.control == "none" else f"-control={self.control}"
        extra = "".join(f"-{k}={v}" for k, v in self.extra)
        return f"{self.model}-{self.shapes[:3]}-{self.variant}{extra}-stream={self.mode}{ctl}"


def libcupti_path() -> str | None:
    try:
        import nvidia
    except ImportError:
        return None
    hits = sorted(str(p) for d in nvidia.__path__ for p in Path(d).rglob("libcupti.so*"))
    return hits[0] if hits else None


def run_traced(specs: list[TraceSpec], out: Path, cache_dir: Path, timeout_s: float = 420) -> Trace:
    """Run every spec, each in its own checked range, in one traced child process that keeps its builds in
    ``cache_dir``."""
    lib = os.environ.get("NVTX_INJECTION64_PATH") or libcupti_path()
    if not lib:
        raise RuntimeError("libcupti not found (nvidia-cuda-cupti): NVTX ranges cannot reach CUPTI")
    spec_path = out.with_name(out.name.replace(".trace.json", "") + ".specs.json")
    spec_path.write_text(json.dumps([asdict(s) for s in specs]))
    env = {**os.environ, "NVTX_INJECTION64_PATH": lib}
    argv = [sys.executable, "-m", "harness.children.trace_child", str(spec_path), str(out), str(cache_dir)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"traced child exited {proc.returncode}: {proc.stderr[-3000:]}")
    return Trace.load(out)


_BUILT: dict[Any, Any] = {}


def _runner(spec: TraceSpec, cache_dir: Path) -> Any:
    from harness.backends.controls import DefaultStreamRunner, SideStreamRunner
    from harness.backends.registry import make_backend, variant_config
    from models import get_model

    cfg = variant_config(spec.variant, spec.model, spec.shapes, "cuda", spec.extra)
    backend = make_backend(cfg.backend, cache_dir)
    from harness.backends.base import RunSettings

    backend.validate(cfg, RunSettings())
    if cfg not in _BUILT:  # one build per config in this child; each spec gets its own runner
        _BUILT[cfg] = backend.build(get_model(spec.model), cfg)
    runner = backend.load(_BUILT[cfg], RunSettings())
    if spec.control == "side_stream":
        return SideStreamRunner(runner)
    if spec.control == "default_stream":
        return DefaultStreamRunner(runner)
    return runner


def _run_one(spec: TraceSpec, cache_dir: Path) -> dict[str, Any]:
    import torch

    from harness import nvtx_ranges, smid
    from harness.green import partition
    from harness.streams import StreamMode, open_stream
    from models import get_model

    mode = StreamMode.parse(spec.mode)
    actual = mode
    if spec.control == "fewer_sms":
        if mode.sms is None:
            raise UnknownChoiceError("stream mode for control fewer_sms", spec.mode, ("green<N>", "torchgreen<N>"))
        actual = StreamMode(f"{mode.kind}{max(1, mode.sms // 2)}", mode.kind, max(1, mode.sms // 2))
    model = get_model(spec.model)
    runner = _runner(spec, cache_dir)
    x = model.make_input(model.input.static_batch, device="cuda")
    with open_stream(actual) as b, torch.cuda.stream(b.stream):
        claim = b.granted_sms
        if spec.control == "fewer_sms":
            with partition(mode.sms or 1) as full:  # what a correct green<N> would have been granted
                claim = full.granted
        with nvtx_ranges.phase("warmup", spec.case_id):
            for _ in range(3):
                runner(x)
            b.stream.synchronize()
        with nvtx_ranges.always("replay", spec.case_id, mode.name, claim if mode.sms else None):
            seen = smid.probe(b.stream)
            outs = [runner(x) for _ in range(spec.iters)]
            b.stream.synchronize()
        acc = model.accuracy.check(outs[-1], model.reference(x.cpu()))
    return {"spec": asdict(spec), "requested_sms": mode.sms, "granted_sms": b.granted_sms, "claimed_sms": claim,
            "probe_distinct_sms": seen.distinct, "probe_blocks": seen.blocks, "accuracy_ok": acc.ok,
            "accuracy": acc.why, "ran": runner.describe()}


def main(spec_path: str, out_path: str, cache_dir: str) -> int:
    from harness.trace.cupti_collect import CuptiCollector

    # HARNESS_CUPTI=0: run under another tracer (nsys), which owns CUPTI; the ranges and probe stay.
    collector = CuptiCollector().start() if os.environ.get("HARNESS_CUPTI", "1") != "0" else None
    import torch

    specs = []
    for raw in json.loads(Path(spec_path).read_text()):
        raw["extra"] = tuple(tuple(kv) for kv in raw.get("extra", ()))
        specs.append(TraceSpec(**raw))
    cases = {}
    for spec in specs:
        try:
            cases[spec.case_id] = _run_one(spec, Path(cache_dir))
        except Exception as exc:  # one broken cell must not lose the others' ranges
            cases[spec.case_id] = {"spec": asdict(spec), "error": f"{type(exc).__name__}: {exc}"}
    gpu = torch.cuda.is_available()
    if gpu:
        torch.cuda.synchronize()
    trace = collector.stop() if collector is not None else Trace("none")
    trace.meta.update({"cases": cases, "device": torch.cuda.get_device_name() if gpu else "cpu (no CUDA device)",
                       "sm_count": torch.cuda.get_device_properties(0).multi_processor_count if gpu else 0})
    trace.save(Path(out_path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
