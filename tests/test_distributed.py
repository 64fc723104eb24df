"""pytest-xdist scale-out: merged results, a crashed worker loses only its cell, build groups stay together."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.distributed import affinity_problems, assign, check_gpus_exist, group_of, parse_gpus
from harness.errors import UsageError
from harness.results import read_results
from tests.plugin_project import harness_env, write_project

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("xdist", reason="pytest-xdist is not installed: pip install '.[dev]'")

SUITE = textwrap.dedent("""
    import os
    import pytest
    from harness.cases import Case

    CASES = [Case(m, v, "static") for m in ("dynconv", "resnet18") for v in ("eager", "compile")]
    IDS = [c.id for c in CASES]

    @pytest.mark.parametrize("case", CASES, ids=IDS)
    @pytest.mark.parametrize("rep", [0, 1, 2])
    def test_cell(case, rep):
        assert os.environ["CUDA_VISIBLE_DEVICES"] in ("7", "9")  # pinned before the test ran

    @pytest.mark.parametrize("case", CASES[:1], ids=IDS[:1])
    def test_crash(case):
        os._exit(3)  # the worker dies mid-cell, as after a sticky CUDA error

    @pytest.mark.parametrize("case", CASES[:1], ids=IDS[:1])
    def test_after_crash(case):  # same build group as the crash: must still run, on the replacement worker
        assert True
""")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two fake GPUs (7, 9) through CUDA_VISIBLE_DEVICES; --harness-gpus 2 means -n 2 --dist loadgroup."""
    proj = write_project(tmp_path_factory.mktemp("proj"), {"test_dist.py": SUITE})
    env = harness_env(CUDA_VISIBLE_DEVICES="7,9")
    out = proj / "out"
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites", "--harness-gpus", "2", "-p", "no:cacheprovider",
                           f"--harness-out={out}", "--harness-no-report", f"--rootdir={proj}"], cwd=proj,
                          capture_output=True, text=True, timeout=180, env=env)
    return proc, read_results(next(out.glob("*/results.jsonl")))


def test_crashed_worker_loses_only_its_cell(run):
    proc, res = run
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "loadgroup" in proc.stdout or "replacing crashed worker" in proc.stdout, proc.stdout[-3000:]
    cells = {c["nodeid"].split("::")[-1].split("[")[0]: c for c in res.cells if "test_cell" not in c["nodeid"]}
    assert cells["test_crash"]["outcome"] == "failed" and "crashed" in cells["test_crash"]["reason"]
    assert cells["test_after_crash"]["outcome"] == "passed"
    assert [c["outcome"] for c in res.cells].count("passed") == 12 + 1
    assert len(res.cells) == 14  # every cell once: the crashed one is not run again
    assert res.meta_lines == 1 and res.meta["run_id"] and res.torn == 0


def test_groups_stay_on_one_worker_and_gpu(run):
    _, res = run
    by_group: dict[str, set[tuple[str, str]]] = {}
    for c in res.cells:
        if "test_cell" in c["nodeid"]:
            by_group.setdefault(c["case_id"].rsplit("-stream", 1)[0], set()).add((c["worker"], c["gpu"]))
    assert len(by_group) == 4 and all(len(v) == 1 for v in by_group.values()), by_group
    gpus = {c["worker"]: c["gpu"] for c in res.cells}
    assert set(gpus.values()) <= {"7", "9"} and len(set(gpus.values())) == 2, gpus
    crashed, after = (next(c for c in res.cells if t in c["nodeid"]) for t in ("test_crash", "test_after_crash"))
    assert after["worker"] != crashed["worker"], (crashed, after)  # the rest of the group went to a live worker


def test_gpu_options():
    assert parse_gpus("2") == (0, 1) and parse_gpus("0,3") == (0, 3)
    for bad in ("x", "0", "1,1", "-1"):
        with pytest.raises(UsageError, match="Fix:"):
            parse_gpus(bad)
    assert [assign(f"gw{i}", ("0", "1"), live) for i, live in enumerate(({}, {"gw0": "0"}, {"gw0": "0", "gw1": "1"}))] \
        == ["0", "1", "0"]
    assert assign("gw2", ("0", "1"), {"gw0": "0"}) == "1"  # replaces the crashed gw1 on its GPU
    assert assign("main", ("0",)) is None
    assert check_gpus_exist((1,), ("4", "5")) == ("5",)
    with pytest.raises(UsageError, match="has 1 GPU"):
        check_gpus_exist((0, 1), ("0",))
    with pytest.raises(UsageError, match="no GPU"):
        check_gpus_exist((0,), ())


def test_groups():
    from harness.cases import Case
    from harness.children.trace_child import TraceSpec

    a, b = Case("dynconv", "eager", "static", "caller"), Case("dynconv", "eager", "static", "green16")
    assert group_of({"case": a}) == group_of({"case": b}) != group_of({"case": Case("dynconv", "eager", "dynamic")})
    assert group_of({"spec": TraceSpec("resnet18", "eager", "static", "caller")}) == "trace-resnet18"
    assert group_of({"x": 1}) is None


def test_affinity_check():
    uuids = {"0": "aaaa", "1": "bbbb"}
    assert affinity_problems("1", "GPU-bbbb", uuids) == []
    assert "is GPU 0" in affinity_problems("1", "aaaa", uuids)[0]  # a worker computing on the wrong GPU
    assert "not on this host" in affinity_problems("5", "aaaa", uuids)[0]



STICKY_SUITE = textwrap.dedent("""
    import pytest
    from harness.cases import Case

    CASE = Case("dynconv", "eager", "static")

    def _sticky():
        import torch
        if torch.cuda.is_available():  # a real device-side assert: the CUDA context is dead afterwards
            x = torch.zeros(4, device="cuda")
            x[torch.tensor([99], device="cuda")] += 1
            torch.cuda.synchronize()
        raise RuntimeError("CUDA error: device-side assert triggered (raised by the test: no GPU here)")

    @pytest.mark.parametrize("case", [CASE], ids=[CASE.id])
    @pytest.mark.parametrize("step", range(4))
    def test_group(case, step):
        if step == 1:
            _sticky()
        import torch
        if torch.cuda.is_available():
            torch.ones(2, device="cuda").sum().item()  # fails in a process whose context is dead
""")


def test_sticky_cuda_error_loses_only_its_cell(tmp_path):
    """After a sticky CUDA error the worker exits and is replaced: the later cells of its group pass."""
    write_project(tmp_path, {"test_sticky.py": STICKY_SUITE})
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites", "-n", "1", "--dist", "loadgroup", "-p",
                           "no:cacheprovider", f"--harness-out={out}", "--harness-no-report", f"--rootdir={tmp_path}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=harness_env())
    res = read_results(next(out.glob("*/results.jsonl")))
    outcomes = {c["nodeid"].split("[")[1].split("-")[0]: c["outcome"] for c in res.cells}
    assert outcomes == {"0": "passed", "1": "failed", "2": "passed", "3": "passed"}, (outcomes, proc.stdout[-3000:])
    assert len(res.cells) == 4 and "device-side assert" in next(c for c in res.cells if c["outcome"] == "failed")["reason"]
    assert "replacing crashed worker" in proc.stdout, proc.stdout[-3000:]
