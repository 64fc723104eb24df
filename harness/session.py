"""Run lifecycle: probe once, open the results file, share builds across cells, render the report."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import os
import platform
import subprocess
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.backends.base import Backend, BuildCache, BuildConfig, Built
from harness.config import VARIANTS, RunConfig
from harness.errors import UnknownChoiceError
from harness.results import SCHEMA_VERSION, ResultsWriter, write_atomic

if TYPE_CHECKING:
    from harness.probe import EnvReport
    from models import ModelEntry

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "tensorrt_rtx", "torch-tensorrt-rtx", "cuda-bindings",
            "cuda-core", "cupti-python", "nvtx", "pytest", "pytest-benchmark", "filelock", "onnx", "onnxscript")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def make_backend(name: str, cache_dir: Path) -> Backend:
    from harness.backends import torch_backends

    if name == "eager":
        return torch_backends.EagerBackend()
    if name == "cudagraph":
        return torch_backends.CudaGraphBackend()
    if name == "compile":
        return torch_backends.CompileBackend()
    if name == "trt_rtx":
        from harness.backends.trt_rtx import TrtRtxBackend

        return TrtRtxBackend(cache_dir)
    if name == "torch_trt":
        from harness.backends.torch_trt import TorchTrtBackend

        return TorchTrtBackend(cache_dir)
    raise UnknownChoiceError("backend", name, ("eager", "cudagraph", "compile", "trt_rtx", "torch_trt"))


class HarnessSession:
    """One per pytest session (per worker). Results are written lazily: a run with no cell writes nothing."""

    def __init__(self, config: RunConfig, *, worker: str = "main", gpu: str = "all") -> None:
        self.config = config
        self.worker = worker
        self.gpu = gpu  # the physical GPU(s) this process sees (CUDA_VISIBLE_DEVICES), "all" when unpinned
        self.builds = BuildCache()
        self._backends: dict[str, Backend] = {}
        self._writer: ResultsWriter | None = None

    @cached_property
    def env(self) -> EnvReport:
        from harness.probe import run_probe

        return run_probe()

    @cached_property
    def device(self) -> str:
        if self.config.device != "auto":
            return self.config.device
        return "cuda" if self.env.gpu is not None else "cpu"

    def backend(self, name: str) -> Backend:
        if name not in self._backends:
            self._backends[name] = make_backend(name, self.config.cache_dir)
        return self._backends[name]

    def build_config(self, variant: str, model: str, shapes: str, extra: tuple[tuple[str, str], ...] = ()) -> BuildConfig:
        if variant not in VARIANTS:
            raise UnknownChoiceError("backend variant", variant, VARIANTS)
        backend, options = VARIANTS[variant]
        device = "cuda" if backend in ("trt_rtx", "torch_trt", "cudagraph") else self.device
        return BuildConfig(backend, model, shapes, device, options + extra)  # type: ignore[arg-type]

    def build(self, model: ModelEntry, config: BuildConfig) -> Built:
        backend = self.backend(config.backend)
        return self.builds.get(config, lambda: backend.build(model, config))

    # --- results -------------------------------------------------------------------------------------
    @property
    def writer(self) -> ResultsWriter:
        if self._writer is None:
            path = self.config.results_path
            fresh = not path.exists()
            self._writer = ResultsWriter(path)
            if fresh and self.worker in ("main", "controller"):
                self._writer.write("meta", self.metadata())
                for text in self.env.torch_tensorrt.get("findings", []):
                    self._writer.write("finding", {"case_id": "probe", "text": text,
                                                   "source": "static scan of the installed torch_tensorrt"})
                absent = [k.removeprefix("seed:") for k, v in self.env.torch_tensorrt.get("apis", {}).items()
                          if k.startswith("seed:") and not v]
                if absent:
                    self._writer.write("finding", {
                        "case_id": "probe", "source": "docs/behaviour.md#streams",
                        "text": f"seed PR #4232 external-stream API absent, as expected for every release: {absent}; "
                                "stream binding is tested through the current stream instead"})
                self._point_latest()
        return self._writer

    def metadata(self) -> dict[str, Any]:
        env = self.env
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.config.run_id,
            "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"host": platform.node(), "platform": platform.platform(), "cpus": os.cpu_count(),
                        "python": platform.python_version()},
            "gpu": env.to_dict()["gpu"],
            "device": self.device,
            "packages": package_versions(),
            "git_commit": _git_commit(),
            "probe": env.to_dict(),
            "config": self.config.to_dict(),
        }

    def _point_latest(self) -> None:
        latest = self.config.out_root / "latest"
        tmp = self.config.out_root / f".latest.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.config.run_id)
        tmp.replace(latest)
        write_atomic(self.config.out_root / "LATEST", self.config.run_id + "\n")

    def record(self, case_id: str, metric: str, value: float, unit: str, dims: dict[str, Any],
               samples: tuple[float, ...] | None = None, stats: dict[str, float] | None = None) -> None:
        data: dict[str, Any] = {"case_id": case_id, "metric": metric, "value": value, "unit": unit,
                                "worker": self.worker, "gpu": self.gpu, **dims}
        if samples is not None:
            data["samples"] = list(samples)
        if stats is not None:
            data["stats"] = stats
        self.writer.write("record", data)

    def cell(self, case_id: str, nodeid: str, outcome: str, reason: str, dims: dict[str, Any], duration_s: float) -> None:
        self.writer.write("cell", {"case_id": case_id, "nodeid": nodeid, "outcome": outcome, "reason": reason,
                                   "duration_s": round(duration_s, 4), "worker": self.worker, **dims})

    def finding(self, case_id: str, text: str, source: str) -> None:
        self.writer.write("finding", {"case_id": case_id, "text": text, "source": source})

    def close(self) -> Path | None:
        if self._writer is None:
            return None
        self._writer.close()
        return self.config.results_path
