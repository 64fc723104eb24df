"""Suites-wide fixtures: parametrization comes from the run's frozen config (profile, models, variants)."""

from __future__ import annotations

import pytest

from harness.plugin import RUN_CONFIG


@pytest.fixture(scope="session")
def run_config(pytestconfig: pytest.Config):
    return pytestconfig.stash[RUN_CONFIG]
