"""The words of the test matrix, each defined once: a ``Literal`` type for mypy and the tuple of its members.

Every other module imports these instead of spelling its own tuple (``tests/test_vocabulary.py`` checks it by
reading the source). A subset is its own ``Literal`` (e.g. ``RtxVariant``), so a value typed with it is known
to belong to the whole set too. Tuples keep the members in the order the matrix is parametrized in.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

# --- what runs -----------------------------------------------------------------------------------------------
# A backend: one adapter of the registry (``harness/backends``), the oracle's ``backend`` dimension.
PytorchBackend = Literal["eager", "cudagraph", "compile"]  # the PyTorch backends: run on the CPU and on any GPU
RtxVariant = Literal["trt_rtx", "torch_trt"]  # TensorRT-RTX runtime knobs; their case ids always name them
Backend = Literal[PytorchBackend, RtxVariant]
# A variant: a backend with fixed build options, what a profile lists (``config.VARIANTS``, results' ``variant``).
Variant = Literal[PytorchBackend, "compile-ro", RtxVariant]  # compile-ro: torch.compile mode=reduce-overhead
CacheVariant = Literal["compile", "trt_rtx", "torch_trt"]  # variants with an on-disk runtime (or inductor) cache
FreshVariant = Literal["cudagraph", "compile-ro", "trt_rtx", "torch_trt"]  # replay CUDA graphs: timed in a fresh process
ModelForm = Literal["plain", "hostsync"]  # build option "form": the model as is, or wrapped with a host sync per forward
Device = Literal["cpu", "cuda"]  # where a cell runs
DeviceChoice = Literal["auto", Device]  # what a run asks for; auto = cuda where a GPU shows, else cpu
Shapes = Literal["static", "dynamic"]  # the model's batch: fixed, or a dynamic range (optimization profile)

# --- TensorRT-RTX runtime knobs (Torch-TensorRT RuntimeSettings) -------------------------------------------------
CudaGraphStrategy = Literal["disabled", "whole_graph_capture"]  # W14 runtime/_runtime_config.py:62-136
KernelStrategy = Literal["lazy", "eager", "none"]  # dynamic-shape kernel specialization, W14 _runtime_config.py:404
CacheState = Literal["off", "cold", "warm", "corrupt"]  # the runtime cache a cell starts from
CacheStart = Literal["cold", "warm", "corrupt_cold"]  # what a fresh process's start must look like (cache verdicts)

# --- CUDA-graph modes (``RunSettings.cg_mode`` and the oracle's ``cg_mode``) --------------------------------------
TorchTrtCgMode = Literal["standard", "subgraph", "whole_graph"]  # Torch-TensorRT set_cudagraphs_mode / enable_cudagraphs
NativeCgMode = Literal["standard", "outer_capture"]  # native adapter: none, or an outer torch.cuda.CUDAGraph capture
CgMode = Literal[TorchTrtCgMode, NativeCgMode]  # every RunSettings.cg_mode; each RTX adapter validates its subset
CudagraphCgMode = Literal["capture_side", "capture_current"]  # cudagraph backend: capture on a side or the caller's stream
CompileCgMode = Literal["default", "reduce_overhead"]  # torch.compile: inductor kernels, or its CUDA-graph trees
OracleCgMode = Literal[CgMode, CudagraphCgMode, CompileCgMode]  # the oracle's cg_mode over every backend
CaptureStream = Literal["side", "current"]  # cudagraph build option "capture" (CudagraphCgMode without the prefix)
CompileMode = Literal["default", "reduce-overhead"]  # compile build option "compile_mode" (torch.compile's mode)

# --- Torch-TensorRT -----------------------------------------------------------------------------------------------
TorchTrtRuntime = Literal["cpp", "python"]  # the runtime that ran (C++ TorchTensorRTModule or Python engine)
RuntimeRequest = Literal["selected", TorchTrtRuntime]  # build option "rt"; selected = whatever the package selects
TorchTrtVersion = Literal["2.11", "2.14"]  # releases the oracle has rows for
Segmentation = Literal["single", "broken"]  # build option "seg": one engine, or engines around a forced graph break
ComputeCapability = Literal["current", "sm75", "sm80", "sm86", "sm89", "sm120", "sm121"]  # native set_compute_capability

# --- streams ------------------------------------------------------------------------------------------------------
# Where the caller's work is enqueued (the oracle's ``stream``; ``green`` = a stream of any green context).
BoundStreamMode = Literal["default", "caller", "external"]  # the legacy default, a torch stream, a cuda-python one
StreamMode = Literal[BoundStreamMode, "green"]
NonDefaultStreamMode = Literal["caller", "external", "green"]  # a stream the caller made current
GreenStreamKind = Literal["green", "torchgreen"]  # green<N> through the driver, torchgreen<N> through torch
StreamKind = Literal[BoundStreamMode, GreenStreamKind]  # a parsed stream mode's kind (``streams.StreamMode``)
# A stream mode as a cell names it: the bound modes, or a green kind with the SMs it asks for (green16).
STREAM_MODE_PATTERN = re.compile(r"^(default|caller|external|green(\d+)|torchgreen(\d+))$")
Control = Literal["none", "default_stream", "side_stream", "fewer_sms"]  # a confinement cell's deliberate fault

NA = "n/a"  # the value of a dimension a backend does not have (the oracle's cells)

PYTORCH_BACKENDS: tuple[PytorchBackend, ...] = get_args(PytorchBackend)
RTX_VARIANTS: tuple[RtxVariant, ...] = get_args(RtxVariant)
BACKENDS: tuple[Backend, ...] = get_args(Backend)
VARIANTS: tuple[Variant, ...] = get_args(Variant)
CACHE_VARIANTS: tuple[CacheVariant, ...] = get_args(CacheVariant)
FRESH_VARIANTS: tuple[FreshVariant, ...] = get_args(FreshVariant)
MODEL_FORMS: tuple[ModelForm, ...] = get_args(ModelForm)
DEVICES: tuple[Device, ...] = get_args(Device)
DEVICE_CHOICES: tuple[DeviceChoice, ...] = get_args(DeviceChoice)
SHAPES: tuple[Shapes, ...] = get_args(Shapes)
CUDA_GRAPH_STRATEGIES: tuple[CudaGraphStrategy, ...] = get_args(CudaGraphStrategy)
KERNEL_STRATEGIES: tuple[KernelStrategy, ...] = get_args(KernelStrategy)
CACHE_STATES: tuple[CacheState, ...] = get_args(CacheState)
CACHE_STARTS: tuple[CacheStart, ...] = get_args(CacheStart)
TORCH_TRT_CG_MODES: tuple[TorchTrtCgMode, ...] = get_args(TorchTrtCgMode)
NATIVE_CG_MODES: tuple[NativeCgMode, ...] = get_args(NativeCgMode)
CG_MODES: tuple[CgMode, ...] = get_args(CgMode)
CUDAGRAPH_CG_MODES: tuple[CudagraphCgMode, ...] = get_args(CudagraphCgMode)
COMPILE_CG_MODES: tuple[CompileCgMode, ...] = get_args(CompileCgMode)
ORACLE_CG_MODES: tuple[OracleCgMode, ...] = get_args(OracleCgMode)
CAPTURE_STREAMS: tuple[CaptureStream, ...] = get_args(CaptureStream)
COMPILE_MODES: tuple[CompileMode, ...] = get_args(CompileMode)
TORCH_TRT_RUNTIMES: tuple[TorchTrtRuntime, ...] = get_args(TorchTrtRuntime)
RUNTIME_REQUESTS: tuple[RuntimeRequest, ...] = get_args(RuntimeRequest)
TORCH_TRT_VERSIONS: tuple[TorchTrtVersion, ...] = get_args(TorchTrtVersion)
SEGMENTATIONS: tuple[Segmentation, ...] = get_args(Segmentation)
COMPUTE_CAPABILITIES: tuple[ComputeCapability, ...] = get_args(ComputeCapability)
BOUND_STREAM_MODES: tuple[BoundStreamMode, ...] = get_args(BoundStreamMode)
STREAM_MODES: tuple[StreamMode, ...] = get_args(StreamMode)
NON_DEFAULT_STREAM_MODES: tuple[NonDefaultStreamMode, ...] = get_args(NonDefaultStreamMode)
GREEN_STREAM_KINDS: tuple[GreenStreamKind, ...] = get_args(GreenStreamKind)
STREAM_KINDS: tuple[StreamKind, ...] = get_args(StreamKind)
CONTROLS: tuple[Control, ...] = get_args(Control)

# Each matrix dimension by the names code gives it (attributes, keyword arguments, build options): the words it may
# hold. ``tests/test_vocabulary.py`` checks every string compared with or passed as one of these against it.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "variant": VARIANTS, "backend": BACKENDS, "form": MODEL_FORMS, "device": DEVICE_CHOICES, "shapes": SHAPES,
    "cuda_graph_strategy": CUDA_GRAPH_STRATEGIES, "kernel_strategy": KERNEL_STRATEGIES, "cache": CACHE_STATES,
    "cg_mode": ORACLE_CG_MODES, "capture": CAPTURE_STREAMS, "compile_mode": COMPILE_MODES,
    "runtime": RUNTIME_REQUESTS, "rt": RUNTIME_REQUESTS, "version": TORCH_TRT_VERSIONS,
    "segmentation": SEGMENTATIONS, "seg": SEGMENTATIONS, "stream": STREAM_KINDS, "control": CONTROLS,
}


def is_stream_mode(text: str) -> bool:
    """A stream mode a cell may name: ``default``, ``caller``, ``external``, ``green<N>`` or ``torchgreen<N>``."""
    return STREAM_MODE_PATTERN.match(text) is not None
