"""Shared marks, constants and case builders for the suites."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.cases import Case
from harness.config import PROFILES, RunConfig
from harness.expect.graphs import Expect, raised_as_expected
from harness.vocab import SHAPES

perf = pytest.mark.perf
gpu = pytest.mark.gpu
rtx = pytest.mark.rtx


def profile_variants(rc: RunConfig) -> tuple[str, ...]:
    """Every variant the run may use on either device, in a stable order (cells skip per device)."""
    if rc.variants is not None:
        return rc.variants
    p = PROFILES[rc.profile]
    return tuple(dict.fromkeys((*p.cpu_variants, *p.cuda_variants)))


def latency_cases(rc: RunConfig) -> list[Case]:
    return [Case(m, v, s) for m in rc.models for v in profile_variants(rc) for s in SHAPES]


def build_cases(rc: RunConfig) -> list[Case]:
    return [Case(m, "trt_rtx", s) for m in rc.models for s in SHAPES]


def overhead_cases(rc: RunConfig) -> list[Case]:
    return [Case(m, "torch_trt", s) for m in rc.models for s in SHAPES]


def require_runs(harness_case: Any) -> None:
    """Skip unless the cell's backend can run here (not only build): a TensorRT-RTX engine must deserialize
    and run, which the probe decided with a one-layer engine; the skip carries the library's words."""
    harness_case.require(by_profile=False)
    if harness_case.case.variant == "trt_rtx":
        cap = harness_case.session.env.cap("trt_rtx_run")
        if not cap.ok:
            pytest.skip(cap.reason)


def assert_raises_as_row(exp: Expect, run: Callable[[], object]) -> None:
    """``run`` must raise what the oracle row says: an exception of the row's type whose chain holds its message."""
    with pytest.raises(Exception) as info:
        run()
    mismatch = raised_as_expected(info.value, exp)
    assert not mismatch, mismatch


def target_version() -> str:
    """The Torch-TensorRT release whose rows the suite runs: the installed one (metadata only, no import), else
    2.14, the release this harness targets. The other release's rows stay in the oracle's own tests."""
    from harness.probe import _pkg_version

    found = _pkg_version("torch-tensorrt-rtx", "torch_tensorrt_rtx", "torch-tensorrt", "torch_tensorrt") or "2.14"
    return ".".join(found.split(".")[:2])


def torch_trt_runtimes() -> tuple[str, ...]:
    """The Torch-TensorRT runtimes a suite asks for (build option ``rt``). From 2.14 the package selects the runtime
    and ``use_python_runtime`` is a deprecated no-op (docs/behaviour.md, "Runtime"), so cells ask for none
    ("selected") and are judged by the runtime that ran; earlier releases honour the flag."""
    return ("selected",) if target_version() >= "2.14" else ("cpp", "python")


def rtx_builds() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """(variant, build options) of a suite's TensorRT-RTX cells: the native adapter, and Torch-TensorRT on each
    runtime the suite asks for."""
    return (("trt_rtx", ()), *(("torch_trt", (("rt", rt),)) for rt in torch_trt_runtimes()))


def parametrize_cases(metafunc: pytest.Metafunc, cases: list[Case]) -> None:
    metafunc.parametrize("case", cases, ids=[c.id for c in cases])
