"""The PyTorch rows of the behaviour oracle, executed: each cell must do exactly what its row says.

Expected errors are raised with the expected message fragment; where the cell runs, every output
meets the model's accuracy rule, and a manual CUDA-graph runner captures once per distinct shape
(a shape change re-captures; a repeated shape replays).
"""

from __future__ import annotations

import pytest

from harness.expect.graphs import expect
from harness.streams import bound
from suites.helpers import assert_raises_as_row, gpu


def _batches(harness_case):
    spec = harness_case.model.input
    if harness_case.case.shapes == "static":
        return [spec.static_batch, spec.static_batch]
    r = spec.dynamic_batch
    return [r.min, r.max, r.min, r.opt]  # a shape change, then a shape seen before


@gpu
def test_oracle_cell(cell, case, harness_case):
    exp = expect(cell)
    harness_case.require()
    if harness_case.device != "cuda":
        pytest.skip("the oracle's PyTorch capture rows are about CUDA streams: needs device=cuda")
    runner = harness_case.runner()
    batches = _batches(harness_case)
    with bound(cell.stream) as stream:
        if exp.outcome == "raises":
            def first_forward():
                runner(harness_case.input(batches[0]))
                stream.synchronize()

            assert_raises_as_row(exp, first_forward)
            _prove(harness_case, cell, exp)
            return
        for batch in batches:
            x = harness_case.input(batch)
            out = runner(x).clone()
            stream.synchronize()
            acc = harness_case.model.accuracy.check(out, harness_case.model.reference(x))
            assert acc.ok, f"batch {batch}: {acc.why}"
    desc = runner.describe()
    if exp.graph == "torch_per_shape":
        assert int(desc["captures"]) == len(set(batches)), f"{exp.source}: {desc}"
    _prove(harness_case, cell, exp, float(desc.get("captures", 0)))


def _prove(harness_case, cell, exp, captures=0.0):
    """The cell's account, naming the oracle row it proved and the proof level this machine gives it."""
    from harness.coverage import behaviour_row

    harness_case.record("captures", captures, "1", outcome=exp.outcome, row=behaviour_row(cell),
                        level=harness_case.session.proof_level)
