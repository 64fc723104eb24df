"""A ``Case``: one parametrized cell of a suite, with the id users see and the dimensions results carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.backends.base import RunSettings
from harness.errors import UnknownChoiceError
from harness.vocab import CACHE_STATES, RTX_VARIANTS

SHORT_SHAPES = {"static": "sta", "dynamic": "dyn"}


@dataclass(frozen=True)
class Case:
    """What one test cell runs. ``id`` reads like ``resnet18-dyn-eager-stream=default`` or, for a variant with
    TensorRT-RTX knobs, ``resnet18-dyn-torch_trt-cg=whole_graph_capture-ks=lazy-cache=warm-mode=subgraph-rt=cpp-stream=green16``.

    ``cache`` is the runtime-cache state the cell starts from (its path is the run's own, decided at run time).
    """

    model: str
    variant: str
    shapes: str
    stream: str = "default"
    settings: RunSettings = field(default_factory=RunSettings)
    extra: tuple[tuple[str, str], ...] = ()
    cache: str = "off"

    def __post_init__(self) -> None:
        if self.cache not in CACHE_STATES:
            raise UnknownChoiceError("runtime-cache state", self.cache, CACHE_STATES)

    @property
    def id(self) -> str:
        parts = [self.model, SHORT_SHAPES.get(self.shapes, self.shapes), self.variant]
        if self.variant in RTX_VARIANTS or not self.settings.is_default:
            parts += [f"cg={self.settings.cuda_graph_strategy}", f"ks={self.settings.kernel_strategy}"]
        if self.variant in RTX_VARIANTS or self.cache != "off":
            parts.append(f"cache={self.cache}")
        if self.variant in RTX_VARIANTS or self.settings.cg_mode != "standard":
            parts.append(f"mode={self.settings.cg_mode}")
        parts += [f"{k}={v}" for k, v in self.extra]
        parts.append(f"stream={self.stream}")
        return "-".join(parts)

    def dims(self) -> dict[str, Any]:
        return {"model": self.model, "variant": self.variant, "shapes": self.shapes, "stream": self.stream,
                "cuda_graph_strategy": self.settings.cuda_graph_strategy, "kernel_strategy": self.settings.kernel_strategy,
                "cg_mode": self.settings.cg_mode, "runtime_cache": self.cache, **dict(self.extra)}
