"""Stream binding and green-context confinement, proven from a CUPTI trace and the %smid probe.

Positive cells: every kernel of the checked range runs on the bound stream and in the bound context;
in green modes that context is green with exactly the granted SM count, and the probe kernel reaches no
more distinct SMs than granted. Negative controls (a backend on its own side stream, kernels on the
default stream inside a green range, a green context with fewer SMs than claimed, a CUDA graph captured on a
primary-context side stream and replayed in a green context) must fail the check with the problem each causes.
"""

from __future__ import annotations

import pytest

from harness.vocab import GREEN_STREAM_KINDS
from suites.helpers import gpu

green_ctx = pytest.mark.green_ctx


def _cell(confinement, spec):
    _trace, verdicts, cases = confinement(spec.model)
    account = cases[spec.case_id]
    if "error" in account:
        pytest.fail(f"{spec.case_id}: the traced child failed this cell: {account['error']}")
    assert spec.case_id in verdicts, f"no checked range for {spec.case_id} in the trace"
    return verdicts[spec.case_id], account


@gpu
@green_ctx
def test_confinement(spec, confinement, harness_session):
    v, account = _cell(confinement, spec)
    assert account["accuracy_ok"], account["accuracy"]
    assert v.ok, v.line()
    assert v.kernels > spec.iters, v.line()  # the model's kernels, not only the probe
    granted = v.context_sms  # CUPTI's CONTEXT record: independent of what the harness asked the driver for
    if account["requested_sms"]:
        assert granted is not None and granted >= account["requested_sms"], (account, v.line())
        if account["granted_sms"] is not None:  # the driver's split result (torch's GreenContext does not say)
            assert account["granted_sms"] == granted, (account, v.line())
        assert account["probe_distinct_sms"] <= granted, account
    dims = {"model": spec.model, "variant": spec.variant, "shapes": spec.shapes, "stream": spec.mode,
            "device": "cuda", "requested_sms": account["requested_sms"], "granted_sms": granted,
            "probe_distinct_sms": account["probe_distinct_sms"], "streams": len(v.streams), "verdict": "pass"}
    harness_session.record(spec.case_id, "range_kernels", float(v.kernels), "1", dims)


@gpu
@green_ctx
def test_negative_control_fails(spec, problem, confinement, harness_session):
    v, account = _cell(confinement, spec)
    assert account["accuracy_ok"], account["accuracy"]  # the outputs are right; only confinement is wrong
    assert not v.ok, f"the check passed a run that leaves the bound stream or context: {v.line()}"
    assert any(problem in p for p in v.problems), v.line()
    what = "graph captured outside the green context escapes it" if spec.control == "side_capture" else "negative control flagged"
    harness_session.finding(spec.case_id, f"{what}: " + "; ".join(v.problems), "harness.expect.confinement")


def _oracle_cell(spec, account_runtime=None):
    from harness.expect.graphs import Cell

    mode = "green" if spec.mode.startswith(GREEN_STREAM_KINDS) else spec.mode
    if spec.variant == "trt_rtx":
        return Cell("trt_rtx", "n/a", "n/a", "standard", "disabled", "lazy", "static", mode, "n/a", "plain")
    from suites.helpers import target_version

    rt = account_runtime or dict(spec.extra).get("rt", "cpp")  # 2.14: the runtime that ran, from the child
    return Cell("torch_trt", target_version(), rt, "standard", "disabled", "lazy", "static", mode, "single", "plain")


@gpu
@green_ctx
@pytest.mark.rtx
def test_rtx_stream_binding(rtx_spec, harness_session, request):
    """Torch-TensorRT on the caller's stream (docs/behaviour.md#streams): a non-default current stream is used directly, the
    default stream gets the engine's own side stream; the trace must show whichever the oracle's row says."""
    from harness.coverage import row_name
    from harness.expect.graphs import kernel_stream
    from suites.streams.conftest import rtx_unavailable

    reason = rtx_unavailable(harness_session, rtx_spec.variant)
    if reason:
        pytest.skip(reason)
    v, account = _cell(request.getfixturevalue("confinement"), rtx_spec)
    row = kernel_stream(_oracle_cell(rtx_spec, account["ran"].get("runtime") if rtx_spec.variant == "torch_trt" else None))
    assert account["accuracy_ok"], account["accuracy"]
    if row.kernel_stream == "caller":
        assert v.ok, (row.source, v.line())
    else:  # engine_side: the engine's kernels leave the bound stream, and the verdict must say so
        assert any("off the bound stream" in p for p in v.problems), (row.source, v.line())
    harness_session.record(rtx_spec.case_id, "range_kernels", float(v.kernels), "1",
                           {"model": rtx_spec.model, "variant": rtx_spec.variant, "stream": rtx_spec.mode,
                            "device": "cuda", "kernel_stream": row.kernel_stream, "verdict": "pass" if v.ok else "off-stream",
                            "row": row_name(row), "level": harness_session.proof_level})

