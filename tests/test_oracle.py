"""The oracle is complete (every cell exactly one expectation), has no dead rows, and cites sources."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from harness.errors import UnknownChoiceError
from harness.expect import graphs as oracle
from harness.expect.graphs import BEHAVIOUR, STREAMS, Cell, Expect, OracleError, Row, all_cells, expect, kernel_stream

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


ROOT = Path(__file__).resolve().parents[1]
WHEEL = ROOT / ".harness-cache/wheels/torch_tensorrt_rtx-2.14.0/torch_tensorrt"
DOC_REF = re.compile(r"docs/behaviour\.md#([a-z0-9-]+)")
W14_REF = re.compile(r"W14 ([\w/]+\.py):((?:\d+(?:-\d+)?,?)+)")


def _doc_anchors() -> set[str]:
    text = (ROOT / "docs/behaviour.md").read_text()
    heads = {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
             for h in re.findall(r"^#+ (.+?)(?: <a id=.*)?$", text, re.M)}
    return heads | set(re.findall(r'<a id="([a-z0-9-]+)">', text))


def citation_problems(source: str, anchors: set[str]) -> list[str]:
    """A citation names a section of docs/behaviour.md that exists, and every W14 file:line it gives is a line of
    the released wheel (checked where .ci/bootstrap unpacked it)."""
    problems = [f"no section #{a}" for a in DOC_REF.findall(source) if a not in anchors]
    for name, spans in W14_REF.findall(source):
        files = [WHEEL / name] if "/" in name else list(WHEEL.rglob(name))
        if not WHEEL.is_dir():
            continue
        if len(files) != 1 or not files[0].is_file():
            problems.append(f"W14 {name}: {len(files)} files match")
            continue
        n = len(files[0].read_text().splitlines())
        last = max(int(x) for x in re.findall(r"\d+", spans))
        if last > n:
            problems.append(f"W14 {name}:{last} is past the file's {n} lines")
    return problems


def test_every_row_cites_a_section_and_wheel_lines_that_exist():
    anchors = _doc_anchors()
    for row in BEHAVIOUR:
        src = row.expect.source
        if set(row.when.get("backend", ())) & {"torch_trt", "trt_rtx"}:
            assert DOC_REF.search(src), row
        assert not citation_problems(src, anchors), (src, citation_problems(src, anchors))
        if row.expect.outcome in ("raises", "warns_override"):
            assert row.expect.exc and row.expect.message, row
    for srow in STREAMS:
        assert DOC_REF.search(srow.source) and not citation_problems(srow.source, anchors), srow


def test_citation_check_flags_a_missing_section_and_a_line_past_the_file():
    anchors = _doc_anchors()
    assert citation_problems("docs/behaviour.md#streams", anchors) == []
    assert citation_problems("docs/behaviour.md#no-such-section", anchors)
    if not WHEEL.is_dir():
        pytest.skip("the unpacked 2.14.0 wheel is absent (.ci/bootstrap could not download it)")
    assert citation_problems("W14 _TRTEngine.py:1242-1256", anchors) == []
    assert citation_problems("W14 _TRTEngine.py:1242-99999", anchors)
    assert citation_problems("W14 _NoSuchFile.py:1", anchors)


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
                form="plain")
    py_lazy = Cell(runtime="python", cg_mode="whole_graph", cuda_graph_strategy="disabled", kernel_strategy="lazy", **base)
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
