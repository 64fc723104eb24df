"""One runtime-cache phase in a fresh process: ``python -m harness.children.cache_child SPEC_JSON``.

A cache hit is only a hit when a process that never saw the model finds it on disk, so every phase
(cold, warm, corrupt) is its own process. It prints one JSON line: the evidence the verdicts in
``harness.expect.cache`` read, the first-inference latency, and whether the output met the accuracy rule.

- ``compile``: ``torch.compile`` with ``TORCHINDUCTOR_CACHE_DIR`` set to the spec's directory before torch
  is imported; evidence = inductor's FX-graph and AOTAutograd cache counters.
- ``trt_rtx``: the native adapter with a runtime cache file; evidence = the file's size read before the load,
  load status, bytes the library's cache holds right after deserialize, cache size after the first forward;
  the cache is saved at the end, as an autosave would.
- ``torch_trt``: Torch-TensorRT's implicit cache handle; evidence = the file's size and digest, the bytes the
  handle holds before the first forward, the size and digest of the live cache after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import UnknownChoiceError
from harness.vocab import CACHE_VARIANTS

if TYPE_CHECKING:
    from torch_tensorrt.runtime._runtime_cache import RuntimeCache


@dataclass(frozen=True)
class CacheRun:
    backend: str
    model: str
    shapes: str
    device: str
    cache_path: str  # inductor: a directory; trt_rtx: the cache file
    build_dir: str = ".harness-cache"  # where the trt_rtx engine is cached (built once, shared by phases)

    def __post_init__(self) -> None:
        if self.backend not in CACHE_VARIANTS:
            raise UnknownChoiceError("runtime-cache backend", self.backend, CACHE_VARIANTS)


def child_env() -> dict[str, str]:
    """This environment, with the harness importable in a child ``python -m harness.<module>``."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                         os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def run_json_child(module: str, payload: str, env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """``python -m MODULE PAYLOAD`` in a fresh process; its last JSON line, with the process's wall time. A crash or
    a timeout comes back as ``{"error": ...}``, never as missing numbers."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", module, payload], env=env, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    out: dict[str, Any] = json.loads(lines[-1])
    out["process_s"] = time.perf_counter() - t0
    return out


def run_phase(spec: CacheRun, timeout_s: float = 900) -> dict[str, Any]:
    """Run one phase in a fresh process."""
    env = child_env()
    if spec.backend == "compile":
        env["TORCHINDUCTOR_CACHE_DIR"] = spec.cache_path
    return run_json_child("harness.children.cache_child", json.dumps(asdict(spec)), env, timeout_s)


def _first_call(runner: Any, x: Any, device: str) -> tuple[Any, float]:
    import torch

    t0 = time.perf_counter()
    with torch.inference_mode():
        y = runner(x)
    if device == "cuda":
        torch.cuda.synchronize()
    return y, (time.perf_counter() - t0) * 1e3


def _compile(spec: CacheRun) -> dict[str, Any]:
    import torch
    from torch._dynamo.utils import counters

    from models import get_model

    model = get_model(spec.model)
    x = model.make_input(model.input.static_batch, device=spec.device)
    compiled = torch.compile(model.build().to(spec.device), dynamic=spec.shapes == "dynamic")
    y, first_ms = _first_call(compiled, x, spec.device)
    acc = model.accuracy.check(y, model.reference(x.cpu()))
    return {**{k: int(v) for k, v in counters["inductor"].items() if "cache" in k},
            **{k: int(v) for k, v in counters["aot_autograd"].items() if "cache" in k},
            "first_call_ms": first_ms, "accuracy_ok": acc.ok, "accuracy": acc.why,
            "cache_files": sum(1 for p in Path(spec.cache_path).rglob("*") if p.is_file())}


def _file_evidence(path: str) -> dict[str, Any]:
    """The cache file as it is on disk before the phase loads it: size and digest, read here, not by the adapter."""
    import hashlib

    data = Path(path).read_bytes() if Path(path).exists() else b""
    return {"file_bytes": len(data), "file_sha": hashlib.sha256(data).hexdigest()[:16]}


def _trt_rtx(spec: CacheRun) -> dict[str, Any]:
    from harness.backends.base import BuildConfig, RunSettings
    from harness.backends.trt_rtx import TrtRtxBackend
    from models import get_model

    model = get_model(spec.model)
    backend = TrtRtxBackend(Path(spec.build_dir))
    cfg = BuildConfig("trt_rtx", spec.model, spec.shapes, "cuda")  # type: ignore[arg-type]
    disk = _file_evidence(spec.cache_path)
    runner = backend.load_engine(backend.build(model, cfg), RunSettings(runtime_cache=spec.cache_path))
    x = model.make_input(model.input.static_batch, device="cuda")
    y, first_ms = _first_call(runner, x, "cuda")
    acc = model.accuracy.check(y, model.reference(x.cpu()))
    after = runner.cache_bytes()
    return {**disk, "load_status": runner.cache_load.status if runner.cache_load else "none",
            "loaded_bytes": runner.loaded_bytes,  # what the library's cache serializes right after deserialize
            "cache_bytes_after": after, "saved_bytes": runner.save_cache(), "first_call_ms": first_ms,
            "accuracy_ok": acc.ok, "accuracy": acc.why}


def _pending_bytes(handle: RuntimeCache) -> int:
    """Bytes the module's cache handle holds before the first forward (the warm-start signal). C++ runtime: the
    torchbind handle serializes them; Python handle: ``_pending_warm_bytes``, ``bytes | None`` (W14
    ``runtime/_runtime_cache.py:103,128``), whose ``serialize()`` is empty until materialized (:106-116)."""
    from torch_tensorrt.runtime._runtime_cache import _RuntimeCacheHandle

    inner = handle._handle
    if not isinstance(inner, _RuntimeCacheHandle):  # the C++ runtime's torchbind handle
        return int(inner.serialize().numel())
    pending = inner._pending_warm_bytes
    return len(pending) if pending is not None else 0


def _torch_trt(spec: CacheRun) -> dict[str, Any]:
    """Torch-TensorRT's implicit per-module cache handle. A corrupt file is not rejected by the library: it holds
    the raw bytes and ignores them silently when it drains them (W14 ``runtime/_runtime_cache.py:146-148``), so a
    corrupt start shows as a cache whose contents after the first forward are not the file's."""
    import hashlib

    from harness.backends.base import BuildConfig, RunSettings
    from harness.backends.torch_trt import TorchTrtBackend
    from models import get_model

    model = get_model(spec.model)
    backend = TorchTrtBackend(Path(spec.build_dir))
    cfg = BuildConfig("torch_trt", spec.model, spec.shapes, "cuda")  # type: ignore[arg-type]
    disk = _file_evidence(spec.cache_path)
    runner = backend.load(backend.build(model, cfg), RunSettings(runtime_cache=spec.cache_path))
    handle = runner.trt_modules()[0]._implicit_cache_handle
    if handle is None:
        raise RuntimeError(f"the module attached no runtime cache for {spec.cache_path}")
    pending = _pending_bytes(handle)
    x = model.make_input(model.input.static_batch, device="cuda")
    y, first_ms = _first_call(runner, x, "cuda")
    acc = model.accuracy.check(y, model.reference(x.cpu()))
    live = bytes(handle._handle.serialize().cpu().numpy()) if handle.has_cache() else b""
    handle.save()
    return {**disk, "runtime": runner.runtime(), "loaded_bytes": pending, "cache_bytes_after": len(live),
            "cache_sha_after": hashlib.sha256(live).hexdigest()[:16], "first_call_ms": first_ms,
            "accuracy_ok": acc.ok, "accuracy": acc.why}


PHASES = {"compile": _compile, "trt_rtx": _trt_rtx, "torch_trt": _torch_trt}


def main(raw: str) -> int:
    spec = CacheRun(**json.loads(raw))
    try:
        out = PHASES[spec.backend](spec)
    except Exception as exc:  # reported, never a traceback in place of the evidence
        from harness.errors import CapabilityMissing

        key = "unavailable" if isinstance(exc, CapabilityMissing) else "error"
        out = {key: f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
