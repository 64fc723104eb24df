from __future__ import annotations

import pytest

from harness.backends.base import RunSettings
from harness.cases import Case
from harness.expect.graphs import Cell, all_cells
from harness.keys import RUN_CONFIG
from harness.vocab import BOUND_STREAM_MODES, PYTORCH_BACKENDS, RTX_VARIANTS, CacheState
from suites.helpers import target_version, torch_trt_runtimes

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
    return [c for c in all_cells() if c.backend in PYTORCH_BACKENDS and c.stream in BOUND_STREAM_MODES]


def cell_case(cell: Cell) -> Case:
    variant, extra = CG_MODE_VARIANT[cell.cg_mode]
    extra = (*extra, ("form", cell.form)) if cell.form != "plain" else extra
    return Case(MODEL, variant, cell.shapes, cell.stream, extra=extra)


RTX_CACHE: tuple[CacheState, ...] = ("off", "warm")  # a warm runtime cache must not change what a CUDA-graph cell does


def rtx_cells() -> list[Cell]:
    """The cells the suite runs. Where the package selects the runtime (2.14), one cell stands for both runtime
    values: it is parametrized with runtime "cpp" and the test puts in the runtime that ran before judging."""
    version = target_version()
    selected = torch_trt_runtimes() == ("selected",)
    return [c for c in all_cells() if c.backend in RTX_VARIANTS and c.stream == "default"
            and c.version in (version, "n/a") and not (selected and c.runtime == "python")]


def rtx_case(model: str, cell: Cell, cache: str) -> Case:
    settings = RunSettings(cuda_graph_strategy=cell.cuda_graph_strategy, kernel_strategy=cell.kernel_strategy,
                           cg_mode=cell.cg_mode)
    rt = torch_trt_runtimes()[0] if torch_trt_runtimes() == ("selected",) else cell.runtime
    extra = (("rt", rt), ("seg", cell.segmentation)) if cell.backend == "torch_trt" else ()
    return Case(model, cell.backend, cell.shapes, cell.stream, settings=settings, extra=extra, cache=cache)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rtx_cell" in metafunc.fixturenames:
        models = metafunc.config.stash[RUN_CONFIG].models
        rows = [(c, rtx_case(m, c, cache)) for m in models for c in rtx_cells() for cache in RTX_CACHE]
        metafunc.parametrize(("rtx_cell", "case"), rows, ids=[case.id for _, case in rows])
    elif "cell" in metafunc.fixturenames:
        cells = pytorch_cells()
        metafunc.parametrize(("cell", "case"), [(c, cell_case(c)) for c in cells], ids=[c.id for c in cells])
