"""Real TensorRT-RTX engine builds of every model, static and dynamic profiles. Builds need no GPU;
loading asks the library, and a refusal skips with the library's own message."""

from __future__ import annotations

from suites.helpers import rtx


def test_build(case, harness_case):
    built = harness_case.build()
    harness_case.record("engine_bytes", built.size_bytes, "B", from_disk_cache=built.from_disk_cache)
    if not built.from_disk_cache:
        harness_case.record("build_s", built.build_s, "s", from_disk_cache=False)
    assert built.size_bytes and built.size_bytes > 0
    # the library reads the plan: its header passes, and any refusal is this machine's (no driver, compute
    # capability), never a serialization error (a corrupt plan fails here: tests/test_rtx_checks.py)
    from harness.backends.trt_rtx import plan_problem

    problem = plan_problem(built.artifact)
    assert not problem, problem


@rtx
def test_load_and_run(case, harness_case):
    runner = harness_case.runner()  # skips with the library's refusal where the engine cannot run
    model = harness_case.model
    for batch in model.input.batches(case.shapes):
        x = harness_case.input(batch)
        acc = model.accuracy.check(runner(x), model.reference(x))
        assert acc.ok, f"batch {batch}: {acc.why}"
