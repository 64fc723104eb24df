from __future__ import annotations

import pytest

from harness.keys import RUN_CONFIG
from suites.helpers import build_cases, parametrize_cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        parametrize_cases(metafunc, build_cases(metafunc.config.stash[RUN_CONFIG]))
