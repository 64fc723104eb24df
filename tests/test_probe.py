"""Capability probe: precise reasons, no heavy imports, the static scan of the released wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.probe import EnvReport, run_probe
from harness.torchtrt_scan import scan_torch_tensorrt

ROOT = Path(__file__).resolve().parents[1]
WHEEL = ROOT / ".harness-cache" / "wheels" / "torch_tensorrt_rtx-2.14.0" / "torch_tensorrt"


@pytest.fixture(scope="module")
def env() -> EnvReport:
    return run_probe()


def test_every_no_has_a_reason_and_every_yes_a_detail(env):
    for cap in env.capabilities:
        if cap.ok:
            assert cap.detail and not cap.reason, cap
        else:
            assert len(cap.reason) > 20, cap


def test_gpu_reason_is_the_library_message(env):
    if env.gpu is not None:
        assert env.cap("gpu").ok and env.gpu.sm_count > 0 and env.gpu.compute_capability[0] >= 7
        return
    reason = env.cap("gpu").reason
    assert "NVIDIA" in reason or "CPU-only build" in reason or "device_count" in reason, reason


def test_trt_rtx_run_reason_comes_from_the_library(env):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx not installed: pip install '.[rtx]'")
    build, run = env.cap("trt_rtx_build"), env.cap("trt_rtx_run")
    assert build.ok, build.reason
    assert " B" in build.detail
    if not run.ok and env.gpu is None:  # "no GPU" first, then the library's own words (a CUDA error) as detail
        assert run.reason.startswith("no GPU: ") and "says: " in run.reason, run.reason
        assert "Error Code" in run.detail and run.detail.split("says: ", 1)[1] in run.reason, run
    elif not run.ok:  # the library's compute-capability refusal
        assert "Error Code" in run.reason or "compute capability" in run.reason, run.reason


def test_report_round_trips_through_json(env):
    again = EnvReport.from_dict(json.loads(json.dumps(env.to_dict())))
    assert again == env


def _python(code: str, extra_path: str = "") -> subprocess.CompletedProcess[str]:
    pp = os.pathsep.join(p for p in (extra_path, str(ROOT)) if p)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": pp}, cwd=ROOT)


def test_plugin_import_is_light():
    out = _python("""
        import sys
        import harness.plugin, harness.expect.graphs, harness.probe, reports
        heavy = [m for m in ("torch_tensorrt", "tensorrt_rtx", "cupti", "torch") if m in sys.modules]
        print(heavy)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_probe_never_imports_torch_tensorrt_without_gpu(tmp_path, env):
    """A torch_tensorrt whose import explodes: the probe must report it installed, not import it."""
    if env.gpu is not None:
        pytest.skip("this machine has a GPU: the probe is allowed to import torch_tensorrt (in a subprocess)")
    pkg = tmp_path / "torch_tensorrt"
    (pkg / "runtime").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('torch_tensorrt was imported')\n")
    (pkg / "runtime" / "__init__.py").write_text("def set_external_stream(m, s):\n    pass\n")
    out = _python("""
        import json, sys
        from harness.probe import run_probe
        rep = run_probe()
        assert "torch_tensorrt" not in sys.modules
        print(json.dumps(rep.to_dict()))
    """, str(tmp_path))
    assert out.returncode == 0, out.stderr
    rep = EnvReport.from_dict(json.loads(out.stdout))
    cap = rep.cap("torch_tensorrt")
    assert not cap.ok and "cannot be imported without a GPU" in cap.reason
    assert rep.torch_tensorrt["apis"]["proposed:set_external_stream"] is True
    assert rep.torch_tensorrt["apis"]["runtime.RuntimeSettings"] is False
    assert rep.torch_tensorrt["runtime"] == "python"  # no lib/libtorchtrt*.so


@pytest.mark.skipif(not WHEEL.is_dir(), reason=f"released wheel not unpacked at {WHEEL} (.ci/bootstrap does it)")
def test_static_scan_of_released_2_14_wheel():
    scan = scan_torch_tensorrt(str(WHEEL), "2.14.0")
    assert scan.runtime == "cpp"  # lib/libtorchtrt*.so ships (W14 _features.py:50-51)
    present = [k for k, v in scan.apis.items() if v]
    absent = [k for k, v in scan.apis.items() if not v]
    assert all(not k.startswith("proposed:") for k in present), present
    assert sorted(absent) == sorted(k for k in scan.apis if k.startswith("proposed:"))
    assert any("dynamo/_compiler.py:507" in f and "cuda_graph_strategy" in f for f in scan.findings), scan.findings
    assert any("dynamo/_compiler.py:632" in f and "use_python_runtime" in f for f in scan.findings), scan.findings
    assert any("runtime/_cudagraphs.py:165" in f and "_CudagraphsContextManager" in f for f in scan.findings), scan.findings
