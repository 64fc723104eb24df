"""Runtime-cache cells: each phase (cold, warm, corrupt) of a cell runs in a fresh process."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.cases import Case
from harness.keys import RUN_CONFIG
from harness.runtime_cache import isolated_path
from harness.vocab import CACHE_VARIANTS, RTX_VARIANTS


def cache_cases(models: tuple[str, ...], state: str) -> list[Case]:
    return [Case(m, v, "static", cache=state) for m in models for v in CACHE_VARIANTS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    state = {"test_cold_then_warm": "warm", "test_corrupt_cache_is_a_cold_start": "corrupt"}.get(metafunc.function.__name__)
    if state:
        cases = cache_cases(metafunc.config.stash[RUN_CONFIG].models, state)
        params = [pytest.param(c, marks=[pytest.mark.rtx, pytest.mark.gpu] if c.variant in RTX_VARIANTS else [])
                  for c in cases]
        metafunc.parametrize("case", params, ids=[c.id for c in cases])


class ColdRuns:
    """One cold process per (model, variant), shared by the warm and corrupt cells; each copy is private."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.runs: dict[tuple[str, str, str], tuple[Path, dict[str, Any]]] = {}

    def path(self, case: Case, state: str) -> Path:
        rc = self.session.config
        key = f"{case.model}-{case.shapes}-{case.variant}-{state}"
        return isolated_path(rc.cache_dir, self.session.cache_key, key)

    def phase(self, case: Case, path: Path) -> dict[str, Any]:
        """One fresh process over the cache at ``path``."""
        from harness.children.cache_child import run_phase

        return run_phase(self.spec(case, path))

    def cold(self, case: Case) -> tuple[Path, dict[str, Any]]:
        key = (case.model, case.shapes, case.variant)
        if key not in self.runs:
            path = self.path(case, "cold")
            self.runs[key] = (path, self.phase(case, path))
        return self.runs[key]

    def copy(self, case: Case, state: str) -> Path:
        src, _ = self.cold(case)
        dst = self.path(case, state)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        return dst

    def spec(self, case: Case, path: Path) -> Any:
        from harness.children.cache_child import CacheRun

        device = "cuda" if case.variant != "compile" else self.session.device
        return CacheRun(case.variant, case.model, case.shapes, device, str(path), str(self.session.config.cache_dir))


@pytest.fixture(scope="session")
def cold_runs(harness_session) -> ColdRuns:
    return ColdRuns(harness_session)
