"""A ``Case``: one parametrized cell of a suite, with the id users see and the dimensions results carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.backends.base import RunSettings

SHORT_SHAPES = {"static": "sta", "dynamic": "dyn"}


@dataclass(frozen=True)
class Case:
    """What one test cell runs. ``id`` reads like ``resnet18-dyn-eager-stream=default``."""

    model: str
    variant: str
    shapes: str
    stream: str = "default"
    settings: RunSettings = field(default_factory=RunSettings)
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        parts = [self.model, SHORT_SHAPES.get(self.shapes, self.shapes), self.variant]
        if not self.settings.is_default:
            s = self.settings
            parts += [f"cg={s.cuda_graph_strategy}", f"ks={s.kernel_strategy}",
                      f"cache={'on' if s.runtime_cache else 'off'}"]
        parts += [f"{k}={v}" for k, v in self.extra]
        parts.append(f"stream={self.stream}")
        return "-".join(parts)

    def dims(self) -> dict[str, Any]:
        return {"model": self.model, "variant": self.variant, "shapes": self.shapes, "stream": self.stream,
                "strategy": self.settings.cuda_graph_strategy, "kernel_strategy": self.settings.kernel_strategy,
                "runtime_cache": bool(self.settings.runtime_cache), **dict(self.extra)}


def case_ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]
