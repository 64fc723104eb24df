from __future__ import annotations

import pytest

from harness.cases import Case
from harness.oracle import Cell, all_cells
from harness.streams import BOUND_MODES

PYTORCH_BACKENDS = ("eager", "cudagraph", "compile")
# oracle cg_mode -> (backend variant, extra build options)
CG_MODE_VARIANT = {
    "standard": ("eager", ()),
    "capture_side": ("cudagraph", (("capture", "side"),)),
    "capture_current": ("cudagraph", (("capture", "current"),)),
    "default": ("compile", ()),
    "reduce_overhead": ("compile-ro", ()),
}
MODEL = "dynconv"  # the oracle's PyTorch rows do not depend on the model; dynconv keeps compiles short


def pytorch_cells() -> list[Cell]:
    return [c for c in all_cells() if c.backend in PYTORCH_BACKENDS and c.stream in BOUND_MODES]


def cell_case(cell: Cell) -> Case:
    variant, extra = CG_MODE_VARIANT[cell.cg_mode]
    extra = (*extra, ("variant", cell.variant)) if cell.variant != "plain" else extra
    return Case(MODEL, variant, cell.shapes, cell.stream, extra=extra)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" in metafunc.fixturenames:
        cells = pytorch_cells()
        metafunc.parametrize(("cell", "case"), [(c, cell_case(c)) for c in cells], ids=[c.id for c in cells])
