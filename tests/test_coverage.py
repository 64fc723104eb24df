"""The Coverage table: every oracle row appears once, at the highest level a passing cell recorded for it."""

from __future__ import annotations

from harness.coverage import all_rows, behaviour_row, contract_row, coverage, current_row_name, executed_level, row_name
from harness.expect.contract import EXPECTATIONS
from harness.expect.graphs import BEHAVIOUR, STREAMS, Cell


def test_levels_by_machine():
    assert executed_level(None) == "L2"
    assert executed_level((9, 0)) == "L3"  # H100/H200: TensorRT-RTX refuses, PyTorch rows run
    assert executed_level((8, 9)) == "L4" and executed_level((12, 0)) == "L4" and executed_level((12, 1)) == "L4"
    assert executed_level((10, 0)) == "L3" and executed_level((7, 5)) == "L3"


def test_row_names_are_unique_and_cells_find_their_row():
    names = [row_name(r) for r in (*BEHAVIOUR, *STREAMS)]
    assert len(names) == len(set(names))
    cell = Cell("cudagraph", "n/a", "n/a", "capture_current", "n/a", "n/a", "static", "default", "n/a", "plain")
    assert behaviour_row(cell) == "cudagraph cg_mode=capture_current stream=default"


def test_highest_recorded_level_wins_and_floors_hold():
    cell = Cell("cudagraph", "n/a", "n/a", "capture_current", "n/a", "n/a", "static", "default", "n/a", "plain")
    name = behaviour_row(cell)
    recs = [{"row": name, "level": "L3"}, {"row": name, "level": "L2"}, {"row": name}]
    first = EXPECTATIONS[0].id
    cells = [{"outcome": "passed", "expectation": first, "level": "L2"},
             {"outcome": "failed", "expectation": EXPECTATIONS[1].id, "level": "L2"}]
    table = {c.row: c for c in coverage(recs, cells)}
    assert len(table) == len(all_rows()) == len(BEHAVIOUR) + len(STREAMS) + 1 + len(EXPECTATIONS)
    assert table[name].level == "L3" and table[name].cells == 2
    rtx = next(c for c in table.values() if c.row.startswith("trt_rtx "))
    assert rtx.level == "L1" and rtx.cells == 0  # type-checked adapters, never executed here
    assert table[contract_row(first)].level == "L2"
    assert table[contract_row(EXPECTATIONS[1].id)].level == "L0"  # a failed cell proves nothing


def test_row_names_recorded_before_the_vocabulary_count_for_todays_rows():
    """Results written when the oracle said ``strategy``/``kernel``/``variant`` still prove the same rows."""
    cell = Cell("torch_trt", "2.14", "python", "whole_graph", "disabled", "eager", "dynamic", "default", "broken", "plain")
    name = behaviour_row(cell)
    assert "cuda_graph_strategy=disabled" in name and "kernel_strategy=eager|none" in name
    old = name.replace("cuda_graph_strategy=", "strategy=").replace("kernel_strategy=", "kernel=")
    assert old != name
    assert current_row_name(old) == name and current_row_name(name) == name
    table = {c.row: c for c in coverage([{"row": old, "level": "L4"}])}
    assert table[name].level == "L4" and table[name].cells == 1
    assert old not in table
    hostsync = behaviour_row(Cell("cudagraph", "n/a", "n/a", "capture_side", "n/a", "n/a", "static", "default", "n/a",
                                  "hostsync"))
    assert current_row_name(hostsync.replace("form=", "variant=")) == hostsync
