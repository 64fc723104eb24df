"""Deliberately wrong runners for negative controls: each must make a confinement check fail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class SideStreamRunner:
    """Ignores the bound stream: runs on its own primary-context stream, fenced both ways, as
    Torch-TensorRT 2.11 did (docs/behaviour.md#streams). Outputs stay correct; confinement does not."""

    def __init__(self, inner: Any) -> None:
        import torch

        self.inner = inner
        with torch.cuda.device(torch.cuda.current_device()):
            self.side = torch.cuda.Stream()  # type: ignore[no-untyped-call]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        # Fenced by host synchronisation: event waits between a green-context stream and this
        # primary-context stream crashed the process (torch 2.11, driver 580.159).
        torch.cuda.current_stream().synchronize()
        with torch.cuda.stream(self.side):
            out: torch.Tensor = self.inner(x)
        self.side.synchronize()
        return out

    def describe(self) -> dict[str, str]:
        return {**self.inner.describe(), "stream": f"side 0x{self.side.cuda_stream:x} (control)"}


class DefaultStreamRunner:
    """Launches on the device's default stream whatever stream is current (a kernel leak out of a green range)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        torch.cuda.current_stream().synchronize()  # host fencing, as in SideStreamRunner
        default = torch.cuda.default_stream()
        with torch.cuda.stream(default):
            out: torch.Tensor = self.inner(x)
        default.synchronize()
        return out

    def describe(self) -> dict[str, str]:
        return {**self.inner.describe(), "stream": "default (control)"}

