"""Green contexts: SM partition latency, no leak over 1,000 create/destroy cycles, and invalid requests."""

from __future__ import annotations

import pytest

from harness.cases import Case
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
@pytest.mark.parametrize("case", [Case("resnet18", v, "static", m) for v in ("eager", "cudagraph") for m in LATENCY_MODES],
                         ids=lambda c: c.id)
def test_latency_by_sm_partition(case, harness_case, harness_session):
    _need_green(harness_session)
    from harness import smid
    from harness.streams import open_stream

    runner = harness_case.runner()
    x = harness_case.input(4)
    ref = harness_case.model.reference(x)
    with open_stream(case.stream) as b:
        import torch

        with torch.cuda.stream(b.stream):
            seen = smid.probe(b.stream)
            acc = harness_case.model.accuracy.check(runner(x), ref)
            assert acc.ok, acc.why
            m = harness_case.measure(lambda: runner(x), stream=b.stream)
    harness_case.record_latency(m, 4, ran=runner.describe())
    harness_case.record("probe_distinct_sms", float(seen.distinct), "SMs", batch=4, granted_sms=b.granted_sms)
    if b.granted_sms:
        assert seen.distinct <= b.granted_sms


@gpu
@green_ctx
@pytest.mark.slow
def test_no_leak_over_1000_cycles(harness_session):
    _need_green(harness_session)
    import time

    import torch

    from harness.green import create_partition

    torch.zeros(1, device="cuda")
    for _ in range(20):  # settle driver pools first
        create_partition(16).destroy()
    free_before, _ = torch.cuda.mem_get_info()
    t0 = time.perf_counter()
    for _ in range(1000):
        p = create_partition(16)
        s = torch.cuda.ExternalStream(p.stream_handle)
        del s
        p.destroy()
    per_cycle_ms = (time.perf_counter() - t0) / 1000 * 1e3
    free_after, _ = torch.cuda.mem_get_info()
    dims = {"model": "-", "variant": "green", "shapes": "-", "stream": "green16", "device": "cuda"}
    harness_session.record("green-lifecycle", "green_cycle_ms", per_cycle_ms, "ms", dims)
    harness_session.record("green-lifecycle", "device_free_delta_bytes", float(free_after - free_before), "B", dims)
    lost_mib = (free_before - free_after) / 2**20
    assert lost_mib <= 2, f"device memory fell by {lost_mib:.1f} MiB over 1000 cycles"


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


@gpu
def test_stream_of_another_device_is_rejected(harness_session):
    import torch

    from harness.errors import UsageError
    from harness.streams import check_stream_device

    if torch.cuda.device_count() < 2:
        pytest.skip(f"needs 2 GPUs, this machine has {torch.cuda.device_count()}")
    s1 = torch.cuda.Stream(device=1)
    check_stream_device(s1, 1)
    with pytest.raises(UsageError, match="must run on a stream of cuda:0"):
        check_stream_device(s1, 0)
