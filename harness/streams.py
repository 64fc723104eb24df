"""Stream binding modes: where the caller's work is enqueued.

``default``: the device's default (legacy) stream; ``caller``: a ``torch.cuda.Stream`` made current;
``external``: a stream created through cuda-python (``cudaStreamCreateWithFlags``) and wrapped with
``torch.cuda.ExternalStream``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from harness.errors import UnknownChoiceError

BOUND_MODES = ("default", "caller", "external")


@contextlib.contextmanager
def external_stream(device: int = 0) -> Iterator[torch.cuda.Stream]:
    """A non-blocking stream made by the CUDA runtime through cuda-python, destroyed on exit."""
    from cuda.bindings import runtime as cudart

    torch.cuda.init()  # type: ignore[no-untyped-call]
    with torch.cuda.device(device):
        err, handle = cudart.cudaStreamCreateWithFlags(cudart.cudaStreamNonBlocking)
        if err != cudart.cudaError_t.cudaSuccess:
            raise RuntimeError(f"cudaStreamCreateWithFlags failed: {err}")
        try:
            yield torch.cuda.ExternalStream(int(handle), device=torch.device("cuda", device))  # type: ignore[no-untyped-call]
            torch.cuda.synchronize(device)
        finally:
            cudart.cudaStreamDestroy(handle)


@contextlib.contextmanager
def bound(mode: str, device: int = 0) -> Iterator[Any]:
    """Make the mode's stream current for the block; yields the ``torch.cuda.Stream``."""
    if mode == "default":
        s = torch.cuda.default_stream(device)
        with torch.cuda.stream(s):
            yield s
    elif mode == "caller":
        s = torch.cuda.Stream(device=device)  # type: ignore[no-untyped-call]
        with torch.cuda.stream(s):
            yield s
        s.synchronize()
    elif mode == "external":
        with external_stream(device) as s, torch.cuda.stream(s):
            yield s
    else:
        raise UnknownChoiceError("stream mode", mode, BOUND_MODES)
