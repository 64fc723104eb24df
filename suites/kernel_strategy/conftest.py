"""Kernel-specialization cells: TensorRT-RTX's strategies on the dynamic-batch engines, and the PyTorch cells
that prove the sweep and its specialization count on torch.compile."""

from __future__ import annotations

import pytest

from harness.backends.base import RunSettings
from harness.cases import Case
from harness.keys import RUN_CONFIG
from harness.vocab import KERNEL_STRATEGIES, SHAPES
from suites.helpers import rtx_builds

# (variant, build options) of the RTX cells: the native adapter, and Torch-TensorRT on each runtime
RTX = rtx_builds()
COMPILE_SHAPES = SHAPES[::-1]  # dynamic first; torch.compile(dynamic=True): symbolic sizes; False: one graph per shape


def rtx_cases(models: tuple[str, ...]) -> list[Case]:
    return [Case(m, v, "dynamic", settings=RunSettings(kernel_strategy=ks), extra=extra)
            for m in models for v, extra in RTX for ks in KERNEL_STRATEGIES]


def compile_cases() -> list[Case]:
    return [Case("dynconv", "compile", s) for s in COMPILE_SHAPES]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    name = metafunc.function.__name__
    cases = rtx_cases(metafunc.config.stash[RUN_CONFIG].models) if name == "test_rtx_sweep" else compile_cases()
    metafunc.parametrize("case", cases, ids=[c.id for c in cases])
