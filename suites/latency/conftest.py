from __future__ import annotations

import pytest

from harness.keys import RUN_CONFIG
from suites.helpers import latency_cases, overhead_cases, parametrize_cases

CASES = {"test_latency": latency_cases, "test_framework_overhead": overhead_cases}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        parametrize_cases(metafunc, CASES[metafunc.function.__name__](metafunc.config.stash[RUN_CONFIG]))
