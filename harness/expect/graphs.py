"""The behaviour oracle: the expected outcome of every cell of the matrix, as data.

Two tables, each complete and non-overlapping over the matrix (``tests/test_oracle.py`` proves
it): ``BEHAVIOUR`` says what a cell does (runs, raises, warns and overrides, ...) and who owns the CUDA
graph; ``STREAMS`` says on which stream its kernels must run. Every row cites its source: a section of
docs/behaviour.md and the lines it rests on (W14 = the released 2.14.0 wheel's ``torch_tensorrt/`` files,
H = pytorch/TensorRT at d7f2062810) or, for the PyTorch backends, the PyTorch source that raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Literal

from harness.errors import UnknownChoiceError
from harness.vocab import (
    COMPILE_CG_MODES,
    CUDA_GRAPH_STRATEGIES,
    CUDAGRAPH_CG_MODES,
    KERNEL_STRATEGIES,
    MODEL_FORMS,
    NA,
    NATIVE_CG_MODES,
    NON_DEFAULT_STREAM_MODES,
    SEGMENTATIONS,
    SHAPES,
    STREAM_MODES,
    TORCH_TRT_CG_MODES,
    TORCH_TRT_RUNTIMES,
    TORCH_TRT_VERSIONS,
)

Outcome = Literal["runs", "raises", "warns_override", "forced_off", "no_graph", "unsupported"]
GraphOwner = Literal["none", "rtx_native", "outer_torch", "torch_per_engine", "torch_per_shape", "inductor"]
KernelStream = Literal["engine_side", "caller"]

DOC = "docs/behaviour.md#"
PY = DOC + "cuda-graphs-python: "
CPP = DOC + "cuda-graphs-cpp: "
_NA = (NA,)
_TRT_COMMON = {"cuda_graph_strategy": CUDA_GRAPH_STRATEGIES, "kernel_strategy": KERNEL_STRATEGIES}
_ANY_STREAM = {"shapes": SHAPES, "stream": STREAM_MODES}
_PYTORCH_NA = {"version": _NA, "runtime": _NA, "cuda_graph_strategy": _NA, "kernel_strategy": _NA, "segmentation": _NA}

# The matrix: every backend's dimensions and their values.
DOMAIN: dict[str, dict[str, tuple[str, ...]]] = {
    "torch_trt": {"version": TORCH_TRT_VERSIONS, "runtime": TORCH_TRT_RUNTIMES, "cg_mode": TORCH_TRT_CG_MODES,
                  **_TRT_COMMON, **_ANY_STREAM, "segmentation": SEGMENTATIONS, "form": ("plain",)},
    "trt_rtx": {"version": _NA, "runtime": _NA, "cg_mode": NATIVE_CG_MODES, **_TRT_COMMON, **_ANY_STREAM,
                "segmentation": _NA, "form": ("plain",)},
    "eager": {**_PYTORCH_NA, "cg_mode": ("standard",), **_ANY_STREAM, "form": MODEL_FORMS},
    "cudagraph": {**_PYTORCH_NA, "cg_mode": CUDAGRAPH_CG_MODES, **_ANY_STREAM, "form": MODEL_FORMS},
    "compile": {**_PYTORCH_NA, "cg_mode": COMPILE_CG_MODES, **_ANY_STREAM, "form": MODEL_FORMS},
}


@dataclass(frozen=True)
class Cell:
    """One point of the matrix. Dimensions a backend does not have hold ``NA`` ("n/a"); ``form`` is the model's
    (plain, or with a host sync per forward)."""

    backend: str
    version: str
    runtime: str
    cg_mode: str
    cuda_graph_strategy: str
    kernel_strategy: str
    shapes: str
    stream: str
    segmentation: str
    form: str

    def __post_init__(self) -> None:
        if self.backend not in DOMAIN:
            raise UnknownChoiceError("oracle backend", self.backend, DOMAIN)
        for dim, values in DOMAIN[self.backend].items():
            if getattr(self, dim) not in values:
                raise UnknownChoiceError(f"{self.backend} {dim}", getattr(self, dim), values)

    @property
    def id(self) -> str:
        parts = [self.backend] + [f"{f.name}={getattr(self, f.name)}" for f in fields(self)[1:]
                                  if getattr(self, f.name) != NA]
        return "-".join(parts)


DIMS = tuple(f.name for f in fields(Cell))


@dataclass(frozen=True)
class Expect:
    """What a cell must do. ``message`` is a fragment of the exception or warning text."""

    outcome: Outcome
    graph: GraphOwner
    source: str
    exc: str = ""
    message: str = ""


@dataclass(frozen=True)
class Row:
    when: Mapping[str, tuple[str, ...]]
    expect: Expect

    def matches(self, cell: Cell) -> bool:
        return all(getattr(cell, dim) in values for dim, values in self.when.items())


def _r(expect: Expect, **when: str | tuple[str, ...]) -> Row:
    return Row({k: (v,) if isinstance(v, str) else v for k, v in when.items()}, expect)


RTX_OVERRIDE_WARN = "Manual CUDA graph capture is not guaranteed to work on TRT-RTX"
_NOT_CAPTURABLE = "CUDA graph capture failed: TRT submodule"
OUTER_CAPTURE_WARN = "Outer CUDA stream capture detected; disabling TensorRT-RTX native CUDA graph strategy"
_WGC = "whole_graph_capture"
_CAPTURABLE_DYN = tuple(k for k in KERNEL_STRATEGIES if k != "lazy")  # dynamic shapes stay capturable unless lazy

# Torch-TensorRT 2.14, both runtimes: rows that do not depend on the runtime.
_TTRT_14_SHARED = (
    _r(Expect("runs", "none", DOC + "cuda-graph-modes STANDARD+disabled: W14 _TRTEngine.py:1239-1262,1378-1382; "
              "H core/runtime/execute_engine.cpp:466-476"),
       backend="torch_trt", version="2.14", cg_mode="standard", cuda_graph_strategy="disabled"),
    _r(Expect("runs", "rtx_native", DOC + "cuda-graph-modes STANDARD+whole_graph_capture: W14 _TRTEngine.py:579-581,"
              "737-739; H execute_engine.cpp:290-298"),
       backend="torch_trt", version="2.14", cg_mode="standard", cuda_graph_strategy=_WGC),
    # enable_cudagraphs on a graph with no break becomes SUBGRAPH (W14 runtime/_cudagraphs.py:153-162)
    _r(Expect("runs", "rtx_native", DOC + "cuda-graph-modes SUBGRAPH+whole_graph_capture: W14 _TRTEngine.py:1258-1262; "
              "H execute_engine.cpp:290-298 (WHOLE_GRAPH without a graph break is SUBGRAPH: W14 runtime/_cudagraphs.py:121-162)"),
       backend="torch_trt", version="2.14", cg_mode=("subgraph", "whole_graph"), cuda_graph_strategy=_WGC,
       segmentation=("single",)),
    _r(Expect("runs", "rtx_native", DOC + "cuda-graph-modes SUBGRAPH+whole_graph_capture: W14 _TRTEngine.py:1258-1262; "
              "H execute_engine.cpp:290-298"),
       backend="torch_trt", version="2.14", cg_mode="subgraph", cuda_graph_strategy=_WGC, segmentation="broken"),
)

_TTRT_14_PYTHON = (
    _r(Expect("warns_override", "rtx_native", PY + "SUBGRAPH+disabled: W14 _TRTEngine.py:1242-1256,"
              "752-764 (WHOLE_GRAPH without a break is SUBGRAPH: runtime/_cudagraphs.py:121-162)",
              exc="logging.WARNING", message=RTX_OVERRIDE_WARN),
       backend="torch_trt", version="2.14", runtime="python", cuda_graph_strategy="disabled",
       cg_mode=("subgraph", "whole_graph"), segmentation="single"),
    _r(Expect("warns_override", "rtx_native", PY + "SUBGRAPH+disabled: W14 _TRTEngine.py:1242-1256,752-764",
              exc="logging.WARNING", message=RTX_OVERRIDE_WARN),
       backend="torch_trt", version="2.14", runtime="python", cuda_graph_strategy="disabled", cg_mode="subgraph",
       segmentation="broken"),
    _r(Expect("raises", "none", PY + "WHOLE_GRAPH lazy+dynamic: W14 _CudaGraphsTorchTensorRTModule.py:130-166,263; "
              "runtime/_runtime_config.py:229-254",
              exc="RuntimeError", message=_NOT_CAPTURABLE),
       backend="torch_trt", version="2.14", runtime="python", cg_mode="whole_graph", segmentation="broken",
       kernel_strategy="lazy", shapes="dynamic"),
    _r(Expect("forced_off", "outer_torch", PY + "WHOLE_GRAPH+whole_graph_capture, capturable: "
              "W14 _CudaGraphsTorchTensorRTModule.py:167-176"),
       backend="torch_trt", version="2.14", runtime="python", cg_mode="whole_graph", segmentation="broken",
       cuda_graph_strategy=_WGC, shapes="static"),
    _r(Expect("forced_off", "outer_torch", PY + "WHOLE_GRAPH+whole_graph_capture, capturable: "
              "W14 _CudaGraphsTorchTensorRTModule.py:167-176"),
       backend="torch_trt", version="2.14", runtime="python", cg_mode="whole_graph", segmentation="broken",
       cuda_graph_strategy=_WGC, shapes="dynamic", kernel_strategy=_CAPTURABLE_DYN),
    _r(Expect("runs", "outer_torch", PY + "WHOLE_GRAPH+disabled, capturable: "
              "W14 _CudaGraphsTorchTensorRTModule.py:255-270"),
       backend="torch_trt", version="2.14", runtime="python", cg_mode="whole_graph", segmentation="broken",
       cuda_graph_strategy="disabled", shapes="static"),
    _r(Expect("runs", "outer_torch", PY + "WHOLE_GRAPH+disabled, capturable: "
              "W14 _CudaGraphsTorchTensorRTModule.py:255-270"),
       backend="torch_trt", version="2.14", runtime="python", cg_mode="whole_graph", segmentation="broken",
       cuda_graph_strategy="disabled", shapes="dynamic", kernel_strategy=_CAPTURABLE_DYN),
)

_TTRT_14_CPP = (
    _r(Expect("no_graph", "none", CPP + "SUBGRAPH+disabled: manual capture skipped, strategy stays disabled, "
              "no warning (H execute_engine.cpp:290-298; differs from Python; no upstream test covers it)"),
       backend="torch_trt", version="2.14", runtime="cpp", cuda_graph_strategy="disabled", cg_mode="subgraph"),
    _r(Expect("no_graph", "none", CPP + "SUBGRAPH+disabled (WHOLE_GRAPH without a break is SUBGRAPH: "
              "W14 runtime/_cudagraphs.py:121-162)"),
       backend="torch_trt", version="2.14", runtime="cpp", cuda_graph_strategy="disabled", cg_mode="whole_graph",
       segmentation="single"),
    _r(Expect("runs", "outer_torch", CPP + "WHOLE_GRAPH+disabled: C++ engines are not checked for "
              "capturability (W14 _CudaGraphsTorchTensorRTModule.py:150-156)"),
       backend="torch_trt", version="2.14", runtime="cpp", cuda_graph_strategy="disabled", cg_mode="whole_graph",
       segmentation="broken"),
    _r(Expect("forced_off", "outer_torch", CPP + "WHOLE_GRAPH+whole_graph_capture: H core/runtime/"
              "execute_engine.cpp:296-303, TRTEngine.cpp:951-963", exc="log.WARNING", message=OUTER_CAPTURE_WARN),
       backend="torch_trt", version="2.14", runtime="cpp", cuda_graph_strategy=_WGC, cg_mode="whole_graph",
       segmentation="broken"),
)

_V211 = DOC + "torch-tensorrt-211: 2.11.0 has none of the RTX runtime features, only the CUDA-graph mode APIs"
_TTRT_11 = (
    _r(Expect("unsupported", "none", _V211 + " (no RuntimeSettings: the knob cannot be set)",
              exc="AttributeError", message="RuntimeSettings"),
       backend="torch_trt", version="2.11", cuda_graph_strategy=_WGC),
    _r(Expect("unsupported", "none", _V211 + " (no set_dynamic_shapes_kernel_strategy)",
              exc="AttributeError", message="RuntimeSettings"),
       backend="torch_trt", version="2.11", cuda_graph_strategy="disabled", kernel_strategy=("eager", "none")),
    _r(Expect("runs", "none", _V211), backend="torch_trt", version="2.11", cuda_graph_strategy="disabled", kernel_strategy="lazy",
       cg_mode="standard"),
    _r(Expect("runs", "torch_per_engine", _V211 + " (SUBGRAPH: per-engine torch capture; WHOLE_GRAPH without a "
              "break is SUBGRAPH: _cudagraphs.py:153-162)"),
       backend="torch_trt", version="2.11", cuda_graph_strategy="disabled", kernel_strategy="lazy",
       cg_mode=("subgraph", "whole_graph"), segmentation="single"),
    _r(Expect("runs", "torch_per_engine", _V211), backend="torch_trt", version="2.11", cuda_graph_strategy="disabled",
       kernel_strategy="lazy", cg_mode="subgraph", segmentation="broken"),
    _r(Expect("runs", "outer_torch", _V211), backend="torch_trt", version="2.11", cuda_graph_strategy="disabled",
       kernel_strategy="lazy", cg_mode="whole_graph", segmentation="broken"),
)

_NATIVE = DOC + "native: the native adapter applies Torch-TensorRT's monolithic-capture rule " \
          "(W14 runtime/_runtime_config.py:229-254: stream-capturable, and not lazy kernels with a dynamic input)"
_TRT_RTX = (
    _r(Expect("runs", "none", DOC + "native: IRuntimeConfig.cuda_graph_strategy = DISABLED"),
       backend="trt_rtx", cg_mode="standard", cuda_graph_strategy="disabled"),
    _r(Expect("runs", "rtx_native", DOC + "native: IRuntimeConfig.cuda_graph_strategy = WHOLE_GRAPH_CAPTURE"),
       backend="trt_rtx", cg_mode="standard", cuda_graph_strategy=_WGC),
    _r(Expect("raises", "none", _NATIVE, exc="CaptureRefused", message="not stream-capturable"),
       backend="trt_rtx", cg_mode="outer_capture", kernel_strategy="lazy", shapes="dynamic"),
    _r(Expect("runs", "outer_torch", _NATIVE), backend="trt_rtx", cg_mode="outer_capture", cuda_graph_strategy="disabled",
       shapes="static"),
    _r(Expect("runs", "outer_torch", _NATIVE), backend="trt_rtx", cg_mode="outer_capture", cuda_graph_strategy="disabled",
       shapes="dynamic", kernel_strategy=_CAPTURABLE_DYN),
    _r(Expect("forced_off", "outer_torch", _NATIVE + "; W14 _CudaGraphsTorchTensorRTModule.py:167-176"),
       backend="trt_rtx", cg_mode="outer_capture", cuda_graph_strategy=_WGC, shapes="static"),
    _r(Expect("forced_off", "outer_torch", _NATIVE + "; W14 _CudaGraphsTorchTensorRTModule.py:167-176"),
       backend="trt_rtx", cg_mode="outer_capture", cuda_graph_strategy=_WGC, shapes="dynamic", kernel_strategy=_CAPTURABLE_DYN),
)

_CAPTURE_SRC = "PyTorch aten/src/ATen/cuda/CUDAGraph.cpp capture_begin"
_SYNC_SRC = "CUDA: a host sync (.item()) on a capturing stream fails with cudaErrorStreamCaptureUnsupported"
_PYTORCH = (
    _r(Expect("runs", "none", "PyTorch eager: no capture"), backend="eager"),
    _r(Expect("runs", "torch_per_shape", "harness CudaGraphRunner: one torch.cuda.CUDAGraph per input shape"),
       backend="cudagraph", form="plain", cg_mode="capture_side"),
    _r(Expect("runs", "torch_per_shape", "harness CudaGraphRunner: capture on the caller's non-default stream"),
       backend="cudagraph", form="plain", cg_mode="capture_current", stream=NON_DEFAULT_STREAM_MODES),
    _r(Expect("raises", "none", _CAPTURE_SRC, exc="RuntimeError",
              message="CUDA graphs must be captured on a non-default stream"),
       backend="cudagraph", cg_mode="capture_current", stream="default"),
    _r(Expect("raises", "none", _SYNC_SRC, exc="RuntimeError", message="operation not permitted when stream is capturing"),
       backend="cudagraph", form="hostsync", cg_mode="capture_side"),
    _r(Expect("raises", "none", _SYNC_SRC, exc="RuntimeError", message="operation not permitted when stream is capturing"),
       backend="cudagraph", form="hostsync", cg_mode="capture_current", stream=NON_DEFAULT_STREAM_MODES),
    _r(Expect("runs", "none", "torch.compile mode=default: inductor kernels, no CUDA graph"),
       backend="compile", cg_mode="default"),
    _r(Expect("runs", "inductor", "torch.compile mode=reduce-overhead: inductor CUDA-graph trees"),
       backend="compile", cg_mode="reduce_overhead"),
)

BEHAVIOUR: tuple[Row, ...] = (*_TTRT_14_SHARED, *_TTRT_14_PYTHON, *_TTRT_14_CPP, *_TTRT_11, *_TRT_RTX, *_PYTORCH)


@dataclass(frozen=True)
class StreamRow:
    when: Mapping[str, tuple[str, ...]]
    kernel_stream: KernelStream
    source: str

    def matches(self, cell: Cell) -> bool:
        return all(getattr(cell, dim) in values for dim, values in self.when.items())


STREAMS: tuple[StreamRow, ...] = (
    StreamRow({"backend": ("torch_trt",), "version": ("2.14",), "stream": ("default",)}, "engine_side",
              DOC + "streams: current stream == default -> the engine's own pool stream, fenced both ways "
              "(H core/runtime/execute_engine.cpp:311-321; W14 _TRTEngine.py:1213-1225)"),
    StreamRow({"backend": ("torch_trt",), "version": ("2.14",), "stream": NON_DEFAULT_STREAM_MODES}, "caller",
              DOC + "streams: any other current stream is used directly (H execute_engine.cpp:316-321; "
              "W14 _TRTEngine.py:1221-1225)"),
    StreamRow({"backend": ("torch_trt",), "version": ("2.11",)}, "engine_side",
              DOC + "streams: 2.11 always used its own primary-context stream (green partitioning bypassed)"),
    StreamRow({"backend": ("trt_rtx", "eager", "cudagraph", "compile")}, "caller",
              DOC + "streams: the harness adapters enqueue on torch.cuda.current_stream(); PyTorch launches on the current stream"),
)


def exception_chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and what it was raised from or while handling, as a traceback shows it."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def raised_as_expected(exc: BaseException, exp: Expect) -> str:
    """Empty when ``exc`` matches the row: an exception of type ``exp.exc`` (or a subclass) somewhere in the
    chain, and ``exp.message`` in the text of some exception of the chain. Otherwise what did not match.

    The chain matters: an error inside ``torch.cuda.graph`` surfaces as the capture-end error
    ("operation failed due to a previous error during capture") raised while handling the root cause.
    """
    chain = list(exception_chain(exc))
    type_ok = any(exp.exc in {t.__name__ for t in type(e).__mro__} for e in chain)
    msg_ok = any(exp.message in str(e) for e in chain)
    if type_ok and msg_ok:
        return ""
    seen = " <- ".join(f"{type(e).__name__}({str(e).splitlines()[0][:160] if str(e) else ''!r})" for e in chain)
    return f"expected {exp.exc} containing {exp.message!r} ({exp.source}); raised {seen}"


def all_cells() -> Iterator[Cell]:
    for backend, dims in DOMAIN.items():
        names = [d for d in DIMS if d != "backend"]
        for values in itertools.product(*(dims[d] for d in names)):
            yield Cell(backend, **dict(zip(names, values, strict=True)))


class OracleError(Exception):
    """The oracle has no single expectation for a cell: a gap or an overlap in its tables."""


def expect(cell: Cell) -> Expect:
    hits = [r.expect for r in BEHAVIOUR if r.matches(cell)]
    if len(hits) != 1:
        raise OracleError(f"{len(hits)} behaviour rows match {cell.id}: {hits}")
    return hits[0]


def kernel_stream(cell: Cell) -> StreamRow:
    hits = [r for r in STREAMS if r.matches(cell)]
    if len(hits) != 1:
        raise OracleError(f"{len(hits)} stream rows match {cell.id}")
    return hits[0]
