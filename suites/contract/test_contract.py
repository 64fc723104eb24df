"""Level L2: each cell executes one expectation of ``harness.expect.contract`` in the released 2.14 Python layer
on this machine and asserts the observation agrees with it. Substituted in the child, nothing else:
``torch.cuda.current_device()`` answers 0 and ``torch.cuda.get_device_capability()`` answers (12, 0)
(see ``harness/children/contract_child.py``). Each expectation's negative control judges the same observation
with a deliberately wrong expectation and must disagree."""

from __future__ import annotations

import json

import pytest

from harness.expect import contract
from suites.contract.conftest import CELLS

pytestmark = pytest.mark.contract


@pytest.mark.parametrize("case", CELLS, ids=[c.id for c in CELLS])
def test_contract(case, contract_observed, harness_session):
    exp = case.expectation
    observation = contract_observed.observation()
    try:
        value = contract.observed(exp, observation)
        disagreements = contract.judge(exp, observation)
    except contract.ContractChildError as err:
        pytest.fail(str(err), pytrace=False)
    harness_session.finding(case.id, f"{exp.level} {exp.id}: observed {json.dumps(value, sort_keys=True)[:1500]}; "
                            f"{contract.SUBSTITUTION_TEXT}", f"W14 {exp.citation}")
    assert not disagreements, f"{exp.id} ({exp.citation}): " + "; ".join(disagreements)


@pytest.mark.parametrize("control", CELLS, ids=[f"wrong-{c.id}" for c in CELLS])
def test_wrong_expectation_disagrees(control, contract_observed):
    """Negative control: the same observation judged with ``wrong`` (the old belief, where the harness had one).
    Recorded as a plain cell (no level): it proves the check can fail, not the library's behaviour."""
    exp = control.expectation
    observation = contract_observed.observation()
    try:
        disagreements = contract.judge(exp, observation, exp.wrong)
    except contract.ContractChildError as err:
        pytest.fail(str(err), pytrace=False)
    assert disagreements, f"{exp.id}: the wrong expectation {exp.wrong!r} agreed with the observation"
