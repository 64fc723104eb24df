"""Capability probe: what this machine can run, and for every "no" the precise reason.

Each component's answer is decided by the component itself (a TensorRT-RTX engine is built and
deserialized, a green context is created, libcupti is loaded) and its own error text is kept.
``torch_tensorrt`` is imported only when a GPU is present, and then in a subprocess: the 2.14 import
queries the GPU and fails without one (W14 _utils.py:94-97).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.torchtrt_scan import scan_torch_tensorrt


@dataclass(frozen=True)
class Capability:
    """One yes/no answer: ``detail`` says what was found, ``reason`` why not (empty when ok)."""

    name: str
    ok: bool
    detail: str = ""
    reason: str = ""


@dataclass(frozen=True)
class GpuInfo:
    name: str
    compute_capability: tuple[int, int]
    sm_count: int
    total_memory_gib: float
    driver_version: str
    cuda_driver_api: str
    torch_cuda: str


@dataclass(frozen=True)
class EnvReport:
    """Everything the probe found. Serialises to JSON and back (``from_dict``)."""

    host: str
    python: str
    torch_version: str
    gpu: GpuInfo | None
    capabilities: tuple[Capability, ...]
    torch_tensorrt: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def cap(self, name: str) -> Capability:
        for c in self.capabilities:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnvReport:
        gpu = d.get("gpu")
        return cls(
            host=d["host"],
            python=d["python"],
            torch_version=d["torch_version"],
            gpu=GpuInfo(**{**gpu, "compute_capability": tuple(gpu["compute_capability"])}) if gpu else None,
            capabilities=tuple(Capability(**c) for c in d["capabilities"]),
            torch_tensorrt=d.get("torch_tensorrt", {}),
            elapsed_s=d.get("elapsed_s", 0.0),
        )


def _pkg_version(*dists: str) -> str | None:
    for dist in dists:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            continue
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def probe_gpu() -> tuple[GpuInfo | None, Capability]:
    import torch

    if torch.version.cuda is None:
        return None, Capability("gpu", False, reason=f"torch {torch.__version__} is a CPU-only build")
    try:
        torch.cuda.init()  # type: ignore[no-untyped-call]
    except Exception as exc:  # torch's own message, e.g. "Found no NVIDIA driver on your system"
        return None, Capability("gpu", False, reason=_one_line(exc))
    if torch.cuda.device_count() == 0:
        return None, Capability("gpu", False, reason="CUDA initialised but torch.cuda.device_count() is 0")
    props = torch.cuda.get_device_properties(0)
    info = GpuInfo(
        name=props.name,
        compute_capability=(props.major, props.minor),
        sm_count=props.multi_processor_count,
        total_memory_gib=round(props.total_memory / 2**30, 1),
        driver_version=_nvidia_smi_driver() or "unknown",
        cuda_driver_api=_driver_api_version(),
        torch_cuda=str(torch.version.cuda),
    )
    detail = f"{info.name}, sm_{props.major}{props.minor}, {info.sm_count} SMs, {torch.cuda.device_count()} device(s)"
    return info, Capability("gpu", True, detail=detail)


def _nvidia_smi_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


def _driver_api_version() -> str:
    try:
        from cuda.bindings import driver

        err, ver = driver.cuDriverGetVersion()
        if int(err) == 0:
            return f"{ver // 1000}.{(ver % 1000) // 10}"
        return f"cuDriverGetVersion: {err}"
    except Exception as exc:
        return f"unknown ({_one_line(exc)})"


def probe_trt_rtx(gpu: GpuInfo | None) -> tuple[Capability, Capability]:
    """(builds, runs): build a one-layer engine, then let the library decide whether it runs here."""
    version = _pkg_version("tensorrt_rtx", "tensorrt-rtx", "tensorrt_rtx_cu13", "tensorrt_rtx_cu12")
    if importlib.util.find_spec("tensorrt_rtx") is None:
        reason = "tensorrt_rtx is not installed: pip install '.[rtx]'"
        return Capability("trt_rtx_build", False, reason=reason), Capability("trt_rtx_run", False, reason=reason)
    from harness.backends.trt_rtx_lib import tiny_engine_roundtrip

    try:
        built_bytes, run_error = tiny_engine_roundtrip()
    except Exception as exc:
        reason = f"tensorrt_rtx {version} failed to build a one-layer engine: {_one_line(exc)}"
        return Capability("trt_rtx_build", False, reason=reason), Capability("trt_rtx_run", False, reason=reason)
    if version is None:  # installed without dist-info (e.g. unpacked): the module knows its version
        import tensorrt_rtx

        version = str(getattr(tensorrt_rtx, "__version__", "unknown"))
    build = Capability("trt_rtx_build", True, detail=f"tensorrt_rtx {version}: one-layer engine {built_bytes} B")
    if run_error and gpu is None:  # the library's words here read like a version problem; the cause is no GPU
        return build, Capability("trt_rtx_run", False, detail=f"tensorrt_rtx {version} says: {run_error}",
                                 reason=f"no GPU: a TensorRT-RTX engine needs one to run (tensorrt_rtx {version} says: "
                                        f"{run_error})")
    if run_error:
        where = f" on {gpu.name} (sm_{gpu.compute_capability[0]}{gpu.compute_capability[1]})" if gpu else ""
        return build, Capability("trt_rtx_run", False, reason=f"tensorrt_rtx {version}{where}: {run_error}")
    return build, Capability("trt_rtx_run", True, detail=f"tensorrt_rtx {version}: engine deserialized")


def probe_torch_tensorrt(gpu: GpuInfo | None) -> tuple[Capability, dict[str, Any]]:
    version = _pkg_version("torch-tensorrt-rtx", "torch_tensorrt_rtx", "torch-tensorrt", "torch_tensorrt")
    spec = importlib.util.find_spec("torch_tensorrt")  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        return Capability(
            "torch_tensorrt", False,
            reason="torch_tensorrt is not installed: pip install '.[torchtrt]' (needs torch 2.14)",
        ), {}
    scan = scan_torch_tensorrt(next(iter(spec.submodule_search_locations)), version)
    info: dict[str, Any] = scan.to_dict()
    if gpu is None:
        info["import"] = "not attempted: no GPU (import torch_tensorrt queries the GPU and fails without one)"
        return Capability(
            "torch_tensorrt", False, detail=f"{version} installed, {scan.runtime} runtime",
            reason=f"torch_tensorrt {version} is installed but cannot be imported without a GPU",
        ), info
    err = _import_in_subprocess("torch_tensorrt")
    info["import"] = err or "ok"
    if err:
        return Capability("torch_tensorrt", False, detail=f"{version} installed", reason=err), info
    return Capability("torch_tensorrt", True, detail=f"{version}, {scan.runtime} runtime"), info


def _import_in_subprocess(module: str) -> str | None:
    code = f"import {module}"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return f"import {module} did not finish in 120 s"
    if proc.returncode == 0:
        return None
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return f"import {module} failed: {lines[-1] if lines else f'exit {proc.returncode}'}"


def probe_green_driver(gpu: GpuInfo | None) -> Capability:
    if importlib.util.find_spec("cuda") is None or importlib.util.find_spec("cuda.bindings") is None:
        return Capability("green_ctx_driver", False, reason="cuda-bindings is not installed: pip install '.[cuda]'")
    try:
        from harness.green import smallest_green_context_roundtrip

        granted = smallest_green_context_roundtrip()
    except Exception as exc:
        return Capability("green_ctx_driver", False, reason=_one_line(exc))
    return Capability("green_ctx_driver", True, detail=f"cuGreenCtxCreate ok; smallest split {granted} SMs")


def probe_green_torch(gpu: GpuInfo | None) -> Capability:
    import torch

    if importlib.util.find_spec("torch.cuda.green_contexts") is None:
        return Capability("green_ctx_torch", False, reason=f"torch {torch.__version__} has no torch.cuda.green_contexts")
    if gpu is None:
        return Capability("green_ctx_torch", False, reason="torch.cuda.green_contexts exists but there is no GPU")
    try:
        from torch.cuda.green_contexts import GreenContext

        torch.zeros(1, device="cuda")  # a primary context first, as torch's green contexts expect
        ctx = GreenContext.create(num_sms=8, device_id=0)
        del ctx
    except Exception as exc:
        return Capability("green_ctx_torch", False, reason=_one_line(exc))
    return Capability("green_ctx_torch", True, detail="GreenContext.create(num_sms=8) ok")


def probe_cupti(gpu: GpuInfo | None) -> Capability:
    if importlib.util.find_spec("cupti") is None:
        return Capability("cupti", False, reason="cupti-python is not installed: pip install '.[trace]'")
    version = _pkg_version("cupti-python", "cupti_python")
    try:
        from cupti import cupti

        cupti.get_timestamp()  # loads libcupti
    except Exception as exc:
        return Capability("cupti", False, reason=f"cupti-python {version}: {_one_line(exc)}")
    if gpu is None:
        return Capability("cupti", False, detail=f"cupti-python {version}, libcupti loads",
                          reason="libcupti loads but there is no GPU to trace")
    inj = os.environ.get("NVTX_INJECTION64_PATH", "")
    return Capability("cupti", True, detail=f"cupti-python {version}; NVTX_INJECTION64_PATH={inj or 'unset'}")


def probe_nvtx() -> Capability:
    if importlib.util.find_spec("nvtx") is None:
        return Capability("nvtx", False, reason="nvtx is not installed: pip install nvtx")
    try:
        import nvtx

        with nvtx.annotate("harness.probe", domain="harness"):
            pass
    except Exception as exc:
        return Capability("nvtx", False, reason=_one_line(exc))
    return Capability("nvtx", True, detail=f"nvtx {_pkg_version('nvtx')}")


def run_probe() -> EnvReport:
    t0 = time.perf_counter()
    import torch

    gpu, gpu_cap = probe_gpu()
    build, run = probe_trt_rtx(gpu)
    ttrt, ttrt_info = probe_torch_tensorrt(gpu)
    caps = (gpu_cap, build, run, ttrt, probe_green_driver(gpu), probe_green_torch(gpu), probe_cupti(gpu), probe_nvtx())
    return EnvReport(
        host=platform.node(),
        python=platform.python_version(),
        torch_version=torch.__version__,
        gpu=gpu,
        capabilities=caps,
        torch_tensorrt=ttrt_info,
        elapsed_s=round(time.perf_counter() - t0, 3),
    )


def render_table(rep: EnvReport) -> str:
    lines = [f"host {rep.host}  python {rep.python}  torch {rep.torch_version}  (probe {rep.elapsed_s:.2f} s)"]
    if rep.gpu:
        g = rep.gpu
        lines.append(
            f"GPU {g.name}  sm_{g.compute_capability[0]}{g.compute_capability[1]}  {g.sm_count} SMs  "
            f"{g.total_memory_gib} GiB  driver {g.driver_version}  CUDA driver API {g.cuda_driver_api}  "
            f"torch CUDA {g.torch_cuda}"
        )
    width = max(len(c.name) for c in rep.capabilities)
    for c in rep.capabilities:
        text = c.detail if c.ok else (c.reason + (f" [{c.detail}]" if c.detail and c.detail not in c.reason else ""))
        lines.append(f"{c.name:<{width}}  {'yes' if c.ok else 'no ':<3}  {text}")
    apis = rep.torch_tensorrt.get("apis")
    if apis:
        lines.append("torch_tensorrt APIs (static scan of the installed package):")
        lines.extend(f"  {name:<44} {'present' if ok else 'absent'}" for name, ok in apis.items())
    lines.extend(f"  finding: {f}" for f in rep.torch_tensorrt.get("findings", []))
    return "\n".join(lines)


def main_env(as_json: bool) -> int:
    rep = run_probe()
    print(json.dumps(rep.to_dict(), indent=2) if as_json else render_table(rep))
    return 0
