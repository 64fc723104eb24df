"""The TensorRT-RTX rows of the oracle: every CUDA-graph mode x cuda_graph_strategy x kernel strategy x
static/dynamic (x segmentation, x runtime cache off/warm), for Torch-TensorRT and the native adapter.

Each cell asserts its row: the expected error with its message, the RTX-native override warning, or a run
whose every output meets the accuracy rule against eager, with the graph owner, the strategies and the
execution-context count read back from the library objects. Torch-TensorRT 2.14 cells are judged by the rows
of the runtime that actually ran (the package selects it; ``use_python_runtime`` is a no-op). Where
TensorRT-RTX cannot run the engine (compute capability 9.0, no driver) or Torch-TensorRT is not importable,
the cell skips with the library's or the probe's words.
"""

from __future__ import annotations

import dataclasses
import logging

from harness.expect.graphs import Cell, expect
from harness.rtx_checks import context_problems, graph_problems, warning_problems
from harness.runtime_cache import isolated_path
from suites.helpers import assert_raises_as_row, gpu, require_runs, rtx


def _batches(harness_case):
    spec = harness_case.model.input
    if harness_case.case.shapes == "static":
        return [spec.static_batch, spec.static_batch]
    r = spec.dynamic_batch
    return [r.min, r.max, r.opt]


def _prime(harness_case, cache_path):
    """A warm cell's cache: one load in the plain mode (no capture, so it cannot raise the cell's own error)
    that runs once and saves the run's cache file."""
    settings = dataclasses.replace(harness_case.case.settings, runtime_cache=str(cache_path))
    harness_case.case = dataclasses.replace(harness_case.case, settings=dataclasses.replace(settings, cg_mode="standard"))
    prime = harness_case.runner()
    try:
        prime(harness_case.input(_batches(harness_case)[0]))
        assert prime.save_cache() > 0, f"priming saved no runtime cache to {cache_path}"
    finally:
        getattr(prime, "close", lambda: None)()
    harness_case.case = dataclasses.replace(harness_case.case, settings=settings)


def _resolved(rtx_cell: Cell, runner) -> Cell:
    """2.14 cells carry no runtime of their own: the row is the one of the runtime that ran."""
    if rtx_cell.backend == "torch_trt" and rtx_cell.version == "2.14":
        return dataclasses.replace(rtx_cell, runtime=runner.runtime())
    return rtx_cell


@gpu
@rtx
def test_rtx_cell(rtx_cell, case, harness_case, caplog, capfd):
    require_runs(harness_case)
    rc = harness_case.session.config
    key = f"cg-{case.model}-{case.shapes}-{case.variant}-{case.settings.kernel_strategy}"
    path = isolated_path(rc.cache_dir, harness_case.session.cache_key, key)
    if case.cache == "warm":
        _prime(harness_case, path)
    caplog.set_level(logging.WARNING)
    caplog.clear()
    capfd.readouterr()  # C++ log lines of the priming load are not this cell's
    runner = harness_case.runner()
    try:
        cell = _resolved(rtx_cell, runner)
        exp = expect(cell)
        _check(harness_case, runner, cell, exp, path, caplog, capfd)
    finally:
        getattr(runner, "close", lambda: None)()


def _check(harness_case, runner, cell, exp, path, caplog, capfd):
    batches = _batches(harness_case)
    if exp.outcome == "raises":
        def forwards():
            for b in batches:
                runner(harness_case.input(b))

        assert_raises_as_row(exp, forwards)
        _prove(harness_case, cell, exp)
        return
    for b in batches:
        x = harness_case.input(b)
        acc = harness_case.model.accuracy.check(runner(x).clone(), harness_case.model.reference(x.cpu()))
        assert acc.ok, f"batch {b}: {acc.why} ({exp.source})"
    desc = runner.describe()
    logs = [r.getMessage() for r in caplog.records] + capfd.readouterr().err.splitlines()
    problems = warning_problems(exp, logs, desc) + graph_problems(cell, exp, desc, batches)
    if cell.backend == "torch_trt":
        problems += context_problems(exp, runner.contexts_at_load, runner.contexts())
        want_cache = str(path) if harness_case.case.cache == "warm" else ""
        attached = runner.attached_caches()
        if any(p != want_cache for p in attached):
            problems.append(f"engines attached runtime caches {attached}; the cell's is {want_cache or 'none'}")
    assert not problems, (exp.source, problems, desc)
    _prove(harness_case, cell, exp, float(sum(runner.contexts())) if cell.backend == "torch_trt" else 1.0, desc)


def _prove(harness_case, cell, exp, contexts=0.0, desc=None):
    """The cell's account, naming the oracle row it proved and the proof level this machine gives it."""
    from harness.coverage import behaviour_row

    harness_case.record("contexts", contexts, "1", outcome=exp.outcome, graph=exp.graph, runtime=cell.runtime,
                        ran=desc or {}, row=behaviour_row(cell), level=harness_case.session.proof_level)
