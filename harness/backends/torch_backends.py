"""PyTorch backends: eager, manual CUDA-graph capture/replay, and torch.compile (inductor).

These run on the CPU and on the GPU host, so every check is first proven on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from harness.backends.base import (
    BuildConfig,
    Built,
    RunSettings,
    capture_shape,
    reject_options,
    reject_settings,
    replay_per_shape,
)
from harness.vocab import CAPTURE_STREAMS, COMPILE_MODES, MODEL_FORMS

if TYPE_CHECKING:
    from harness.probe import EnvReport
    from models import ModelEntry



class HostSync(torch.nn.Module):
    """Wraps a model so every forward synchronises with the host (``.item()``): not capturable."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.inner(x)
        if y.abs().max().item() < 0:  # never true: the .item() host sync is the point
            raise AssertionError("unreachable")
        return y


def build_module(model: ModelEntry, config: BuildConfig) -> torch.nn.Module:
    module = model.build()
    if config.option("form", "plain") == "hostsync":
        module = HostSync(module)
    return module.to(config.device)


def _no_gpu(env: EnvReport, config: BuildConfig) -> str | None:
    if config.device == "cuda" and env.gpu is None:
        return f"needs a CUDA GPU: {env.cap('gpu').reason}"
    return None


def _stream_name(device: str) -> str:
    if device != "cuda":
        return "cpu"
    s = torch.cuda.current_stream()
    return "default" if s == torch.cuda.default_stream() else f"0x{s.cuda_stream:x}"


class EagerRunner:
    def __init__(self, module: torch.nn.Module, device: str) -> None:
        self.module = module
        self.device = device
        self.last_stream = ""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.last_stream = _stream_name(self.device)
        with torch.inference_mode():
            return self.module(x)  # type: ignore[no-any-return]

    def describe(self) -> dict[str, str]:
        return {"runtime": "pytorch-eager", "device": self.device, "stream": self.last_stream}


class _PytorchBackend:
    """What the PyTorch backends share: build options validated against ``options``, no TensorRT-RTX knobs, and a
    build that is the model module itself (in the form the build option asks for) on the cell's device."""

    name: str
    options: ClassVar[dict[str, tuple[str, ...]]] = {"form": MODEL_FORMS}

    def unavailable(self, env: EnvReport, config: BuildConfig) -> str | None:
        return _no_gpu(env, config)

    def validate(self, config: BuildConfig, settings: RunSettings) -> None:
        reject_options(config, self.options)
        reject_settings(self.name, settings)

    def build(self, model: ModelEntry, config: BuildConfig) -> Built:
        t0 = time.perf_counter()
        return Built(config, build_module(model, config), time.perf_counter() - t0)


class EagerBackend(_PytorchBackend):
    name = "eager"

    def load(self, built: Built, settings: RunSettings) -> EagerRunner:
        return EagerRunner(built.artifact, built.config.device)



class CudaGraphRunner:
    """One ``torch.cuda.CUDAGraph`` per input shape, captured on first sight of that shape.

    ``capture="side"`` captures on a private stream (as ``torch.cuda.graph`` does) and replays on the
    caller's stream; ``capture="current"`` captures on the caller's stream, which PyTorch refuses when
    that is the legacy default stream (aten/src/ATen/cuda/CUDAGraph.cpp, capture_begin).
    """

    def __init__(self, module: torch.nn.Module, capture: str, warmup_iters: int = 3) -> None:
        self.module = module
        self.capture = capture
        self.warmup_iters = warmup_iters
        self.graphs: dict[tuple[int, ...], tuple[Any, Any, Any]] = {}
        self.captures = 0
        self.replays = 0
        self.last_stream = ""

    def _capture(self, x: torch.Tensor) -> tuple[Any, Any, Any]:
        stream = torch.cuda.Stream() if self.capture == "side" else torch.cuda.current_stream()  # type: ignore[no-untyped-call]

        def warm_up(static_in: torch.Tensor) -> None:  # outside capture: lazy init, cuDNN autotune
            for _ in range(self.warmup_iters):
                self.module(static_in)
            if self.capture == "side":
                stream.synchronize()

        captured = capture_shape(self.module, x, stream, warm_up, inference_mode=True)
        self.captures += 1
        return captured

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = replay_per_shape(self.graphs, x, self._capture)
        self.replays += 1
        self.last_stream = _stream_name("cuda")
        return out

    def bind(self, x: torch.Tensor) -> Callable[[], torch.Tensor]:
        """What a timing loop calls: ``x`` copied into the static input once, then a bare replay per call, as a
        user's loop replays a graph whose input is already in place. Copying the input on every call (what
        ``__call__`` must do) adds a device-to-device copy to each sample: +6.7 % at resnet18 b8 on an H100."""
        out = self(x)
        graph = self.graphs[tuple(x.shape)][0]

        def replay() -> torch.Tensor:
            graph.replay()
            return out

        return replay

    def describe(self) -> dict[str, str]:
        return {"runtime": "torch.cuda.CUDAGraph", "capture_stream": self.capture, "stream": self.last_stream,
                "captures": str(self.captures), "shapes_captured": str(len(self.graphs))}


class CudaGraphBackend(_PytorchBackend):
    name = "cudagraph"
    options: ClassVar[dict[str, tuple[str, ...]]] = {"capture": CAPTURE_STREAMS, "form": MODEL_FORMS}

    def unavailable(self, env: EnvReport, config: BuildConfig) -> str | None:
        if config.device != "cuda":
            return "CUDA graphs need device=cuda"
        return _no_gpu(env, config)

    def load(self, built: Built, settings: RunSettings) -> CudaGraphRunner:
        return CudaGraphRunner(built.artifact, built.config.option("capture", "side"))



class CompiledRunner(EagerRunner):
    def __init__(self, module: Any, device: str, mode: str) -> None:
        super().__init__(module, device)
        self.mode = mode

    def describe(self) -> dict[str, str]:
        return {"runtime": f"torch.compile(inductor, mode={self.mode})", "device": self.device,
                "stream": self.last_stream}


class CompileBackend(_PytorchBackend):
    """``torch.compile`` with inductor. The on-disk cache directory is the run's own
    (``TORCHINDUCTOR_CACHE_DIR``, set by the pytest plugin), never the per-user default."""

    name = "compile"
    options: ClassVar[dict[str, tuple[str, ...]]] = {"compile_mode": COMPILE_MODES, "form": MODEL_FORMS}

    def unavailable(self, env: EnvReport, config: BuildConfig) -> str | None:
        if config.option("compile_mode", "default") == "reduce-overhead" and config.device != "cuda":
            return "mode=reduce-overhead uses CUDA graphs and needs device=cuda"
        return _no_gpu(env, config)

    def build(self, model: ModelEntry, config: BuildConfig) -> Built:
        t0 = time.perf_counter()
        mode = config.option("compile_mode", "default")
        compiled = torch.compile(build_module(model, config), mode=mode, dynamic=config.shapes == "dynamic")
        # Compilation is lazy: run once per batch the cell may use, so build time holds the compile.
        with torch.inference_mode():
            for batch in model.input.batches(config.shapes)[:2]:
                compiled(model.make_input(batch, device=config.device))
        if config.device == "cuda":
            torch.cuda.synchronize()
        return Built(config, compiled, time.perf_counter() - t0, notes={"compile_mode": mode})

    def load(self, built: Built, settings: RunSettings) -> CompiledRunner:
        return CompiledRunner(built.artifact, built.config.device, built.config.option("compile_mode", "default"))
