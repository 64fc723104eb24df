from __future__ import annotations

import pytest

from harness.plugin import RUN_CONFIG
from suites.helpers import latency_cases, parametrize_cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        parametrize_cases(metafunc, latency_cases(metafunc.config.stash[RUN_CONFIG]))
