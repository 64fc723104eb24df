"""Latency of every model x backend variant x shape kind, each output checked against the fp32 eager
reference by the model's accuracy rule before a single sample is taken."""

from __future__ import annotations

from suites.helpers import perf


@perf
def test_latency(case, harness_case):
    runner = harness_case.runner()
    batches = harness_case.model.input.batches(case.shapes)
    if case.shapes == "dynamic":
        r = harness_case.model.input.dynamic_batch
        batches = (r.min, r.opt, r.max)
    for batch in batches:
        x = harness_case.input(batch)
        out = runner(x)
        acc = harness_case.model.accuracy.check(out, harness_case.model.reference(x))
        harness_case.record("cosine", acc.cosine, "1", batch=batch)
        assert acc.ok, f"batch {batch}: {acc.why}"
        m = harness_case.measure(lambda x=x: runner(x))
        harness_case.record_latency(m, batch)
