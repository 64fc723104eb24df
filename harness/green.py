"""CUDA green contexts through the driver API (cuda-bindings).

Only what the capability probe needs lives here for now: create the smallest SM split, make a stream
in it, and destroy both. ``cuDevSmResourceSplitByCount`` rounds a request up to the device's SM-group
granularity (../shared/gpu-host/README.md: 16 / 32 / 66 requested gave 16 / 32 / 72 on an H200).
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError


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


def smallest_green_context_roundtrip(device: int = 0) -> int:
    """Create a green context of the smallest SM split plus a stream in it, destroy both; return SMs granted."""
    from cuda.bindings import driver as cu

    _check(cu.cuInit(0), "cuInit")
    dev = _check(cu.cuDeviceGet(device), "cuDeviceGet")
    sm = _check(cu.cuDeviceGetDevResource(dev, cu.CUdevResourceType.CU_DEV_RESOURCE_TYPE_SM), "cuDeviceGetDevResource")
    groups, _n, _rest = _check(cu.cuDevSmResourceSplitByCount(1, sm, 0, 1), "cuDevSmResourceSplitByCount")
    desc = _check(cu.cuDevResourceGenerateDesc([groups[0]], 1), "cuDevResourceGenerateDesc")
    gctx = _check(cu.cuGreenCtxCreate(desc, dev, cu.CUgreenCtxCreate_flags.CU_GREEN_CTX_DEFAULT_STREAM), "cuGreenCtxCreate")
    try:
        stream = _check(cu.cuGreenCtxStreamCreate(gctx, cu.CUstream_flags.CU_STREAM_NON_BLOCKING, 0), "cuGreenCtxStreamCreate")
        _check(cu.cuStreamDestroy(stream), "cuStreamDestroy")
    finally:
        _check(cu.cuGreenCtxDestroy(gctx), "cuGreenCtxDestroy")
    return int(groups[0].sm.smCount)
