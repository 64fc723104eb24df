"""The oracle is complete (every cell exactly one expectation), has no dead rows, and cites sources."""

from __future__ import annotations

import dataclasses

import pytest

from harness import oracle
from harness.errors import UnknownChoiceError
from harness.oracle import BEHAVIOUR, STREAMS, Cell, Expect, OracleError, Row, all_cells, expect, kernel_stream

CELLS = list(all_cells())


def test_matrix_size():
    # torch_trt 2*2*3*2*3*2*4*2*1, trt_rtx 2*2*3*2*4, eager 1*2*4*2, cudagraph 2*2*4*2, compile 2*2*4*2
    assert len(CELLS) == 1152 + 96 + 16 + 32 + 32


def test_every_cell_has_exactly_one_behaviour_and_one_stream_row():
    for cell in CELLS:
        assert sum(r.matches(cell) for r in BEHAVIOUR) == 1, cell.id
        assert sum(r.matches(cell) for r in STREAMS) == 1, cell.id


def test_no_dead_rows():
    for row in BEHAVIOUR:
        assert any(row.matches(c) for c in CELLS), row
    for srow in STREAMS:
        assert any(srow.matches(c) for c in CELLS), srow


def test_every_row_cites_a_source_and_raises_name_a_message():
    for row in BEHAVIOUR:
        assert row.expect.source.strip(), row
        if row.expect.outcome in ("raises", "warns_override"):
            assert row.expect.exc and row.expect.message, row


def test_negative_controls_overlap_and_gap_are_detected(monkeypatch):
    cell = Cell("eager", "n/a", "n/a", "standard", "n/a", "n/a", "static", "default", "n/a", "plain")
    assert expect(cell).outcome == "runs"
    extra = Row({"backend": ("eager",)}, Expect("raises", "none", "test", "RuntimeError", "x"))
    monkeypatch.setattr(oracle, "BEHAVIOUR", (*BEHAVIOUR, extra))
    with pytest.raises(OracleError, match="2 behaviour rows"):
        oracle.expect(cell)
    monkeypatch.setattr(oracle, "BEHAVIOUR", tuple(r for r in BEHAVIOUR if r.when.get("backend") != ("eager",)))
    with pytest.raises(OracleError, match="0 behaviour rows"):
        oracle.expect(cell)


def test_spec_rows_spot_checks():
    base = dict(backend="torch_trt", version="2.14", shapes="dynamic", stream="green", segmentation="broken",
                variant="plain")
    py_lazy = Cell(runtime="python", cg_mode="whole_graph", strategy="disabled", kernel="lazy", **base)
    assert expect(py_lazy).exc == "RuntimeError" and "not monolithically" not in expect(py_lazy).message
    assert expect(py_lazy).message.startswith("CUDA graph capture failed")
    cpp_lazy = dataclasses.replace(py_lazy, runtime="cpp")
    assert expect(cpp_lazy).outcome == "runs"  # C++ engines are not checked
    sub_disabled = dataclasses.replace(py_lazy, cg_mode="subgraph")
    assert expect(sub_disabled).outcome == "warns_override"
    assert expect(dataclasses.replace(sub_disabled, runtime="cpp")).outcome == "no_graph"
    assert kernel_stream(py_lazy).kernel_stream == "caller"
    assert kernel_stream(dataclasses.replace(py_lazy, stream="default")).kernel_stream == "engine_side"
    assert kernel_stream(dataclasses.replace(py_lazy, version="2.11")).kernel_stream == "engine_side"


def test_cell_rejects_values_outside_its_backend_domain():
    with pytest.raises(UnknownChoiceError, match="'whole_graph'"):
        Cell("eager", "n/a", "n/a", "whole_graph", "n/a", "n/a", "static", "default", "n/a", "plain")
    with pytest.raises(UnknownChoiceError, match="oracle backend"):
        Cell("tensorrt", "n/a", "n/a", "standard", "n/a", "n/a", "static", "default", "n/a", "plain")


def test_raised_as_expected_walks_the_chain_and_the_mro():
    exp = Expect("raises", "none", "src", exc="RuntimeError", message="operation not permitted when stream is capturing")

    class AcceleratorError(RuntimeError):
        pass

    try:
        try:
            raise AcceleratorError("CUDA error: operation not permitted when stream is capturing")
        except AcceleratorError:
            raise AcceleratorError("CUDA error: operation failed due to a previous error during capture") from None
    except AcceleratorError as exc:
        outer = exc
    assert outer.__cause__ is None and outer.__suppress_context__  # 'from None' hides the root cause ...
    assert "operation failed" in oracle.raised_as_expected(outer, exp)  # ... so the match must fail
    try:
        try:
            raise AcceleratorError("CUDA error: operation not permitted when stream is capturing")
        except AcceleratorError:
            raise AcceleratorError("CUDA error: operation failed due to a previous error during capture")  # noqa: B904
    except AcceleratorError as exc:
        assert oracle.raised_as_expected(exc, exp) == ""
    assert "expected ValueError" in oracle.raised_as_expected(KeyError("x"), Expect("raises", "none", "s", "ValueError", "x"))
