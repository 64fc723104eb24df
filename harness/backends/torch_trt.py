"""Torch-TensorRT on TensorRT-RTX (2.14 API, docs/behaviour.md#api-2140). Kept thin.

``torch_tensorrt`` is imported only inside ``build``/``load``, which run only when the probe found it
importable (it needs a GPU and torch 2.14). Knobs go through ``RuntimeSettings`` per module (spec API:
W14 dynamo/runtime/_TorchTensorRTModule.py:339-353), never through ``compile()`` kwargs, which 2.14
swallows silently (W14 dynamo/_compiler.py:507).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.backends.base import BuildConfig, Built, RunSettings, reject_options

if TYPE_CHECKING:
    import torch

    from harness.probe import EnvReport
    from models import ModelEntry

RUNTIMES = ("cpp", "python")  # build option "rt"
CG_MODES = ("standard", "subgraph", "whole_graph")  # RunSettings.cg_mode
SEGMENTATIONS = ("single", "broken")  # build option "seg"
# A forced graph break: ReLU runs in PyTorch between TensorRT engines (exercises WHOLE_GRAPH capture).
_BREAK_OPS = {"torch.ops.aten.relu.default"}


class TorchTrtRunner:
    def __init__(self, module: Any, runtime: str, settings: RunSettings) -> None:
        self.module = module
        self.runtime = runtime
        self.cg_mode = settings.cg_mode
        self.settings = settings

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.inference_mode():
            return self.module(x)  # type: ignore[no-any-return]

    def trt_modules(self) -> list[Any]:
        from torch_tensorrt.dynamo.runtime import TorchTensorRTModule

        root = getattr(self.module, "compiled_module", self.module)
        return [m for m in root.modules() if isinstance(m, TorchTensorRTModule)]

    def describe(self) -> dict[str, str]:
        import torch_tensorrt

        mods = self.trt_modules()
        contexts = [str(m.engine.num_execution_contexts_created()) for m in mods
                    if hasattr(m.engine, "num_execution_contexts_created")]
        return {"runtime": f"torch_tensorrt {torch_tensorrt.__version__} ({self.runtime})", "cg_mode": self.cg_mode,
                "cuda_graph_strategy": self.settings.cuda_graph_strategy, "engines": str(len(mods)),
                "contexts_per_engine": ",".join(contexts)}

    def save_cache(self) -> int:
        """Save each engine's implicit runtime cache (spec API: RuntimeCache.save); returns engines saved."""
        handles = [m._implicit_cache_handle for m in self.trt_modules() if getattr(m, "_implicit_cache_handle", None)]
        for h in handles:
            h.save()
        return len(handles)


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
        reject_options(config, {"rt": RUNTIMES, "seg": SEGMENTATIONS})
        if settings.cg_mode not in CG_MODES:
            from harness.errors import UnknownChoiceError

            raise UnknownChoiceError("torch_trt CUDA-graph mode", settings.cg_mode, CG_MODES)

    def build(self, model: ModelEntry, config: BuildConfig) -> Built:
        import torch
        import torch_tensorrt

        spec = model.input
        if config.shapes == "dynamic":
            r = spec.dynamic_batch
            inputs = [torch_tensorrt.Input(min_shape=spec.shape(r.min), opt_shape=spec.shape(r.opt),
                                           max_shape=spec.shape(r.max), dtype=torch.float32)]
        else:
            inputs = [torch_tensorrt.Input(spec.shape(spec.static_batch), dtype=torch.float32)]
        broken = config.option("seg", "single") == "broken"
        t0 = time.perf_counter()
        module = torch_tensorrt.compile(
            model.build().cuda(), ir="dynamo", inputs=inputs, min_block_size=1,
            use_python_runtime=config.option("rt", "cpp") == "python",
            torch_executed_ops=_BREAK_OPS if broken else set(),
        )
        return Built(config, module, time.perf_counter() - t0)

    def load(self, built: Built, settings: RunSettings) -> TorchTrtRunner:
        from torch_tensorrt import runtime as rt

        runner = TorchTrtRunner(built.artifact, built.config.option("rt", "cpp"), settings)
        kwargs: dict[str, Any] = {"cuda_graph_strategy": settings.cuda_graph_strategy,
                                  "dynamic_shapes_kernel_specialization_strategy": settings.kernel_strategy}
        if settings.runtime_cache:
            kwargs["runtime_cache"] = settings.runtime_cache
        for m in runner.trt_modules():
            m.runtime_settings = rt.RuntimeSettings(**kwargs)
        rt.set_cudagraphs_mode(runner.cg_mode == "subgraph")  # process-wide: set for every cell, never left on
        if runner.cg_mode == "whole_graph":
            runner.module = rt.enable_cudagraphs(built.artifact)
        return runner
