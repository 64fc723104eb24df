"""The backend registry: a backend by name, and the build config of a backend variant.

Imported by the run lifecycle (``harness.session``) and by the fresh-process children (traced runs, latency
cells), which build a backend without starting a run. Importing it imports no backend library: each backend's
module is imported when it is asked for.
"""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import Backend, BuildConfig
from harness.config import VARIANTS
from harness.errors import UnknownChoiceError
from harness.vocab import BACKENDS, CUDA_ONLY_BACKENDS


def make_backend(name: str, cache_dir: Path) -> Backend:
    """A new backend ``name``; ``cache_dir``: where the TensorRT backends keep engines and runtime caches."""
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
    raise UnknownChoiceError("backend", name, BACKENDS)


def device_for(backend: str, device: str) -> str:
    """The device a cell of ``backend`` builds for when the run resolved its device to ``device``."""
    return "cuda" if backend in CUDA_ONLY_BACKENDS else device


def variant_config(variant: str, model: str, shapes: str, device: str,
                   extra: tuple[tuple[str, str], ...] = ()) -> BuildConfig:
    """The build config of backend variant ``variant`` (a ``harness.config.VARIANTS`` key) plus ``extra`` options."""
    if variant not in VARIANTS:
        raise UnknownChoiceError("backend variant", variant, VARIANTS)
    backend, options = VARIANTS[variant]
    return BuildConfig(backend, model, shapes, device_for(backend, device), options + extra)  # type: ignore[arg-type]
