"""Keys of the harness's state in ``config.stash``: the plugin writes them, fixtures and suite conftests read them.

A module of its own so that readers import the keys without importing the plugin (no import loop), and so that
no state lives in a module global: two pytest sessions in one process (``pytester``) each keep their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.session import HarnessSession

RUN_CONFIG: pytest.StashKey[RunConfig] = pytest.StashKey()
SESSION: pytest.StashKey[HarnessSession] = pytest.StashKey()
