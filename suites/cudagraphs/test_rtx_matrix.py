"""The TensorRT-RTX rows of the oracle: every CUDA-graph mode x cuda_graph_strategy x kernel strategy x
static/dynamic x runtime (x segmentation, x runtime cache off/warm), for Torch-TensorRT and the native adapter.

Each cell asserts its row: the expected error with its message, the RTX-native override warning, or a run
whose every output meets the accuracy rule against eager, with the graph owner and execution-context count
the row implies. Where TensorRT-RTX cannot run the engine (compute capability 9.0, no driver) or
Torch-TensorRT is not importable, the cell skips with the library's or the probe's words.
"""

from __future__ import annotations

import logging

import pytest

from harness.oracle import expect, raised_as_expected
from harness.runtime_cache import isolated_path
from suites.helpers import gpu, require_runs, rtx


def _batches(harness_case):
    spec = harness_case.model.input
    if harness_case.case.shapes == "static":
        return [spec.static_batch, spec.static_batch]
    r = spec.dynamic_batch
    return [r.min, r.max, r.opt]


def _runner(harness_case, cache_path):
    """Load the cell's runner; with a warm cache, first a priming load that runs once and saves the cache."""
    import dataclasses

    settings = harness_case.case.settings
    if harness_case.case.cache == "warm":
        settings = dataclasses.replace(settings, runtime_cache=str(cache_path))
        harness_case.case = dataclasses.replace(harness_case.case, settings=settings)
        prime = harness_case.runner()
        prime(harness_case.input(_batches(harness_case)[0]))
        prime.save_cache()
    return harness_case.runner()


@gpu
@rtx
def test_rtx_cell(rtx_cell, case, harness_case, caplog):
    exp = expect(rtx_cell)
    require_runs(harness_case)
    rc = harness_case.session.config
    path = isolated_path(rc.cache_dir, rc.run_id, f"cg-{case.model}-{case.shapes}-{case.variant}-{case.settings.kernel_strategy}")
    caplog.set_level(logging.WARNING)
    runner = _runner(harness_case, path)
    batches = _batches(harness_case)
    if exp.outcome == "raises":
        with pytest.raises(Exception) as info:
            for b in batches:
                runner(harness_case.input(b))
        mismatch = raised_as_expected(info.value, exp)
        assert not mismatch, mismatch
        return
    for b in batches:
        x = harness_case.input(b)
        acc = harness_case.model.accuracy.check(runner(x).clone(), harness_case.model.reference(x.cpu()))
        assert acc.ok, f"batch {b}: {acc.why} ({exp.source})"
    desc = runner.describe()
    warned = [r.getMessage() for r in caplog.records if exp.message and exp.message in r.getMessage()]
    if exp.outcome == "warns_override":  # once per engine, and the module's settings still read "disabled"
        assert len(warned) == int(desc["engines"]), (exp.source, warned)
        assert set(desc["contexts_per_engine"].split(",")) == {"2"}, (exp.source, desc)  # recreated once
    elif exp.exc == "logging.WARNING":
        assert not warned, f"unexpected warning {warned} ({exp.source})"
    if case.variant == "trt_rtx" and exp.graph == "outer_torch":
        assert int(desc["captures"]) == len(set(batches)), (exp.source, desc)
        assert desc["rtx_native"] == ("forced_off" if exp.outcome == "forced_off" else "off"), (exp.source, desc)
    harness_case.record("contexts", float(sum(int(c) for c in desc.get("contexts_per_engine", "0").split(",") if c)),
                        "1", outcome=exp.outcome, graph=exp.graph, ran=desc)
