"""Latency of every model x backend variant x shape kind, each output checked against the fp32 eager
reference by the model's accuracy rule before a single sample is taken.

Graph-mode variants on a GPU are measured in a fresh process per build config (``harness.children.latency_child``): the
state a user's inference process has. Every latency record says which state it was measured in."""

from __future__ import annotations

import dataclasses

import pytest

from harness.backends.base import timed_call
from suites.helpers import perf, rtx


def _batches(harness_case, case):
    if case.shapes == "dynamic":
        r = harness_case.model.input.dynamic_batch
        return (r.min, r.opt, r.max)
    return harness_case.model.input.batches(case.shapes)


@perf
def test_latency(case, harness_case):
    from harness.vocab import FRESH_VARIANTS

    if harness_case.device == "cuda" and case.variant in FRESH_VARIANTS:
        return _fresh(case, harness_case)
    runner = harness_case.runner()
    built = harness_case.built
    # build / compile time of this cell's build config (shared builds report the one build that made it)
    harness_case.record("build_s", built.build_s, "s", from_disk_cache=built.from_disk_cache)
    for batch in _batches(harness_case, case):
        x = harness_case.input(batch)
        out = runner(x)
        acc = harness_case.model.accuracy.check(out, harness_case.model.reference(x))
        harness_case.record("cosine", acc.cosine, "1", batch=batch)
        harness_case.record("max_abs", acc.max_abs, "1", batch=batch)
        assert acc.ok, f"batch {batch}: {acc.why}"
        m = harness_case.measure(timed_call(runner, x))
        harness_case.record_latency(m, batch, ran=runner.describe(), state="pytest process")


def _fresh(case, harness_case):
    """The cell's build config in its own process (harness/children/latency_child.py); numbers come back as JSON."""
    from harness.children.latency_child import STATE_FRESH, LatencyRun, run_fresh
    from harness.timing import Measurement

    harness_case.require()
    rc = harness_case.session.config
    spec = LatencyRun(case.model, case.variant, case.shapes, tuple(_batches(harness_case, case)),
                      dataclasses.asdict(rc.timing), str(rc.cache_dir))
    out = run_fresh(spec)
    if "unavailable" in out:
        pytest.skip(out["unavailable"])
    assert "error" not in out, f"latency process: {out['error']}"
    harness_case.record("build_s", out["build_s"], "s", from_disk_cache=out["from_disk_cache"], state=STATE_FRESH)
    for row in out["rows"]:
        harness_case.record("cosine", row["cosine"], "1", batch=row["batch"])
        harness_case.record("max_abs", row["max_abs"], "1", batch=row["batch"])
        assert row["ok"], f"batch {row['batch']}: {row['why']}"
        harness_case.record_latency(Measurement.from_dict(row["measurement"]), row["batch"], ran=out["ran"], state=STATE_FRESH,
                                    process_s=round(out["process_s"], 2))


@perf
@rtx
def test_framework_overhead(case, harness_case, harness_session):
    """Torch-TensorRT against the native TensorRT-RTX engine of the same model and profile: the p50
    difference at each batch is Torch-TensorRT's framework overhead."""
    from harness.cases import Case
    from harness.fixture import CaseRecorder

    native = CaseRecorder(harness_session, Case(case.model, "trt_rtx", case.shapes))
    ttrt_runner = harness_case.runner()  # skips with the probe's or the library's reason first
    native_runner = native.runner()
    for batch in harness_case.model.input.batches(case.shapes)[::3]:
        x = harness_case.input(batch)
        ours = harness_case.measure(lambda x=x: ttrt_runner(x))
        theirs = native.measure(lambda x=x: native_runner(x))
        harness_case.record("framework_overhead_ms", ours.quantile(0.5) - theirs.quantile(0.5), "ms", batch=batch,
                            native_p50_ms=theirs.quantile(0.5), torch_trt_p50_ms=ours.quantile(0.5))
