"""A throwaway project for tests that run pytest with the harness plugin in a separate process: a conftest that
loads the plugin and a ``suites/`` folder (the plugin writes a cell for each test under it)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_project(root: Path, suites: dict[str, str]) -> Path:
    """``root`` with the plugin's conftest and ``suites/NAME`` holding each source of ``suites``."""
    (root / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    (root / "suites").mkdir(exist_ok=True)
    for name, source in suites.items():
        (root / "suites" / name).write_text(source)
    return root


def harness_env(**extra: str) -> dict[str, str]:
    """This environment with this checkout importable first."""
    path = [str(ROOT), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), **extra}
