"""One contract child per session: it imports the released Torch-TensorRT-RTX 2.14 Python layer in the contract
environment (only the device queries substituted) and executes every check; the cells judge its observation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from harness.expect import contract
from harness.expect.contract_run import ChildRun, env_path, missing_reason, run_child


@dataclass(frozen=True)
class ContractCell:
    """A contract cell: one expectation, proven at its level when the cell passes."""

    expectation: contract.Expectation

    @property
    def id(self) -> str:
        return self.expectation.id

    def dims(self) -> dict[str, Any]:
        e = self.expectation
        return {"test": "contract", "level": e.level, "expectation": e.id, "citation": e.citation,
                "settles": e.settles, "substituted": contract.SUBSTITUTION_TEXT}


CELLS = [ContractCell(e) for e in contract.EXPECTATIONS]


@dataclass(frozen=True)
class Observed:
    skip: str  # why the cells skip (the contract environment is absent); empty when the child ran
    run: ChildRun | None

    def observation(self) -> dict[str, Any]:
        """The child's observation; skips with the precise reason, or fails with the child's own text."""
        if self.skip:
            pytest.skip(self.skip)
        assert self.run is not None
        if self.run.observation is None:
            pytest.fail(f"{self.run.problem}\n--- contract child output ---\n{self.run.output}", pytrace=False)
        return self.run.observation


@pytest.fixture(scope="session")
def contract_observed(run_config) -> Observed:
    env = env_path(run_config.cache_dir)
    reason = missing_reason(env)
    return Observed(reason, None) if reason else Observed("", run_child(env))
