"""Stream binding modes, as data: where the caller's work is enqueued.

* ``default``: the device's default (legacy) stream;
* ``caller``: a ``torch.cuda.Stream`` made current;
* ``external``: a stream created through cuda-python (``cudaStreamCreateWithFlags``), wrapped with
  ``torch.cuda.ExternalStream``;
* ``green<N>``: a non-default stream inside a green context of N SMs (``cuDevSmResourceSplitByCount`` /
  ``cuGreenCtxCreate`` / ``cuGreenCtxStreamCreate``), wrapped with ``torch.cuda.ExternalStream``;
* ``torchgreen<N>``: the same through ``torch.cuda.green_contexts.GreenContext``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import UnknownChoiceError, UsageError
from harness.vocab import BOUND_STREAM_MODES, STREAM_MODE_PATTERN

# The runtime's magic stream handles: never a stream the caller owns (cuda_runtime_api.h).
MAGIC_HANDLES = {1: "cudaStreamLegacy", 2: "cudaStreamPerThread"}


@dataclass(frozen=True)
class StreamMode:
    """A parsed mode: its kind and, for green modes, the SMs requested."""

    name: str
    kind: str  # a harness.vocab.StreamKind
    sms: int | None = None

    @classmethod
    def parse(cls, text: str) -> StreamMode:
        m = STREAM_MODE_PATTERN.match(text)
        if not m:
            raise UnknownChoiceError("stream mode", text, (*BOUND_STREAM_MODES, "green<N>", "torchgreen<N>"))
        if m.group(2) or m.group(3):
            kind = "green" if m.group(2) else "torchgreen"
            return cls(text, kind, int(m.group(2) or m.group(3)))
        return cls(text, text)


@dataclass
class BoundStream:
    """The stream a cell runs on, and what was asked and granted for it."""

    mode: StreamMode
    stream: Any  # torch.cuda.Stream / ExternalStream
    device: int
    granted_sms: int | None = None
    partition: Any = None

    @property
    def handle(self) -> int:
        return int(self.stream.cuda_stream)


def check_external_handle(handle: int) -> int:
    if handle in MAGIC_HANDLES:
        raise UsageError("external stream handle", handle, f"{MAGIC_HANDLES[handle]} is a magic handle, not a stream "
                         "the caller owns", "create a stream (cudaStreamCreateWithFlags / cuGreenCtxStreamCreate)")
    if handle == 0:
        raise UsageError("external stream handle", handle, "0 is the legacy default stream", "pass a created stream")
    return handle


def check_stream_device(stream: Any, device: int) -> None:
    """Refuse to run work of device ``device`` on a stream of another device."""
    have = stream.device.index if hasattr(stream, "device") else None
    if have is not None and have != device:
        raise UsageError("stream", f"{stream!r} of cuda:{have}", f"work for cuda:{device} must run on a stream of cuda:{device}",
                         f"create the stream on cuda:{device}")


def _external(handle: int, device: int) -> Any:
    import torch

    return torch.cuda.ExternalStream(check_external_handle(handle), device=torch.device("cuda", device))  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def external_stream(device: int = 0) -> Iterator[Any]:
    """A non-blocking stream made by the CUDA runtime through cuda-python, destroyed on exit."""
    import torch
    from cuda.bindings import runtime as cudart

    torch.cuda.init()  # type: ignore[no-untyped-call]
    with torch.cuda.device(device):
        err, handle = cudart.cudaStreamCreateWithFlags(cudart.cudaStreamNonBlocking)
        if err != cudart.cudaError_t.cudaSuccess:
            raise RuntimeError(f"cudaStreamCreateWithFlags failed: {err}")
        try:
            yield _external(int(handle), device)
            torch.cuda.synchronize(device)
        finally:
            cudart.cudaStreamDestroy(handle)


@contextlib.contextmanager
def open_stream(mode: str | StreamMode, device: int = 0) -> Iterator[BoundStream]:
    """Create the mode's stream (and green context) for the block, destroy it after."""
    import torch

    m = mode if isinstance(mode, StreamMode) else StreamMode.parse(mode)
    if m.kind == "default":
        yield BoundStream(m, torch.cuda.default_stream(device), device)
    elif m.kind == "caller":
        s = torch.cuda.Stream(device=device)  # type: ignore[no-untyped-call]
        yield BoundStream(m, s, device)
        s.synchronize()
    elif m.kind == "external":
        with external_stream(device) as s:
            yield BoundStream(m, s, device)
    elif m.kind == "green":
        from harness.green import partition

        assert m.sms is not None
        torch.zeros(1, device=f"cuda:{device}")  # the primary context exists before the green one
        with partition(m.sms, device) as p:
            s = _external(p.stream_handle, device)
            yield BoundStream(m, s, device, p.granted, p)
            s.synchronize()
    else:  # torchgreen
        from harness.green import torch_green_stream

        assert m.sms is not None
        ctx, s = torch_green_stream(m.sms, device)
        yield BoundStream(m, s, device, None, ctx)
        s.synchronize()


@contextlib.contextmanager
def bound(mode: str | StreamMode, device: int = 0) -> Iterator[Any]:
    """Make the mode's stream current for the block; yields the ``torch.cuda.Stream``."""
    import torch

    with open_stream(mode, device) as b, torch.cuda.stream(b.stream):
        yield b.stream
