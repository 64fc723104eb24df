"""Torch-TensorRT on TensorRT-RTX (2.14 API; behaviour and citations in docs/behaviour.md). Kept thin.

``torch_tensorrt`` is imported only inside ``build``/``load``, which run only when the probe found it
importable (it needs a GPU and torch 2.14), and it is imported with its per-user default runtime-cache path
pointed inside the harness's cache folder (W14 ``dynamo/_defaults.py:105`` computes it from the temp dir at
import), so no cell can read or write the user's shared cache. Knobs go through ``RuntimeSettings`` per module
(W14 ``dynamo/runtime/_TorchTensorRTModule.py:339-353``), never through ``compile()`` kwargs, which 2.14
swallows silently (W14 ``dynamo/_compiler.py:507``); "cache off" is an explicit ``runtime_cache=None``, since the
field's default is the per-user path (W14 ``runtime/_runtime_config.py:96-98``).

The runtime is whatever the package selects: in 2.14 the C++ runtime whenever ``libtorchtrt_runtime.so`` ships
(W14 ``_features.py:50-51``) and ``use_python_runtime`` is a no-op (W14 ``dynamo/_compiler.py:632-640``). The
runner reports the runtime that ran, read from the engine objects.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.backends.base import BuildConfig, Built, RunSettings, reject_options
from harness.errors import UsageError
from harness.vocab import RUNTIME_REQUESTS, SEGMENTATIONS, TORCH_TRT_CG_MODES

if TYPE_CHECKING:
    import torch
    from torch_tensorrt.dynamo.runtime import TorchTensorRTModule
    from torch_tensorrt.runtime._cudagraphs import _CudagraphsContextManager

    from harness.probe import EnvReport
    from models import ModelEntry

# build option "rt" (RUNTIME_REQUESTS): "selected" = whatever the package selects (2.14: the flag is a deprecated no-op,
# so it is never passed); "cpp"/"python" pass use_python_runtime, honoured by releases before 2.14.
# A forced graph break: ReLU runs in PyTorch between TensorRT engines (exercises WHOLE_GRAPH capture).
_BREAK_OPS = {"torch.ops.aten.relu.default"}


def import_torch_tensorrt(cache_dir: Path) -> Any:
    """``import torch_tensorrt`` with its per-user default cache path inside ``cache_dir``; refuses a process where
    it was imported earlier with the user's shared default."""
    home = cache_dir / "torch_tensorrt_tmp"
    if "torch_tensorrt" not in sys.modules:
        home.mkdir(parents=True, exist_ok=True)
        saved, tempfile.tempdir = tempfile.tempdir, str(home)
        try:
            import torch_tensorrt
        finally:
            tempfile.tempdir = saved
    import torch_tensorrt
    from torch_tensorrt.dynamo import _defaults

    default = Path(_defaults.RUNTIME_CACHE_PATH)
    if not default.resolve().is_relative_to(home.resolve()):
        raise UsageError("Torch-TensorRT default runtime cache", str(default),
                         "must lie inside the harness's cache folder, or a cell would share the user's cache",
                         "do not import torch_tensorrt before the harness does (a conftest or plugin imported it)")
    return torch_tensorrt


def engine_of(m: TorchTensorRTModule) -> Any:
    """The module's engine (the C++ torchbind engine or the Python ``TRTEngine``); set up at construction."""
    engine = m.engine
    if engine is None:
        raise RuntimeError(f"Torch-TensorRT module {m.name!r} has no engine set up")
    return engine


def runtime_of(engine: Any) -> str:
    """The runtime an engine object belongs to: the Python ``TRTEngine`` or the C++ torchbind engine."""
    from torch_tensorrt.dynamo.runtime._TRTEngine import TRTEngine

    return "python" if isinstance(engine, TRTEngine) else "cpp"


class TorchTrtRunner:
    """A compiled module under one CUDA-graph mode. ``close()`` leaves the process-wide mode as it found it."""

    def __init__(self, module: torch.nn.Module, settings: RunSettings) -> None:
        self.module = module
        self.settings = settings
        self.cg_mode = settings.cg_mode
        self._cm: _CudagraphsContextManager | None = None  # while WHOLE_GRAPH is entered
        self.contexts_at_load: list[int] = []  # per engine, after the settings, before the first forward

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.inference_mode():
            return self.module(x)  # type: ignore[no-any-return]

    def trt_modules(self) -> list[TorchTensorRTModule]:
        from torch_tensorrt.dynamo.runtime import TorchTensorRTModule

        root = getattr(self.module, "compiled_module", self.module)
        return [m for m in root.modules() if isinstance(m, TorchTensorRTModule)]

    def runtime(self) -> str:
        """The runtime that runs this module's engines, read from the engine objects ("mixed" never expected)."""
        kinds = {runtime_of(engine_of(m)) for m in self.trt_modules()}
        return kinds.pop() if len(kinds) == 1 else "mixed:" + ",".join(sorted(kinds))

    def contexts(self) -> list[int]:
        return [int(engine_of(m).num_execution_contexts_created()) for m in self.trt_modules()]

    def attached_caches(self) -> list[str]:
        """The runtime-cache file each engine's module attached ("" = none), read from the module."""
        paths = []
        for m in self.trt_modules():
            handle = m._implicit_cache_handle
            paths.append(str(handle.path) if handle is not None else "")
        return paths

    def applied(self) -> dict[str, str]:
        """Strategies read back: the module's settings (what it sent), and for the Python runtime the live
        ``IRuntimeConfig`` (W14 ``_TRTEngine.py:324-326``); the C++ engine exposes no read-back."""
        mods = self.trt_modules()
        out = {"module_cuda_graph_strategy": ",".join(sorted({m.runtime_settings.cuda_graph_strategy for m in mods})),
               "module_kernel_strategy": ",".join(sorted(
                   {m.runtime_settings.dynamic_shapes_kernel_specialization_strategy for m in mods}))}
        live = [engine_of(m).runtime_config for m in mods if runtime_of(engine_of(m)) == "python"]
        if live and all(c is not None for c in live):
            out["live_cuda_graph_strategy"] = ",".join(sorted({_enum_name(c.cuda_graph_strategy) for c in live}))
            out["live_kernel_strategy"] = ",".join(sorted(
                {_enum_name(c.dynamic_shapes_kernel_specialization_strategy) for c in live}))
        return out

    def describe(self) -> dict[str, str]:
        import torch_tensorrt

        return {"runtime": self.runtime(), "torch_tensorrt": torch_tensorrt.__version__, "cg_mode": self.cg_mode,
                "module_type": type(self.module).__name__, "engines": str(len(self.trt_modules())),
                "contexts_per_engine": ",".join(map(str, self.contexts())),
                "runtime_cache": ",".join(self.attached_caches()), **self.applied()}

    def save_cache(self) -> int:
        """Save each engine's implicit runtime cache (W14 ``RuntimeCache.save``); returns engines saved."""
        handles = [m._implicit_cache_handle for m in self.trt_modules() if m._implicit_cache_handle is not None]
        for h in handles:
            h.save()
        return len(handles)

    def enter_whole_graph(self) -> None:
        """``enable_cudagraphs`` returns a context manager (W14 ``runtime/_cudagraphs.py:61-118,165-189``): enter
        it; ``__enter__`` yields the wrapped module (or the module itself when it has no graph break)."""
        from torch_tensorrt import runtime as rt

        cm = rt.enable_cudagraphs(self.module)
        self.module = cm.__enter__()
        self._cm = cm

    def close(self) -> None:
        """Exit WHOLE_GRAPH mode (restores the mode and drops the captured graph) and turn SUBGRAPH mode off."""
        from torch_tensorrt import runtime as rt

        if self._cm is not None:
            cm, self._cm = self._cm, None
            cm.__exit__(None, None, None)
        rt.set_cudagraphs_mode(False)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).rsplit(".", 1)[-1].lower()


class TorchTrtBackend:
    name = "torch_trt"

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def unavailable(self, env: EnvReport, config: BuildConfig) -> str | None:
        """Every reason that applies: a missing torch_tensorrt and a TensorRT-RTX that refuses this GPU."""
        reasons = [c.reason for c in (env.cap("torch_tensorrt"), env.cap("trt_rtx_run")) if not c.ok]
        if env.gpu is None:  # without a GPU the runtime refusal is only "no driver": the import reason says it all
            reasons = reasons[:1]
        return "; and ".join(reasons) or None

    def validate(self, config: BuildConfig, settings: RunSettings) -> None:
        reject_options(config, {"rt": RUNTIME_REQUESTS, "seg": SEGMENTATIONS})
        if settings.cg_mode not in TORCH_TRT_CG_MODES:
            from harness.errors import UnknownChoiceError

            raise UnknownChoiceError("torch_trt CUDA-graph mode", settings.cg_mode, TORCH_TRT_CG_MODES)

    def build(self, model: ModelEntry, config: BuildConfig) -> Built:
        import torch

        torch_tensorrt = import_torch_tensorrt(self.cache_dir)
        spec = model.input
        if config.shapes == "dynamic":
            r = spec.dynamic_batch
            inputs = [torch_tensorrt.Input(min_shape=spec.shape(r.min), opt_shape=spec.shape(r.opt),
                                           max_shape=spec.shape(r.max), dtype=torch.float32)]
        else:
            inputs = [torch_tensorrt.Input(spec.shape(spec.static_batch), dtype=torch.float32)]
        broken = config.option("seg", "single") == "broken"
        rt = config.option("rt", "selected")
        runtime_kw = {} if rt == "selected" else {"use_python_runtime": rt == "python"}
        t0 = time.perf_counter()
        module = torch_tensorrt.compile(
            model.build().cuda(), ir="dynamo", inputs=inputs, min_block_size=1,
            torch_executed_ops=_BREAK_OPS if broken else set(), **runtime_kw,
        )
        return Built(config, module, time.perf_counter() - t0)

    def load(self, built: Built, settings: RunSettings) -> TorchTrtRunner:
        """Give every engine's module a fresh engine (``setup_engine`` from its serialized bytes: a cell never
        inherits another cell's execution contexts or overrides), apply the cell's settings and enter its
        CUDA-graph mode. Context counts are read before the first forward: upstream counts 0 at setup, 1 after the
        first forward, +1 per later settings change (test_004_runtime_settings.py:203-224,251-274)."""
        import_torch_tensorrt(self.cache_dir)
        from torch_tensorrt import runtime as rt

        runner = TorchTrtRunner(built.artifact, settings)
        new = rt.RuntimeSettings(cuda_graph_strategy=settings.cuda_graph_strategy,
                                 dynamic_shapes_kernel_specialization_strategy=settings.kernel_strategy,
                                 runtime_cache=settings.runtime_cache or None)  # None: no cache, never the default
        for m in runner.trt_modules():
            m.engine = None
            m.setup_engine()  # W14 _TorchTensorRTModule.py:449-473: builds the engine when none is attached
            m.runtime_settings = new
            runner.contexts_at_load.append(int(engine_of(m).num_execution_contexts_created()))
        rt.set_cudagraphs_mode(settings.cg_mode == "subgraph")  # process-wide: set for every cell, off at close()
        if settings.cg_mode == "whole_graph":
            runner.enter_whole_graph()
        return runner

