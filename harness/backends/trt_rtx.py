"""Native TensorRT-RTX backend: ONNX export -> ONNX parser -> engine build -> IRuntimeConfig execution.

Engines build on any machine (no GPU needed). Loading asks the library to deserialize; when it
refuses (no driver, or compute capability 9.0 on the GPU host) the cell skips with the library's words.
Engines and ONNX files are cached on disk, keyed by model hash, shapes, library version and options.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import nvtx_ranges
from harness.backends.base import BuildConfig, Built, RunSettings, capture_shape, reject_options, replay_per_shape
from harness.backends.trt_rtx_lib import CapturingLogger, known_refusal, refusal_text
from harness.errors import CapabilityMissing
from harness.results import write_atomic
from harness.runtime_cache import CacheFile, CacheLoad
from harness.vocab import COMPUTE_CAPABILITIES, NATIVE_CG_MODES

if TYPE_CHECKING:
    import tensorrt_rtx
    import torch

    from harness.probe import EnvReport
    from models import ModelEntry



def _trt() -> types.ModuleType:
    import tensorrt_rtx

    return tensorrt_rtx


def export_onnx(model: ModelEntry, shapes: str, cache_dir: Path) -> bytes:
    """ONNX of the model through torch.onnx's dynamo exporter; dynamic shapes get a named batch axis."""
    path = cache_dir / "onnx" / f"{model.name}-{shapes}-{model.weights_hash()}.onnx"
    if path.exists():
        return path.read_bytes()
    import torch

    r = model.input.dynamic_batch
    example = model.make_input(r.opt if shapes == "dynamic" else model.input.static_batch)
    dyn = ({0: torch.export.Dim("batch", min=r.min, max=r.max)},) if shapes == "dynamic" else None
    buf = io.BytesIO()
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints progress lines
        torch.onnx.export(
            model.build(), (example,), buf,  # type: ignore[arg-type]
            input_names=[model.input.name], output_names=["y"],
            dynamic_shapes=dyn, dynamo=True, external_data=False, verbose=False,
        )
    data = buf.getvalue()
    write_atomic(path, data)
    return data


def plan_problem(plan: bytes) -> str:
    """Empty when TensorRT-RTX accepts the plan here or refuses only this machine (``KNOWN_REFUSALS``); else the
    library's words (a serialization mismatch, a corrupt or truncated plan)."""
    trt = _trt()
    logger = CapturingLogger()
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    if engine is not None:
        del engine
        return ""
    text = refusal_text(logger.errors())
    return "" if known_refusal(text) else text


class TrtRtxRunner:
    """An execution context bound to an ``IRuntimeConfig``; enqueues on the caller's current stream.

    Everything ``describe()`` reports is read back from the library objects (the runtime config's strategies,
    the engine's input shape), never echoed from the settings the harness asked for.
    """

    def __init__(self, engine: tensorrt_rtx.ICudaEngine, settings: RunSettings, logger: Any) -> None:
        import tensorrt_rtx as trt

        self.engine = engine
        self.settings = settings
        self.logger = logger
        self.config: tensorrt_rtx.IRuntimeConfig = engine.create_runtime_config()
        self.config.cuda_graph_strategy = getattr(trt.CudaGraphStrategy, settings.cuda_graph_strategy.upper())
        self.config.dynamic_shapes_kernel_specialization_strategy = getattr(
            trt.DynamicShapesKernelSpecializationStrategy, settings.kernel_strategy.upper())
        self.cache: tensorrt_rtx.IRuntimeCache | None = None
        self.cache_load: CacheLoad | None = None
        self.loaded_bytes = 0  # what the library's cache holds right after deserialize: observed, not the file size
        if settings.runtime_cache:
            self.cache = self.config.create_runtime_cache()  # type: ignore[no-untyped-call]  # untyped in the stub
            with nvtx_ranges.phase("cache_load", settings.runtime_cache):
                # corrupt or mismatched bytes: deserialize says False, a cold start reported as "rejected"
                self.cache_load = CacheFile(Path(settings.runtime_cache)).load(self.cache.deserialize)
            self.loaded_bytes = self.cache_bytes()
            if not self.config.set_runtime_cache(self.cache):
                raise RuntimeError("IRuntimeConfig.set_runtime_cache refused the cache: " + "; ".join(logger.errors()))
        context: tensorrt_rtx.IExecutionContext | None = engine.create_execution_context(self.config)
        if context is None:
            raise RuntimeError("create_execution_context returned None: " + "; ".join(logger.errors()))
        self.context = context
        self.input_name = engine.get_tensor_name(0)
        self.output_name = engine.get_tensor_name(1)
        self.dynamic = -1 in _dims(engine.get_tensor_shape(self.input_name))
        self.last_stream = ""

    def applied(self) -> dict[str, str]:
        """The strategies the live runtime config holds, read back from it (``DISABLED`` -> ``disabled``)."""
        return {"cuda_graph_strategy": _enum_name(self.config.cuda_graph_strategy),
                "kernel_strategy": _enum_name(self.config.dynamic_shapes_kernel_specialization_strategy)}

    def cache_bytes(self) -> int:
        return len(host_bytes(self.cache.serialize())) if self.cache is not None else 0

    def save_cache(self) -> int:
        if self.cache is None or not self.settings.runtime_cache:
            return 0
        path = Path(self.settings.runtime_cache)
        with nvtx_ranges.phase("cache_save", str(path)):
            return CacheFile(path).save(host_bytes(self.cache.serialize()))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        stream = torch.cuda.current_stream()
        self.context.set_input_shape(self.input_name, tuple(x.shape))
        out = torch.empty(_dims(self.context.get_tensor_shape(self.output_name)), device=x.device, dtype=torch.float32)
        x = x.contiguous()
        for name, ptr in ((self.input_name, x.data_ptr()), (self.output_name, out.data_ptr())):
            if not self.context.set_tensor_address(name, ptr):
                raise RuntimeError(f"set_tensor_address({name!r}) failed: " + "; ".join(self.logger.errors()))
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("execute_async_v3 failed: " + "; ".join(self.logger.errors()))
        self.last_stream = "default" if stream == torch.cuda.default_stream() else f"0x{stream.cuda_stream:x}"
        return out

    def monolithic_capturable(self) -> str:
        """Empty when an outer capture may wrap this context, else why not. Torch-TensorRT's rule
        (W14 ``runtime/_runtime_config.py:229-254``): the context must be stream-capturable, and lazy kernel
        specialization with a dynamic input swaps kernels mid-run, so it never is."""
        import torch

        if not self.context.is_stream_capturable(torch.cuda.current_stream().cuda_stream):
            return "is_stream_capturable() is False"
        if self.dynamic and self.applied()["kernel_strategy"] == "lazy":
            return "lazy kernel specialization with a dynamic input"
        return ""

    def describe(self) -> dict[str, str]:
        return {"runtime": "tensorrt_rtx", "stream": self.last_stream, **self.applied(),
                "runtime_cache": self.cache_load.status if self.cache_load else "off"}


def _dims(d: tensorrt_rtx.Dims) -> tuple[int, ...]:
    return tuple(d[i] for i in range(len(d)))


def host_bytes(mem: tensorrt_rtx.IHostMemory) -> bytes:
    """The bytes of an ``IHostMemory`` (it exports the buffer protocol, which the generated stub does not show)."""
    buffer: Any = mem
    return bytes(memoryview(buffer))


def _enum_name(value: Any) -> str:
    """``CudaGraphStrategy.WHOLE_GRAPH_CAPTURE`` -> ``whole_graph_capture``."""
    return str(getattr(value, "name", value)).rsplit(".", 1)[-1].lower()


class OuterCaptureRunner:
    """The native engine under an outer ``torch.cuda.CUDAGraph``, one per input shape, mirroring Torch-TensorRT's
    WHOLE_GRAPH rule (W14 ``_CudaGraphsTorchTensorRTModule.py:150-176``): refuse when the execution context is
    not monolithically capturable; TensorRT-RTX's own capture is turned off at load. ``requested`` is the
    strategy the cell asked for; ``describe()`` reads the strategy that the live config holds."""

    def __init__(self, inner: TrtRtxRunner, requested: str) -> None:
        self.inner = inner
        self.requested = requested
        self.graphs: dict[tuple[int, ...], tuple[Any, Any, Any]] = {}
        self.captures = 0

    def _capture(self, x: torch.Tensor) -> tuple[Any, Any, Any]:
        import torch

        from harness.errors import CaptureRefused

        def refuse_uncapturable(static_in: torch.Tensor) -> None:
            self.inner(static_in)  # first run outside capture: shapes bound, lazy work done
            why = self.inner.monolithic_capturable()
            if why:
                raise CaptureRefused(f"the TensorRT-RTX execution context is not stream-capturable for shape "
                                     f"{tuple(x.shape)}: {why}")

        captured = capture_shape(self.inner, x, torch.cuda.Stream(), refuse_uncapturable)  # type: ignore[no-untyped-call]
        self.captures += 1
        return captured

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return replay_per_shape(self.graphs, x, self._capture)

    def save_cache(self) -> int:
        return self.inner.save_cache()

    def describe(self) -> dict[str, str]:
        live = self.inner.applied()["cuda_graph_strategy"]
        native = "on" if live != "disabled" else ("forced_off" if self.requested != "disabled" else "off")
        return {**self.inner.describe(), "cg_mode": "outer_capture", "captures": str(self.captures),
                "requested_cuda_graph_strategy": self.requested, "rtx_native": native}


class TrtRtxBackend:
    name = "trt_rtx"

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def unavailable(self, env: EnvReport, config: BuildConfig) -> str | None:
        cap = env.cap("trt_rtx_build")
        return None if cap.ok else cap.reason

    def validate(self, config: BuildConfig, settings: RunSettings) -> None:
        reject_options(config, {"compute_capability": COMPUTE_CAPABILITIES})
        if settings.cg_mode not in NATIVE_CG_MODES:
            from harness.errors import UnknownChoiceError

            raise UnknownChoiceError("trt_rtx CUDA-graph mode", settings.cg_mode, NATIVE_CG_MODES)
        if config.device != "cuda":
            from harness.errors import UnknownChoiceError

            raise UnknownChoiceError("trt_rtx device", config.device, ("cuda",),
                                     "TensorRT-RTX engines run on a GPU: build with device='cuda'")

    def engine_path(self, model: ModelEntry, config: BuildConfig) -> Path:
        version = _trt().__version__
        return self.cache_dir / "trt_rtx" / f"{model.name}-{config.shapes}-{model.weights_hash()}-{version}-{config.key}.engine"

    def build(self, model: ModelEntry, config: BuildConfig) -> Built:
        from filelock import FileLock

        path = self.engine_path(model, config)
        with FileLock(str(path) + ".lock", timeout=600):
            if path.exists():
                data = path.read_bytes()
                return Built(config, data, 0.0, len(data), from_disk_cache=True)
            t0 = time.perf_counter()
            data = self._build_engine(model, config)
            build_s = time.perf_counter() - t0
            write_atomic(path, data)
        return Built(config, data, build_s, len(data), notes={"engine_path": str(path)})

    def _build_engine(self, model: ModelEntry, config: BuildConfig) -> bytes:
        trt = _trt()
        onnx = export_onnx(model, config.shapes, self.cache_dir)
        logger = CapturingLogger()
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(onnx):
            raise RuntimeError("ONNX parse failed: " + "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
        bc = builder.create_builder_config()
        cc = config.option("compute_capability", "")
        if cc:
            bc.num_compute_capabilities = 1
            bc.set_compute_capability(getattr(trt.ComputeCapability, cc.upper()), 0)
        if config.shapes == "dynamic":
            r, spec = model.input.dynamic_batch, model.input
            profile = builder.create_optimization_profile()
            profile.set_shape(spec.name, spec.shape(r.min), spec.shape(r.opt), spec.shape(r.max))
            bc.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, bc)
        if plan is None:
            raise RuntimeError("engine build failed: " + "; ".join(logger.errors()))
        return host_bytes(plan)

    def load(self, built: Built, settings: RunSettings) -> TrtRtxRunner | OuterCaptureRunner:
        if settings.cg_mode == "outer_capture":  # TensorRT-RTX's own capture off under an outer capture
            inner = self.load_engine(built, dataclasses.replace(settings, cuda_graph_strategy="disabled", cg_mode="standard"))
            return OuterCaptureRunner(inner, settings.cuda_graph_strategy)
        return self.load_engine(built, settings)

    def load_engine(self, built: Built, settings: RunSettings) -> TrtRtxRunner:
        """The engine in an execution context of its own, no outer capture. Only a known refusal (this GPU's
        compute capability, no usable driver) becomes ``CapabilityMissing`` (a skip); any other deserialize
        failure is an engine bug and raises with the library's words."""
        trt = _trt()
        logger = CapturingLogger()
        engine = trt.Runtime(logger).deserialize_cuda_engine(built.artifact)
        if engine is None:
            text = refusal_text(logger.errors())
            if known_refusal(text):
                raise CapabilityMissing(f"tensorrt_rtx {trt.__version__}", text)
            raise RuntimeError(f"tensorrt_rtx {trt.__version__} could not deserialize the engine: {text}")
        return TrtRtxRunner(engine, settings, logger)
