"""The words of the test matrix, each defined once: a ``Literal`` type for mypy, the tuple of its members, and a
one-line definition of every word (``GLOSSARY``).

Every other module imports these instead of spelling its own tuple; ``tests/test_vocabulary.py`` checks it by
reading the source. A subset is its own ``Literal`` built from its parent's words where typing allows (e.g.
``CacheVariant`` from ``RtxVariant``), so a value typed with it is known to belong to the whole set too. Tuples keep
the members in the order the matrix is parametrized in. Some words mean different things in different dimensions
(``default`` is a stream mode, a torch.compile CUDA-graph mode and a torch.compile mode): the dimension says which.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

# --- what runs -----------------------------------------------------------------------------------------------
PytorchBackend = Literal["eager", "cudagraph", "compile"]  # run on the CPU and on any GPU
RtxVariant = Literal["trt_rtx", "torch_trt"]  # TensorRT-RTX runtime knobs; their case ids always name them
Backend = Literal[PytorchBackend, RtxVariant]  # an adapter of the registry; the oracle's ``backend``
Variant = Literal[PytorchBackend, "compile-ro", RtxVariant]  # a backend with fixed build options (config.VARIANTS)
CacheVariant = Literal["compile", RtxVariant]  # variants with an on-disk runtime (or inductor) cache
FreshVariant = Literal["cudagraph", "compile-ro", RtxVariant]  # replay CUDA graphs: timed in a fresh process on a GPU
CudaOnlyBackend = Literal["cudagraph", RtxVariant]  # build for cuda whatever device the run asks for (their cells skip
# with the probe's reason on a machine without a GPU; TensorRT-RTX still builds there)
ModelForm = Literal["plain", "hostsync"]  # build option "form" of the PyTorch backends
Device = Literal["cpu", "cuda"]
DeviceChoice = Literal["auto", Device]  # what a run asks for
Shapes = Literal["static", "dynamic"]

# --- TensorRT-RTX runtime knobs (Torch-TensorRT RuntimeSettings) -------------------------------------------------
CudaGraphStrategy = Literal["disabled", "whole_graph_capture"]  # W14 runtime/_runtime_config.py:62-136
KernelStrategy = Literal["lazy", "eager", "none"]  # dynamic-shape kernel specialization, W14 _runtime_config.py:404
CacheState = Literal["off", "cold", "warm", "corrupt"]  # the runtime cache a cell starts from
CacheStart = Literal["cold", "warm", "corrupt_cold"]  # what a fresh process's start must look like (cache verdicts)

# --- CUDA-graph modes (``RunSettings.cg_mode`` and the oracle's ``cg_mode``) --------------------------------------
NoCgMode = Literal["standard"]  # the mode every backend has
TorchTrtCgMode = Literal[NoCgMode, "subgraph", "whole_graph"]  # Torch-TensorRT's modes
NativeCgMode = Literal[NoCgMode, "outer_capture"]  # the native adapter's modes
CgMode = Literal[TorchTrtCgMode, NativeCgMode]  # every RunSettings.cg_mode; each RTX adapter validates its subset
CudagraphCgMode = Literal["capture_side", "capture_current"]  # the cudagraph backend's modes in the oracle
CompileCgMode = Literal["default", "reduce_overhead"]  # torch.compile's modes in the oracle
OracleCgMode = Literal[CgMode, CudagraphCgMode, CompileCgMode]  # the oracle's cg_mode over every backend
CaptureStream = Literal["side", "current"]  # cudagraph build option "capture"
CompileMode = Literal["default", "reduce-overhead"]  # compile build option "compile_mode": torch.compile(mode=)

# --- Torch-TensorRT -----------------------------------------------------------------------------------------------
TorchTrtRuntime = Literal["cpp", "python"]  # the runtime that ran
RuntimeRequest = Literal["selected", TorchTrtRuntime]  # build option "rt": the runtime a cell asks for
TorchTrtVersion = Literal["2.11", "2.14"]  # releases the oracle has rows for
Segmentation = Literal["single", "broken"]  # build option "seg"
ComputeCapability = Literal["current", "sm75", "sm80", "sm86", "sm89", "sm120", "sm121"]  # native set_compute_capability

# --- streams: where the caller's work is enqueued -----------------------------------------------------------------
CallerStreamMode = Literal["caller", "external"]  # a stream the caller created and made current
BoundStreamMode = Literal["default", CallerStreamMode]  # no green context
StreamMode = Literal[BoundStreamMode, "green"]  # the oracle's ``stream``
NonDefaultStreamMode = Literal[CallerStreamMode, "green"]
GreenStreamKind = Literal["green", "torchgreen"]  # a stream of a green context (green<N>, torchgreen<N>)
StreamKind = Literal[BoundStreamMode, GreenStreamKind]  # a parsed stream mode's kind (``harness.streams.StreamMode``)
# A stream mode as a cell names it: a bound mode, or a green kind with the SMs it asks for (green16, torchgreen32).
STREAM_MODE_PATTERN = re.compile(r"^(default|caller|external|green(\d+)|torchgreen(\d+))$")
# A confinement cell's deliberate fault; harness.expect.confinement.CONTROL_PROBLEMS says what its verdict must name.
Control = Literal["none", "default_stream", "side_stream", "fewer_sms", "side_capture"]

NA = "n/a"  # the value of a dimension a backend does not have (the oracle's cells)
# model / variant / shapes / stream of a record that measures no matrix cell (a green-context lifecycle probe, the
# cache file's savers, GPU affinity, a calibration workload): its case id and its own keys say what it measured
NOT_A_CELL = "-"

PYTORCH_BACKENDS: tuple[PytorchBackend, ...] = get_args(PytorchBackend)
RTX_VARIANTS: tuple[RtxVariant, ...] = get_args(RtxVariant)
BACKENDS: tuple[Backend, ...] = get_args(Backend)
VARIANTS: tuple[Variant, ...] = get_args(Variant)
CACHE_VARIANTS: tuple[CacheVariant, ...] = get_args(CacheVariant)
FRESH_VARIANTS: tuple[FreshVariant, ...] = get_args(FreshVariant)
CUDA_ONLY_BACKENDS: tuple[CudaOnlyBackend, ...] = get_args(CudaOnlyBackend)
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

# One line per word, by the dimension it belongs to (the widest Literal holding it).
GLOSSARY: dict[str, dict[str, str]] = {
    "Variant": {
        "eager": "PyTorch eager execution of the model",
        "cudagraph": "the harness's manual torch.cuda.CUDAGraph capture and replay, one graph per input shape",
        "compile": "torch.compile (inductor), mode=default: fused kernels, no CUDA graph",
        "compile-ro": "torch.compile (inductor), mode=reduce-overhead: inductor's CUDA-graph trees",
        "trt_rtx": "native TensorRT-RTX: ONNX export, engine build, execution through an IRuntimeConfig",
        "torch_trt": "Torch-TensorRT on TensorRT-RTX: torch_tensorrt.compile, knobs through RuntimeSettings",
    },
    "ModelForm": {
        "plain": "the model as built",
        "hostsync": "the model wrapped so every forward synchronizes with the host (.item()): not capturable",
    },
    "DeviceChoice": {
        "auto": "cuda where the probe finds a GPU, else cpu",
        "cpu": "the host CPU",
        "cuda": "a CUDA GPU",
    },
    "Shapes": {
        "static": "one fixed batch size",
        "dynamic": "a batch range (an optimization profile min/opt/max)",
    },
    "CudaGraphStrategy": {
        "disabled": "TensorRT-RTX does not capture CUDA graphs itself",
        "whole_graph_capture": "TensorRT-RTX captures the engine's launches into its own CUDA graph",
    },
    "KernelStrategy": {
        "lazy": "dynamic-shape kernels compiled for a new shape on first sight (a fallback runs meanwhile)",
        "eager": "dynamic-shape kernels compiled for a new shape before it runs",
        "none": "no shape-specialized kernels: the generic dynamic-shape kernels only",
    },
    "CacheState": {
        "off": "no runtime cache",
        "cold": "a runtime cache file that does not exist yet",
        "warm": "a runtime cache file a previous process wrote",
        "corrupt": "a runtime cache file whose bytes no deserializer accepts",
    },
    "CacheStart": {
        "cold": "nothing loaded from the cache: every kernel compiled anew",
        "warm": "the whole cache file loaded and used: nothing compiled anew",
        "corrupt_cold": "a corrupt file dropped, then a cold start",
    },
    "OracleCgMode": {
        "standard": "no CUDA-graph mode: the module runs as built (Torch-TensorRT CudaGraphsMode.STANDARD)",
        "subgraph": "Torch-TensorRT SUBGRAPH_CUDAGRAPHS: each engine captured on its own",
        "whole_graph": "Torch-TensorRT WHOLE_GRAPH_CUDAGRAPHS: the whole module under one outer capture",
        "outer_capture": "the native engine under an outer torch.cuda.CUDAGraph capture",
        "capture_side": "cudagraph backend, capture on a private side stream",
        "capture_current": "cudagraph backend, capture on the caller's current stream",
        "default": "torch.compile mode=default",
        "reduce_overhead": "torch.compile mode=reduce-overhead",
    },
    "CaptureStream": {
        "side": "capture on a private stream, replay on the caller's",
        "current": "capture on the caller's current stream",
    },
    "CompileMode": {
        "default": "torch.compile(mode='default')",
        "reduce-overhead": "torch.compile(mode='reduce-overhead')",
    },
    "RuntimeRequest": {
        "selected": "whatever runtime the package selects (2.14: C++ where libtorchtrt_runtime.so ships)",
        "cpp": "the C++ runtime (TorchTensorRTModule, torch.ops.tensorrt.execute_engine)",
        "python": "the Python runtime (PythonTorchTensorRTModule)",
    },
    "TorchTrtVersion": {
        "2.11": "Torch-TensorRT 2.11: the CUDA-graph mode APIs, none of the RTX runtime features",
        "2.14": "Torch-TensorRT 2.14: RuntimeSettings, runtime cache, cuda_graph_strategy",
    },
    "Segmentation": {
        "single": "one TensorRT engine for the whole model",
        "broken": "TensorRT engines around a forced graph break (ReLU runs in PyTorch)",
    },
    "ComputeCapability": {
        "current": "the GPU the engine is built on",
        "sm75": "compute capability 7.5 (Turing)",
        "sm80": "compute capability 8.0 (Ampere A100)",
        "sm86": "compute capability 8.6 (Ampere consumer)",
        "sm89": "compute capability 8.9 (Ada)",
        "sm120": "compute capability 12.0 (Blackwell consumer)",
        "sm121": "compute capability 12.1",
    },
    "StreamKind": {
        "default": "the device's legacy default stream",
        "caller": "a torch.cuda.Stream made current",
        "external": "a cuda-python stream (cudaStreamCreateWithFlags) wrapped with torch.cuda.ExternalStream",
        "green": "a stream of a green context of N SMs made through the driver (green<N>)",
        "torchgreen": "a stream of a green context of N SMs made through torch.cuda.green_contexts (torchgreen<N>)",
    },
    "Control": {
        "none": "no fault: a real cell",
        "default_stream": "the model runs on the legacy default stream instead of the bound one",
        "side_stream": "the model runs on a side stream instead of the bound one",
        "fewer_sms": "the range claims more SMs than the green context holds",
        "side_capture": "a CUDA graph captured on a primary-context side stream, replayed on the bound green stream: "
                        "its kernels run outside the bound context (the cudagraph backend with capture=side)",
    },
}

# Each matrix dimension by the names code gives it (attributes, keyword arguments, build options): the words it may
# hold. ``tests/test_vocabulary.py`` checks every string compared with or passed as one of these against it.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "variant": VARIANTS, "backend": BACKENDS, "form": MODEL_FORMS, "device": DEVICE_CHOICES, "shapes": SHAPES,
    "cuda_graph_strategy": CUDA_GRAPH_STRATEGIES, "kernel_strategy": KERNEL_STRATEGIES, "cache": CACHE_STATES,
    "cg_mode": ORACLE_CG_MODES, "capture": CAPTURE_STREAMS, "compile_mode": COMPILE_MODES,
    "runtime": RUNTIME_REQUESTS, "rt": RUNTIME_REQUESTS, "version": TORCH_TRT_VERSIONS,
    "segmentation": SEGMENTATIONS, "seg": SEGMENTATIONS, "stream": STREAM_KINDS, "control": CONTROLS,
    "compute_capability": COMPUTE_CAPABILITIES,
}


def is_stream_mode(text: str) -> bool:
    """A stream mode a cell may name: ``default``, ``caller``, ``external``, ``green<N>`` or ``torchgreen<N>``."""
    return STREAM_MODE_PATTERN.match(text) is not None
