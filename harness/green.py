"""CUDA green contexts through the driver API (cuda-bindings), and through ``torch.cuda.green_contexts``.

``cuDevSmResourceSplitByCount`` rounds a request up to the device's SM-group granularity
(16 / 32 / 66 requested gave 16 / 32 / 72 on an H200; docs/behaviour.md#green-contexts), so a partition
records both the SMs requested and the SMs granted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError, UsageError


class DriverError(HarnessError):
    """A CUDA driver API call returned an error code."""


def _check(result: Any, call: str) -> Any:
    from cuda.bindings import driver as cu

    if isinstance(result, tuple):
        err, *rest = result
    else:
        err, rest = result, []
    if err != cu.CUresult.CUDA_SUCCESS:
        _, name = cu.cuGetErrorName(err)
        raise DriverError(f"{call} failed: {name.decode() if isinstance(name, bytes) else name}")
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else tuple(rest)


def device_sm_count(device: int = 0) -> int:
    from cuda.bindings import driver as cu

    _check(cu.cuInit(0), "cuInit")
    dev = _check(cu.cuDeviceGet(device), "cuDeviceGet")
    attr = cu.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
    return int(_check(cu.cuDeviceGetAttribute(attr, dev), "cuDeviceGetAttribute"))


def check_sm_request(sm_count: int, device: int = 0) -> int:
    total = device_sm_count(device)
    if not isinstance(sm_count, int) or sm_count < 1 or sm_count > total:
        raise UsageError("green context SM count", sm_count, f"needs 1 <= N <= {total} (the SMs of device {device})",
                         f"ask for between 1 and {total} SMs, e.g. green16")
    return total


@dataclass
class GreenPartition:
    """A green context holding ``granted`` SMs, with one non-default stream created inside it."""

    device: int
    requested: int
    granted: int
    gctx: Any  # CUgreenCtx
    context: Any  # the CUcontext it converts to (cuCtxFromGreenCtx)
    stream: Any  # CUstream
    destroyed: bool = False

    @property
    def stream_handle(self) -> int:
        return int(self.stream)

    def destroy(self) -> None:
        if self.destroyed:
            return
        from cuda.bindings import driver as cu

        _check(cu.cuStreamDestroy(self.stream), "cuStreamDestroy")
        _check(cu.cuGreenCtxDestroy(self.gctx), "cuGreenCtxDestroy")
        self.destroyed = True


def create_partition(sm_count: int, device: int = 0) -> GreenPartition:
    """Split off at least ``sm_count`` SMs into a green context and create a non-blocking stream in it."""
    from cuda.bindings import driver as cu

    check_sm_request(sm_count, device)
    dev = _check(cu.cuDeviceGet(device), "cuDeviceGet")
    sm = _check(cu.cuDeviceGetDevResource(dev, cu.CUdevResourceType.CU_DEV_RESOURCE_TYPE_SM), "cuDeviceGetDevResource")
    groups, _n, _rest = _check(cu.cuDevSmResourceSplitByCount(1, sm, 0, sm_count), "cuDevSmResourceSplitByCount")
    granted = int(groups[0].sm.smCount)
    desc = _check(cu.cuDevResourceGenerateDesc([groups[0]], 1), "cuDevResourceGenerateDesc")
    gctx = _check(cu.cuGreenCtxCreate(desc, dev, cu.CUgreenCtxCreate_flags.CU_GREEN_CTX_DEFAULT_STREAM), "cuGreenCtxCreate")
    try:
        ctx = _check(cu.cuCtxFromGreenCtx(gctx), "cuCtxFromGreenCtx")
        stream = _check(cu.cuGreenCtxStreamCreate(gctx, cu.CUstream_flags.CU_STREAM_NON_BLOCKING, 0),
                        "cuGreenCtxStreamCreate")
    except BaseException:
        cu.cuGreenCtxDestroy(gctx)
        raise
    return GreenPartition(device, sm_count, granted, gctx, ctx, stream)


@contextlib.contextmanager
def partition(sm_count: int, device: int = 0) -> Iterator[GreenPartition]:
    p = create_partition(sm_count, device)
    try:
        yield p
    finally:
        p.destroy()


def smallest_green_context_roundtrip(device: int = 0) -> int:
    """Create and destroy the smallest green partition; return the SMs granted (probe)."""
    with partition(1, device) as p:
        return p.granted


def torch_green_stream(sm_count: int, device: int = 0) -> tuple[Any, Any]:
    """(GreenContext, stream in it) through ``torch.cuda.green_contexts`` (torch >= 2.9)."""
    import torch
    from torch.cuda.green_contexts import GreenContext

    check_sm_request(sm_count, device)
    torch.zeros(1, device=f"cuda:{device}")  # torch's green contexts expect a primary context
    ctx = GreenContext.create(num_sms=sm_count, device_id=device)
    return ctx, ctx.Stream()
