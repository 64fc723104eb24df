"""Deliberately wrong runners for negative controls: each must make a confinement check fail."""

from __future__ import annotations

from typing import Any

import torch


class SideStreamRunner:
    """Ignores the bound stream: runs on its own primary-context stream, fenced both ways, as
    Torch-TensorRT 2.11 did (spec Streams). Outputs stay correct; confinement does not."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        with torch.cuda.device(torch.cuda.current_device()):
            self.side = torch.cuda.Stream()  # type: ignore[no-untyped-call]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        caller = torch.cuda.current_stream()
        self.side.wait_stream(caller)
        with torch.cuda.stream(self.side):
            out: torch.Tensor = self.inner(x)
        caller.wait_stream(self.side)
        out.record_stream(caller)
        return out

    def describe(self) -> dict[str, str]:
        return {**self.inner.describe(), "stream": f"side 0x{self.side.cuda_stream:x} (control)"}


class DefaultStreamRunner:
    """Launches on the device's default stream whatever stream is current (a kernel leak out of a green range)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        caller = torch.cuda.current_stream()
        default = torch.cuda.default_stream()
        default.wait_stream(caller)
        with torch.cuda.stream(default):
            out: torch.Tensor = self.inner(x)
        caller.wait_stream(default)
        return out

    def describe(self) -> dict[str, str]:
        return {**self.inner.describe(), "stream": "default (control)"}


CONTROLS = ("none", "default_stream", "side_stream", "fewer_sms")
