"""Longest units first: with --dist loadgroup the scheduler hands out the build groups whose cells (setup included)
took longest in an earlier run before the short ones, so two GPUs finish together instead of one waiting on the
last long unit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import OrderedDict

import pytest

from harness.distributed import order_longest_first, previous_seconds
from harness.results import ResultsWriter, read_results
from tests.plugin_project import harness_env, write_project

pytest.importorskip("xdist", reason="pytest-xdist is not installed: pip install '.[dev]'")

# Six build groups of three cells. resnet18-compile pays 0.4 s in each cell's setup, resnet18-cudagraph in each
# call; the four others take milliseconds. Collection puts the two long groups last.
SUITE = textwrap.dedent("""
    import time
    import pytest
    from harness.cases import Case

    CASES = [Case(m, v, "static") for m in ("dynconv", "resnet18") for v in ("eager", "compile", "cudagraph")]

    @pytest.fixture
    def pause(case):
        if (case.model, case.variant) == ("resnet18", "compile"):
            time.sleep(0.4)

    @pytest.mark.parametrize("rep", [0, 1, 2], ids=["r0", "r1", "r2"])
    @pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
    def test_cell(case, rep, pause):
        if (case.model, case.variant) == ("resnet18", "cudagraph"):
            time.sleep(0.4)
""")
LONG = ("resnet18-sta-compile", "resnet18-sta-cudagraph")
FIRST_IN_COLLECTION = ("dynconv-sta-eager", "dynconv-sta-compile")


def _run(proj, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "suites", "--harness-gpus", "2", "-p", "no:cacheprovider",
                           f"--harness-out={proj / 'out'}", "--harness-no-report", f"--rootdir={proj}", *args],
                          cwd=proj, capture_output=True, text=True, timeout=180,
                          env=harness_env(CUDA_VISIBLE_DEVICES="7,9", TRTRTX_HARNESS_RUNS_DIR=str(proj / "registry")))


def _first_unit_of_each_worker(results_dir) -> set[str]:
    res = read_results(results_dir)
    first: dict[str, str] = {}
    for c in res.cells:  # written as reports arrive: a worker's cells in the order it ran them
        first.setdefault(c["worker"], c["case_id"].split("-stream")[0].split("-cache")[0])
    return {case for case in first.values()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run 1 has no earlier run (pytest-xdist's order) and becomes ``latest``; run 2 orders itself by run 1."""
    proj = write_project(tmp_path_factory.mktemp("order"), {"test_order.py": SUITE})
    first = _run(proj, "--harness-run-id=first", "--harness-latest")
    second = _run(proj, "--harness-run-id=second")
    return proj, first, second


def test_units_that_took_longest_before_start_first(runs):
    proj, first, second = runs
    assert first.returncode == 0 and second.returncode == 0, first.stdout[-2000:] + second.stdout[-2000:]
    assert "in pytest-xdist order (no earlier run at" in first.stdout, first.stdout[-2000:]
    said = [line for line in second.stdout.splitlines() if line.startswith("harness: ")]
    assert any("cell times of an earlier run:" in ln and "first/results.jsonl (18 cells)" in ln for ln in said), said
    assert "harness: work units longest first: 18 of 18 cells timed by the earlier run; first build-resnet18" in second.stdout
    assert _first_unit_of_each_worker(proj / "out" / "second") == set(LONG)
    # control: the same suite without earlier times starts with the first two groups of the collection
    assert _first_unit_of_each_worker(proj / "out" / "first") == set(FIRST_IN_COLLECTION)


def test_setup_time_is_recorded_and_counted(runs):
    proj, _, _ = runs
    cells = {c["nodeid"]: c for c in read_results(proj / "out" / "first").cells}
    slow_setup = [c for c in cells.values() if c["case_id"].startswith(LONG[0])]
    slow_call = [c for c in cells.values() if c["case_id"].startswith(LONG[1])]
    assert len(slow_setup) == 3 and all(c["setup_s"] >= 0.35 and c["duration_s"] < 0.3 for c in slow_setup), slow_setup
    assert len(slow_call) == 3 and all(c["duration_s"] >= 0.35 and c["setup_s"] < 0.3 for c in slow_call), slow_call
    seconds = previous_seconds(list(cells.values()))
    assert all(seconds[c["nodeid"]] >= 0.35 for c in slow_setup)  # the setup counts towards its unit


def test_an_earlier_run_that_timed_none_of_these_cells_leaves_the_order_alone(tmp_path):
    proj = write_project(tmp_path, {"test_order.py": SUITE})
    other = tmp_path / "other.jsonl"
    with ResultsWriter(other) as w:  # another suite set: its cells are not this run's
        w.write("meta", {"run_id": "other"})
        w.write("cell", {"nodeid": "suites/test_else.py::test_x", "duration_s": 9.0})
        w.write("end", {"status": "completed"})
    out = _run(proj, f"--harness-order-from={other}", "--harness-run-id=third")
    assert out.returncode == 0 and "no cell of this run has a time in the earlier run" in out.stdout, out.stdout[-2000:]
    assert _first_unit_of_each_worker(proj / "out" / "third") == set(FIRST_IN_COLLECTION)


def test_an_explicit_order_source_that_does_not_exist_is_refused(tmp_path):
    proj = write_project(tmp_path, {"test_order.py": SUITE})
    out = _run(proj, f"--harness-order-from={tmp_path / 'nowhere'}")
    assert out.returncode == 2 and "--harness-order-from" in out.stderr and "Fix:" in out.stderr, out.stderr[-2000:]
    assert f"'{tmp_path / 'nowhere'}'" in out.stderr and "needs auto, none" in out.stderr
    assert "Traceback" not in out.stderr


def _queue(*units: tuple[str, int]) -> OrderedDict[str, dict[str, bool]]:
    return OrderedDict((scope, {f"t.py::c[{scope}-{i}]@{scope}": False for i in range(n)}) for scope, n in units)


def test_order_sums_a_units_cells_and_counts_an_unknown_cell_as_the_median(tmp_path):
    path = tmp_path / "results.jsonl"
    with ResultsWriter(path) as w:  # an earlier run as the harness writes it: untagged node ids, setup apart
        w.write("meta", {"run_id": "x"})
        for scope, call, setup in (("a", 0.1, 0.0), ("b", 1.0, 0.0), ("c", 0.1, 3.0)):
            for i in range(2):
                w.write("cell", {"nodeid": f"t.py::c[{scope}-{i}]", "duration_s": call, "setup_s": setup})
        w.write("end", {"status": "completed"})
    seconds = previous_seconds(read_results(path).cells)
    queue = _queue(("a", 2), ("b", 2), ("c", 2), ("new", 3))
    order = order_longest_first(queue, seconds)
    assert list(queue) == ["c", "new", "b", "a"], order  # new: 3 cells x the median cell (1.0 s)
    assert dict(order) == pytest.approx({"c": 6.2, "new": 3.0, "b": 2.0, "a": 0.2})
    untimed = _queue(("a", 1), ("b", 2))
    order_longest_first(untimed, {})
    assert list(untimed) == ["a", "b"]  # no earlier times: the queue keeps its order
