"""Confinement cells: every (model, PyTorch backend, stream mode) runs in one traced child per model,
each cell in its own checked NVTX range; negative controls run beside them and must fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.children.trace_child import TraceSpec
from harness.expect.confinement import CONTROL_PROBLEMS
from harness.keys import RUN_CONFIG
from harness.vocab import BOUND_STREAM_MODES, PYTORCH_BACKENDS
from suites.helpers import rtx_builds

POSITIVE_MODES = (*BOUND_STREAM_MODES, "green16", "green32", "green66", "torchgreen32")
# TensorRT-RTX variants, judged against the oracle's STREAMS rows (engine side stream or the caller's)
RTX_BACKENDS = rtx_builds()
# (control, eager or the backend whose build option makes the fault, stream mode); the problem each must make the
# verdict name: harness.expect.confinement.CONTROL_PROBLEMS.
# side_capture, seen on an H200 (torch 2.11, driver 580.159): a CUDA graph captured on a primary-context side stream
# and replayed on a green-context stream runs its kernels in the primary context. Kept as a cell that must keep
# showing the escape; the confined way is to capture on the bound stream (capture=current).
CONTROLS = (
    ("side_stream", "eager", "green32"),
    ("side_stream", "eager", "caller"),
    ("default_stream", "eager", "green32"),
    ("fewer_sms", "eager", "green32"),
    ("side_capture", "cudagraph", "green32"),
)


def _capture(backend, mode):
    # the legacy default stream cannot capture; every other bound stream captures its own graph
    return (("capture", "side" if mode == "default" else "current"),) if backend == "cudagraph" else ()


def positive_specs(models):
    return [TraceSpec(m, b, "static", mode, extra=_capture(b, mode)) for m in models for b in PYTORCH_BACKENDS
            for mode in POSITIVE_MODES]


def control_specs(models):
    return [(TraceSpec(m, backend, "static", mode, control, extra=(("capture", "side"),) if control == "side_capture" else ()),
             CONTROL_PROBLEMS[control]) for m in models for control, backend, mode in CONTROLS]


def rtx_specs(models):
    return [TraceSpec(m, v, "static", mode, extra=extra) for m in models for v, extra in RTX_BACKENDS
            for mode in POSITIVE_MODES]


def rtx_unavailable(session, variant):
    """Why a TensorRT-RTX variant cannot run in the traced child here (the probe's words), or None."""
    caps = ("trt_rtx_run",) if variant == "trt_rtx" else ("torch_tensorrt", "trt_rtx_run")
    reasons = [session.env.cap(c).reason for c in caps if not session.env.cap(c).ok]
    return "; and ".join(reasons) or None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    models = metafunc.config.stash[RUN_CONFIG].models
    if "rtx_spec" in metafunc.fixturenames:
        specs = rtx_specs(models)
        metafunc.parametrize("rtx_spec", specs, ids=[s.case_id for s in specs])
    elif "spec" in metafunc.fixturenames and "problem" in metafunc.fixturenames:
        pairs = control_specs(models)
        metafunc.parametrize(("spec", "problem"), pairs, ids=[s.case_id for s, _ in pairs])
    elif "spec" in metafunc.fixturenames:
        specs = positive_specs(models)
        metafunc.parametrize("spec", specs, ids=[s.case_id for s in specs])


@pytest.fixture(scope="session")
def confinement(harness_session):
    """model -> (trace, {case id: verdict}, {case id: the child's account}); one traced child per model."""
    if harness_session.env.gpu is None:
        pytest.skip(f"needs a CUDA GPU: {harness_session.env.cap('gpu').reason}")
    for cap in ("cupti", "green_ctx_driver", "nvtx"):
        if not harness_session.env.cap(cap).ok:
            pytest.skip(f"{cap}: {harness_session.env.cap(cap).reason}")
    from harness.children.trace_child import run_traced
    from harness.expect.confinement import verdicts

    out_dir = Path(harness_session.config.out_dir) / "traces"
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = {}

    def get(model):
        if model not in runs:
            specs = [s for s in positive_specs([model])] + [s for s, _ in control_specs([model])]
            specs += [s for s in rtx_specs([model]) if not rtx_unavailable(harness_session, s.variant)]
            trace = run_traced(specs, out_dir / f"confinement-{model}.trace.json", harness_session.config.cache_dir)
            runs[model] = (trace, {v.case_id: v for v in verdicts(trace)}, trace.meta["cases"])
        return runs[model]

    return get
