"""Green contexts: SM partition latency, no leak over 1,000 create/destroy cycles, and invalid requests."""

from __future__ import annotations

import pytest

from harness.cases import Case
from harness.vocab import NOT_A_CELL
from suites.helpers import gpu, perf

green_ctx = pytest.mark.green_ctx
LATENCY_MODES = ("green16", "green32", "green72", "caller")  # caller: all SMs


def _need_green(harness_session):
    if harness_session.env.gpu is None:
        pytest.skip(f"needs a CUDA GPU: {harness_session.env.cap('gpu').reason}")
    cap = harness_session.env.cap("green_ctx_driver")
    if not cap.ok:
        pytest.skip(f"green contexts: {cap.reason}")


@gpu
@green_ctx
@perf
@pytest.mark.parametrize("case", [Case("resnet18", v, "static", m, extra=(("capture", "current"),) if v == "cudagraph" else ())
                                  for v in ("eager", "cudagraph") for m in LATENCY_MODES], ids=lambda c: c.id)
def test_latency_by_sm_partition(case, harness_case, harness_session):
    _need_green(harness_session)
    from harness import smid
    from harness.streams import open_stream

    x = harness_case.input(4)
    ref = harness_case.model.reference(x)
    with open_stream(case.stream) as b:
        import torch

        with torch.cuda.stream(b.stream):
            runner = harness_case.runner()  # a graph captures on the bound stream, inside the partition
            seen = smid.probe(b.stream)
            acc = harness_case.model.accuracy.check(runner(x), ref)
            assert acc.ok, acc.why
            m = harness_case.measure(lambda: runner(x), stream=b.stream)
    harness_case.record_latency(m, 4, ran=runner.describe())
    harness_case.record("probe_distinct_sms", float(seen.distinct), "SMs", batch=4, granted_sms=b.granted_sms)
    if b.granted_sms:
        assert seen.distinct <= b.granted_sms


def _lost_mib_per_cycle(fn, cycles):
    import torch

    for _ in range(5):  # settle driver pools first
        fn()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()  # blocks cached per stream by torch's allocator are not a leak
    free_before, _ = torch.cuda.mem_get_info()
    for _ in range(cycles):
        fn()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    return (free_before - torch.cuda.mem_get_info()[0]) / 2**20 / cycles


@gpu
@green_ctx
@pytest.mark.slow
def test_no_leak_over_1000_cycles(harness_session):
    """1,000 harness green-stream lifecycles (partition, stream, ExternalStream, a kernel, teardown) lose no
    more device memory per cycle than the driver's own create/destroy of a bare green context does."""
    _need_green(harness_session)
    import time

    import torch
    from cuda.bindings import driver as cu

    from harness.green import _check
    from harness.streams import open_stream

    torch.zeros(1, device="cuda")
    dev = _check(cu.cuDeviceGet(0), "cuDeviceGet")

    def bare():
        sm = _check(cu.cuDeviceGetDevResource(dev, cu.CUdevResourceType.CU_DEV_RESOURCE_TYPE_SM), "res")
        groups, _, _ = _check(cu.cuDevSmResourceSplitByCount(1, sm, 0, 16), "split")
        desc = _check(cu.cuDevResourceGenerateDesc([groups[0]], 1), "desc")
        flags = cu.CUgreenCtxCreate_flags.CU_GREEN_CTX_DEFAULT_STREAM
        _check(cu.cuGreenCtxDestroy(_check(cu.cuGreenCtxCreate(desc, dev, flags), "create")), "destroy")

    def harness_lifecycle():  # what the harness owns: partition, stream in it, ExternalStream, teardown
        with open_stream("green16") as b:
            assert b.granted_sms == 16

    def with_torch_kernel():  # plus a torch allocation and kernel on each new green stream
        with open_stream("green16") as b, torch.cuda.stream(b.stream):
            torch.ones(8, device="cuda").add_(1)

    driver_mib = _lost_mib_per_cycle(bare, 200)
    t0 = time.perf_counter()
    ours_mib = _lost_mib_per_cycle(harness_lifecycle, 1000)
    cycle_ms = (time.perf_counter() - t0) / 1005 * 1e3
    kernel_mib = _lost_mib_per_cycle(with_torch_kernel, 200)
    dims = {"model": NOT_A_CELL, "variant": NOT_A_CELL, "shapes": NOT_A_CELL, "stream": "green16", "device": "cuda"}
    for metric, value, unit in (("green_cycle_ms", cycle_ms, "ms"), ("driver_lost_mib_per_cycle", driver_mib, "MiB"),
                                ("harness_lost_mib_per_cycle", ours_mib, "MiB"),
                                ("torch_kernel_cycle_lost_mib_per_cycle", kernel_mib, "MiB")):
        harness_session.record("green-lifecycle", metric, value, unit, dims)
    if driver_mib > 0.01:
        harness_session.finding("green-lifecycle", f"a bare cuGreenCtxCreate/cuGreenCtxDestroy cycle loses {driver_mib:.3f} "
                                f"MiB of device memory on this driver ({harness_session.env.gpu.driver_version})",
                                "harness suites/streams/test_green.py")
    if kernel_mib > driver_mib + 0.05:
        harness_session.finding("green-lifecycle", f"a torch allocation and kernel on each new green stream add "
                                f"{kernel_mib - driver_mib:.3f} MiB per cycle after empty_cache()",
                                "harness suites/streams/test_green.py")
    assert ours_mib <= driver_mib + 0.05, f"harness lifecycle loses {ours_mib:.3f} MiB per cycle, the bare driver {driver_mib:.3f}"


@gpu
@green_ctx
def test_invalid_sm_requests(harness_session):
    _need_green(harness_session)
    from harness.errors import UsageError
    from harness.green import create_partition, device_sm_count

    total = device_sm_count()
    for bad in (0, -4, total + 1):
        with pytest.raises(UsageError, match=rf"needs 1 <= N <= {total}"):
            create_partition(bad)
