"""Proof levels: how far each expectation of the oracle has been proven, on this run.

- L0 cited: the row names its source (an upstream Torch-TensorRT line at a pinned commit or the released wheel's
  ``file:line``; docs/behaviour.md).
- L1 type-checked: mypy strict checks the adapter code that drives the row against the released packages (the
  2.14.0 wheel's Python sources, stubs of the installed tensorrt_rtx). A property of the code, checked in CI.
- L2 executed on CPU: the real library code ran on a machine without a GPU (the contract suite, or tensorrt_rtx
  itself) and agreed with the row.
- L3 executed on a GPU that TensorRT-RTX refuses (Hopper: compute capability 9.0): PyTorch rows, harness logic.
- L4 executed on a GPU TensorRT-RTX supports (8.0, 8.6, 8.9, 12.0 and later): the RTX rows themselves.

A cell that proves an oracle row records ``row=<row name>`` and ``level=<level>``; a contract cell carries its
``expectation`` and ``level``. The report's Coverage section takes, per row or expectation, the highest level a passing
cell reached in the run (at least L0, and L1 for rows whose adapters are type-checked).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.expect.graphs import BEHAVIOUR, STREAMS, Cell, Row, StreamRow, expect, kernel_stream
from harness.vocab import RTX_VARIANTS

LEVELS = ("L0", "L1", "L2", "L3", "L4")
LEVEL_TEXT = {
    "L0": "cited",
    "L1": "type-checked against the released packages",
    "L2": "executed on CPU with the real library",
    "L3": "executed on a GPU TensorRT-RTX refuses (Hopper)",
    "L4": "executed on a GPU TensorRT-RTX supports",
}
TYPE_CHECKED_BACKENDS = RTX_VARIANTS  # harness/backends/{torch_trt,trt_rtx}.py under mypy with the wheel
RTX_SUPPORTED = ((8, 0), (8, 6), (8, 9))  # and every capability from 12.0 on (tensorrt_rtx 1.7 refusal text)


def executed_level(compute_capability: tuple[int, int] | None) -> str:
    """The level a passing cell reaches on this machine."""
    if compute_capability is None:
        return "L2"
    return "L4" if compute_capability in RTX_SUPPORTED or compute_capability >= (12, 0) else "L3"


def row_name(row: Row | StreamRow) -> str:
    """A stable, readable name: the row's conditions, backend first (``torch_trt version=2.14 runtime=python ...``)."""
    when = dict(row.when)
    backends = "|".join(when.pop("backend", ("any",)))
    prefix = "streams " if isinstance(row, StreamRow) else ""
    return prefix + " ".join([backends, *(f"{k}={'|'.join(v)}" for k, v in when.items())])


# Row names written before the oracle's dimensions took their names from the vocabulary (``harness/vocab.py``):
# old dimension name -> current one. ``current_row_name`` maps a recorded name onto today's rows.
RENAMED_DIMENSIONS = {"strategy": "cuda_graph_strategy", "kernel": "kernel_strategy", "variant": "form"}


def current_row_name(name: str) -> str:
    """A row name as recorded by any version of the harness, with renamed dimensions in today's words."""
    words = [w.split("=", 1) for w in name.split(" ")]
    return " ".join(f"{RENAMED_DIMENSIONS.get(w[0], w[0])}={w[1]}" if len(w) == 2 else w[0] for w in words)


def behaviour_row(cell: Cell) -> str:
    """The name of the one behaviour row that judges ``cell`` (the oracle guarantees there is exactly one)."""
    exp = expect(cell)
    return next(row_name(r) for r in BEHAVIOUR if r.expect is exp)


def stream_row(cell: Cell) -> str:
    return row_name(kernel_stream(cell))


@dataclass(frozen=True)
class Covered:
    row: str
    source: str
    level: str
    cells: int  # passing cells that recorded this row in the run


KERNEL_READBACK_ROW = "kernel strategy read back from the library object"
EXTRA_ROWS = ((KERNEL_READBACK_ROW, "docs/behaviour.md#runtime-settings: the live IRuntimeConfig (native, Python "
               "runtime) or the module's RuntimeSettings (C++ runtime: no read-back)", "L1"),)


def _floor(row: Row | StreamRow) -> str:
    backends = dict(row.when).get("backend", ())
    return "L1" if any(b in TYPE_CHECKED_BACKENDS for b in backends) else "L0"


def contract_row(expectation_id: str) -> str:
    return f"contract {expectation_id}"


def all_rows() -> list[tuple[str, str, str]]:
    """(name, source, floor level) of every row the Coverage section lists: oracle rows, stream rows, the
    kernel-strategy read-back and the contract expectations."""
    from harness.expect.contract import EXPECTATIONS

    rows = [(row_name(r), r.expect.source, _floor(r)) for r in BEHAVIOUR]
    rows += [(row_name(r), r.source, _floor(r)) for r in STREAMS]
    rows += list(EXTRA_ROWS)
    rows += [(contract_row(e.id), f"W14 {e.citation}: {e.statement}", "L0") for e in EXPECTATIONS]
    return rows


def coverage(records: Iterable[Mapping[str, Any]], cells: Iterable[Mapping[str, Any]] = ()) -> list[Covered]:
    """Per row, the highest level reached: ``records`` carry ``row`` and ``level`` (written by passing cells only);
    ``cells`` are cell outcomes, of which passed contract cells carry ``expectation`` and ``level``."""
    evidence = [(current_row_name(str(r["row"])) if r.get("row") else None, r.get("level")) for r in records]
    evidence += [(contract_row(str(c["expectation"])), c.get("level")) for c in cells
                 if c.get("outcome") == "passed" and c.get("expectation")]
    best: dict[str, tuple[str, int]] = {}
    for row, level in evidence:
        if row and level in LEVELS:
            lvl, n = best.get(row, ("L0", 0))
            best[row] = (max(lvl, level), n + 1)
    out = []
    for name, source, floor in all_rows():
        lvl, n = best.get(name, (floor, 0))
        out.append(Covered(name, source, max(lvl, floor), n))
    return out
