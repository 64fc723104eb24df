"""The backend Protocol every check runs against, and the frozen configs that describe a cell.

A check is written once against ``Backend`` / ``Runner`` and proven on the backends that run on the
machine at hand (PyTorch eager, CUDA graphs, torch.compile); the same check then applies unchanged to
TensorRT-RTX and Torch-TensorRT wherever those run.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from harness import nvtx_ranges
from harness.errors import BuildConfigError, UnknownChoiceError
from harness.vocab import (
    CG_MODES,
    CUDA_GRAPH_STRATEGIES,
    DEVICES,
    KERNEL_STRATEGIES,
    SHAPES,
    CgMode,
    CudaGraphStrategy,
    KernelStrategy,
    Shapes,
)
from models import get_model

if TYPE_CHECKING:
    import torch

    from harness.probe import EnvReport
    from models import ModelEntry


@dataclass(frozen=True)
class BuildConfig:
    """What is built: one model, static or dynamic batch, for one device, with backend build options.

    Two cells with equal ``BuildConfig`` share one build (``BuildCache``). ``options`` holds sorted
    (key, value) pairs that the backend validates (e.g. ``compute_capability``, ``compile_mode``).
    """

    backend: str
    model: str
    shapes: Shapes
    device: str
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        get_model(self.model)
        if self.shapes not in SHAPES:
            raise UnknownChoiceError("shapes", self.shapes, SHAPES)
        if self.device not in DEVICES:
            raise UnknownChoiceError("device", self.device, DEVICES)
        if list(self.options) != sorted(self.options):
            object.__setattr__(self, "options", tuple(sorted(self.options)))

    def option(self, key: str, default: str) -> str:
        return dict(self.options).get(key, default)

    @property
    def key(self) -> str:
        text = repr((self.backend, self.model, self.shapes, self.device, self.options))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self.options)
        return f"{self.backend}:{self.model}-{self.shapes[:3]}@{self.device}" + (f"[{opts}]" if opts else "")


@dataclass(frozen=True)
class RunSettings:
    """TensorRT-RTX runtime knobs (Torch-TensorRT's ``RuntimeSettings``) and the CUDA-graph mode the module runs
    under; PyTorch backends accept only defaults."""

    cuda_graph_strategy: CudaGraphStrategy = "disabled"
    kernel_strategy: KernelStrategy = "lazy"
    runtime_cache: str | None = None
    cg_mode: CgMode = "standard"

    def __post_init__(self) -> None:
        if self.cuda_graph_strategy not in CUDA_GRAPH_STRATEGIES:
            raise UnknownChoiceError("cuda_graph_strategy", self.cuda_graph_strategy, CUDA_GRAPH_STRATEGIES)
        if self.kernel_strategy not in KERNEL_STRATEGIES:
            raise UnknownChoiceError("dynamic-shape kernel strategy", self.kernel_strategy, KERNEL_STRATEGIES)
        if self.cg_mode not in CG_MODES:
            raise UnknownChoiceError("CUDA-graph mode", self.cg_mode, CG_MODES)

    @property
    def is_default(self) -> bool:
        return self == RunSettings()


@dataclass
class Built:
    """A build product: whatever the backend needs to load it, and how long it took."""

    config: BuildConfig
    artifact: Any
    build_s: float
    size_bytes: int | None = None
    from_disk_cache: bool = False
    notes: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Runner(Protocol):
    """A loaded model: call it with an input on the current CUDA stream (or the CPU)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def describe(self) -> dict[str, str]:
        """What actually ran: runtime, stream used, settings applied, captures made."""
        ...


class Backend(Protocol):
    """A way of running a model. Implementations stay thin; checks live outside them."""

    name: str

    def unavailable(self, env: EnvReport, config: BuildConfig) -> str | None:
        """None when the cell can run here, else the precise reason (the probe's or the library's)."""
        ...

    def validate(self, config: BuildConfig, settings: RunSettings) -> None:
        """Raise ``BuildConfigError`` / ``UnknownChoiceError`` before any build starts."""
        ...

    def build(self, model: ModelEntry, config: BuildConfig) -> Built: ...

    def load(self, built: Built, settings: RunSettings) -> Runner: ...


def replay_per_shape(graphs: dict[tuple[int, ...], tuple[Any, Any, Any]], x: torch.Tensor,
                     capture: Callable[[torch.Tensor], tuple[Any, Any, Any]]) -> torch.Tensor:
    """Replay the CUDA graph captured for ``x``'s shape, capturing it on first sight of that shape.
    ``graphs`` maps shape -> (graph, static input, static output); ``x`` is copied into the static input."""
    key = tuple(x.shape)
    if key not in graphs:
        graphs[key] = capture(x)
    graph, static_in, static_out = graphs[key]
    static_in.copy_(x)
    graph.replay()
    return static_out  # type: ignore[no-any-return]


def capture_shape(module: Callable[[Any], Any], x: torch.Tensor, stream: Any, prepare: Callable[[torch.Tensor], None],
                  inference_mode: bool = False) -> tuple[Any, Any, Any]:
    """One CUDA graph of ``module`` for ``x``'s shape: (graph, static input, static output). The capture runs on
    ``stream``, ordered after the caller's current stream (and the caller after it), inside an NVTX ``capture``
    range; ``prepare(static_in)`` runs first on ``stream``, outside the capture (warm-up, a capturability check
    that raises). ``inference_mode``: both under ``torch.inference_mode()`` (the static input, copied into on
    every replay, is cloned outside it)."""
    import torch

    static_in = x.clone()
    caller = torch.cuda.current_stream()
    stream.wait_stream(caller)
    with torch.inference_mode() if inference_mode else contextlib.nullcontext(), torch.cuda.stream(stream):
        prepare(static_in)
        graph = torch.cuda.CUDAGraph()
        with nvtx_ranges.phase("capture", f"shape={tuple(x.shape)}"), torch.cuda.graph(graph, stream=stream):
            static_out = module(static_in)
    caller.wait_stream(stream)
    return graph, static_in, static_out


def timed_call(runner: Any, x: torch.Tensor) -> Callable[[], Any]:
    """What a timing loop calls for ``runner`` on ``x``: the runner's ``bind(x)`` where it has one (a bare CUDA-graph
    replay with the input already in place), else a plain call."""
    bind = getattr(runner, "bind", None)
    return bind(x) if bind is not None else (lambda: runner(x))


def reject_options(config: BuildConfig, allowed: dict[str, tuple[str, ...]]) -> None:
    """Shared option validation: unknown keys and values are named with the valid ones."""
    for key, value in config.options:
        if key not in allowed:
            raise UnknownChoiceError(f"{config.backend} build option", key, allowed)
        if value not in allowed[key]:
            raise UnknownChoiceError(f"{config.backend} build option {key}", value, allowed[key])


def reject_settings(backend: str, settings: RunSettings) -> None:
    if not settings.is_default:
        raise BuildConfigError(
            f"{backend} run settings", settings,
            f"{backend} has no TensorRT-RTX runtime knobs (cuda_graph_strategy, kernel strategy, runtime cache)",
            "use the default RunSettings() for PyTorch backends",
        )


class BuildCache:
    """Each distinct ``BuildConfig`` is built once per process and shared by every cell that uses it."""

    def __init__(self) -> None:
        self._built: dict[BuildConfig, Built | BaseException] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, config: BuildConfig, build: Callable[[], Built]) -> Built:
        with self._lock:
            hit = self._built.get(config)
            if hit is None:
                try:
                    t0 = time.perf_counter()
                    hit = build()
                    hit.build_s = hit.build_s or (time.perf_counter() - t0)
                    self.builds += 1
                except Exception as exc:  # remembered: a failed build is not retried by every cell
                    hit = exc
                self._built[config] = hit
        if isinstance(hit, BaseException):
            raise hit
        return hit
