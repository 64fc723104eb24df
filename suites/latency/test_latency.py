"""Latency of every model x backend variant x shape kind, each output checked against the fp32 eager
reference by the model's accuracy rule before a single sample is taken."""

from __future__ import annotations

from suites.helpers import perf, rtx


@perf
def test_latency(case, harness_case):
    runner = harness_case.runner()
    built = harness_case.built
    # build / compile time of this cell's build config (shared builds report the one build that made it)
    harness_case.record("build_s", built.build_s, "s", from_disk_cache=built.from_disk_cache)
    batches = harness_case.model.input.batches(case.shapes)
    if case.shapes == "dynamic":
        r = harness_case.model.input.dynamic_batch
        batches = (r.min, r.opt, r.max)
    for batch in batches:
        x = harness_case.input(batch)
        out = runner(x)
        acc = harness_case.model.accuracy.check(out, harness_case.model.reference(x))
        harness_case.record("cosine", acc.cosine, "1", batch=batch)
        harness_case.record("max_abs", acc.max_abs, "1", batch=batch)
        assert acc.ok, f"batch {batch}: {acc.why}"
        m = harness_case.measure(lambda x=x: runner(x))
        harness_case.record_latency(m, batch, ran=runner.describe())


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
