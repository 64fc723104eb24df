"""The processes the harness starts have their entry points in ``harness/children/``; the two that run as files in
another process's view of the world (the bench's user loop, the contract child in its own environment) import
nothing of the harness, and the others are started with this checkout importable."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILDREN = ROOT / "harness" / "children"
PROJECT = {"harness", "models", "reports", "suites", "tests", "conftest"}


def imported_roots(source: str) -> set[str]:
    """Top-level names of every module ``source`` imports, at module or function level; "." for a relative import."""
    tree = ast.parse(source)
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            names.add("." if n.level else (n.module or "").split(".")[0])
    return names


@pytest.mark.parametrize(("name", "allowed"), [
    ("reference_loop.py", {"__future__", "json", "sys", "time", "torch", "torchvision"}),
    ("contract_child.py", {*sys.stdlib_module_names, "__future__", "torch", "torch_tensorrt", "tensorrt_rtx", "filelock"}),
], ids=["reference_loop", "contract_child"])
def test_file_children_import_nothing_of_the_harness(name, allowed):
    roots = imported_roots((CHILDREN / name).read_text())
    assert roots <= allowed and not roots & PROJECT and "." not in roots, sorted(roots - allowed)


def test_import_check_flags_a_harness_import():
    """Negative control: the same check on a file that imports the harness inside a function, or relatively."""
    src = "import json\n\ndef f():\n    from harness.config import VARIANTS\n    from . import x\n    return VARIANTS, x\n"
    assert imported_roots(src) == {"json", "harness", "."}


def test_every_child_is_an_entry_point():
    """Each module of the folder runs as a program: a top-level ``if __name__ == "__main__":`` in its code."""
    modules = sorted(p.name for p in CHILDREN.glob("*.py") if p.name != "__init__.py")
    assert modules == ["cache_child.py", "cache_contend.py", "calibrate_worker.py", "contract_child.py", "latency_child.py",
                       "reference_loop.py", "trace_child.py"]
    for name in modules:
        body = ast.parse((CHILDREN / name).read_text()).body
        assert any(isinstance(n, ast.If) and ast.unparse(n.test) == "__name__ == '__main__'" for n in body), name


def test_module_children_import_this_checkout():
    """``python -m harness.children.X`` children get this checkout first on PYTHONPATH (the folder moved one level
    down: a stale parents[1] would point at harness/)."""
    from harness.children.cache_child import child_env

    assert child_env()["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)


def _files(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def test_traced_run_keeps_its_builds_in_the_given_cache_dir(tmp_path, monkeypatch):
    """The traced child builds in the folder its starter names (the run's --harness-cache-dir), not in a default
    relative to its working folder (before: ./.harness-cache, whatever the option said). No GPU here: CUPTI is off and
    the load fails, but the native TensorRT-RTX engine is built on any machine and lands on disk. Control: a second
    run given another folder builds there and leaves the first folder as it was."""
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx not installed: pip install '.[rtx]'")
    from harness.children.trace_child import TraceSpec, libcupti_path, run_traced

    if libcupti_path() is None:
        pytest.skip("libcupti not found (nvidia-cuda-cupti, installed with torch's CUDA wheels)")
    monkeypatch.setenv("HARNESS_CUPTI", "0")
    monkeypatch.chdir(tmp_path)
    spec = TraceSpec("dynconv", "trt_rtx", "static", "default")
    first, second = tmp_path / "cache-a", tmp_path / "cache-b"
    trace = run_traced([spec], tmp_path / "a.trace.json", first)
    assert spec.case_id in trace.meta["cases"]  # the case ran (its error, if any, recorded) and the trace was written
    built = _files(first)
    assert any(name.startswith("trt_rtx/") and name.endswith(".engine") for name in built), built
    assert not (tmp_path / ".harness-cache").exists()

    run_traced([spec], tmp_path / "b.trace.json", second)
    assert {n for n in _files(second) if n.endswith(".engine")} == {n for n in built if n.endswith(".engine")}
    assert _files(first) == built and not (tmp_path / ".harness-cache").exists()
