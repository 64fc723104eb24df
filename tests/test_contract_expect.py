"""The contract expectations and their judge, without the child: citations hold in the unpacked 2.14.0 wheel, the
judge accepts what each expectation states and rejects a changed observation, the child's observation file is read
strictly, and a child that breaks fails its cells with the child's own text."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.children import contract_child
from harness.expect import contract
from harness.expect.contract import AnyOf, AtLeast, Contains, ContractChildError, Exactly, First, judge
from harness.expect.contract_run import COMPLETE, SCHEMA, missing_reason, read_observation, run_child, torch_reason

IDS = [e.id for e in contract.EXPECTATIONS]
ROOT = Path(__file__).resolve().parents[1]


def _wheel_root() -> Path | None:
    for cand in (ROOT / ".harness-cache" / "contract-env", ROOT / ".harness-cache" / "wheels" / "torch_tensorrt_rtx-2.14.0"):
        if (cand / "torch_tensorrt" / "__init__.py").is_file():
            return cand
    return None


def _materialize(want: Any) -> Any:
    """An observed value that satisfies ``want``."""
    if isinstance(want, dict):
        return {k: _materialize(v) for k, v in want.items()}
    if isinstance(want, Contains):
        return f"prefix {want.text} suffix"
    if isinstance(want, First):
        return [_materialize(want.want), "later"]
    if isinstance(want, AnyOf):
        return _materialize(want.options[-1])
    if isinstance(want, AtLeast):
        return int(want.least) + 1
    if isinstance(want, Exactly):
        return want.value
    return want


def _leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    return [path]


def _observation(exp: contract.Expectation, value: Any) -> dict[str, Any]:
    for key in reversed(exp.path):
        value = {key: value}
    return {"schema": SCHEMA, "completed": True, "checks": {exp.check: {"value": value}}}


def test_every_expectation_is_complete():
    assert len(IDS) == len(set(IDS)) >= 25
    for e in contract.EXPECTATIONS:
        assert e.level == "L2" and e.statement.strip() and e.anchor.strip(), e.id
        assert re.fullmatch(r"torch_tensorrt/[\w/]+\.py:\d+-\d+", e.citation), e.citation
        assert e.check in contract_child.CHECK_NAMES, e.id
        assert e.expected and e.wrong and e.wrong != e.expected, e.id


@pytest.mark.parametrize("exp", contract.EXPECTATIONS, ids=IDS)
def test_citation_holds_in_the_wheel(exp):
    root = _wheel_root()
    if root is None:
        pytest.skip("neither .harness-cache/contract-env nor the unpacked 2.14.0 wheel is here: .ci/bootstrap installs them")
    assert exp.anchor in contract.cited_lines(exp, str(root)), f"{exp.citation} does not contain {exp.anchor!r}"
    moved = contract.Expectation(**{**exp.__dict__, "citation": _shift(exp.citation, 60)})
    assert exp.anchor not in contract.cited_lines(moved, str(root)), f"anchor {exp.anchor!r} is not specific to its lines"


def _shift(citation: str, by: int) -> str:
    rel, _, span = citation.rpartition(":")
    first, _, last = span.partition("-")
    return f"{rel}:{int(first) + by}-{int(last) + by}"


@pytest.mark.parametrize("exp", contract.EXPECTATIONS, ids=IDS)
def test_judge_accepts_the_stated_observation_and_rejects_each_changed_leaf(exp):
    good = _materialize(dict(exp.expected))
    assert judge(exp, _observation(exp, good)) == []
    assert judge(exp, _observation(exp, good), exp.wrong), "the wrong expectation agreed with the stated observation"
    for leaf in _leaves(good):
        bad = json.loads(json.dumps(good))
        node = bad
        for key in leaf[:-1]:
            node = node[key]
        node[leaf[-1]] = ["changed", node[leaf[-1]]]  # a value of another type and content
        assert judge(exp, _observation(exp, bad)), f"{exp.id}: changing {'.'.join(leaf)} went unnoticed"


def test_a_check_that_raised_in_the_child_fails_with_its_text():
    exp = contract.BY_ID["cudagraphs.enable_returns_context_manager"]
    obs = {"schema": SCHEMA, "completed": True, "checks": {"cudagraphs": {"error": "Traceback ...\nKeyError: 'boom-17'"}}}
    with pytest.raises(ContractChildError, match="boom-17"):
        judge(exp, obs)
    with pytest.raises(ContractChildError, match="no check 'cudagraphs'"):
        judge(exp, {"checks": {}})


def test_read_observation_accepts_a_completed_observation():
    data = {"schema": SCHEMA, "completed": True, "checks": {"x": {"value": 1}}}
    assert read_observation(json.dumps(data)) == data


@pytest.mark.parametrize("text, words", [
    ("", "not JSON"), ("[1]", "a list"), ('{"schema": 99, "completed": true, "checks": {}}', "schema 99"),
    ('{"schema": 1, "completed": false, "checks": {}}', "did not complete"), ('{"schema": 1, "completed": true}', "no 'checks'"),
], ids=["empty", "list", "schema", "incomplete", "no-checks"])
def test_read_observation_names_what_is_wrong(text, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        read_observation(text)


@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_read_observation_raises_only_value_error(text):
    with contextlib.suppress(ValueError):
        read_observation(text)


def test_missing_reason_names_the_folder_and_the_fix(tmp_path):
    env = tmp_path / "contract-env"
    assert str(env) in missing_reason(env) and "bash .ci/bootstrap" in missing_reason(env)
    env.mkdir()
    assert "incomplete" in missing_reason(env)
    (env / COMPLETE).write_text("x")
    assert "torch_tensorrt/__init__.py" in missing_reason(env)
    for part in ("torch_tensorrt", "tensorrt_rtx"):
        (env / part).mkdir()
        (env / part / "__init__.py").write_text("")
    assert missing_reason(env) == torch_reason()


@pytest.mark.parametrize("found, ok", [("2.14.1", True), ("2.14.0+cu130", True), ("2.11.0", False), ("2.15.0.dev1", False)],
                         ids=["2.14.1", "2.14.0+cu130", "2.11", "2.15-dev"])
def test_torch_reason_follows_the_wheels_pin(found, ok):
    reason = torch_reason(found)
    assert (reason == "") is ok
    if not ok:
        assert found in reason and "torch>=2.14,<2.15" in reason


def test_a_child_that_breaks_fails_the_cell_with_its_own_text(tmp_path):
    """A real child process over an environment whose torch_tensorrt raises on import."""
    from suites.contract.conftest import Observed

    (tmp_path / "torch_tensorrt").mkdir()
    (tmp_path / "torch_tensorrt" / "__init__.py").write_text("raise RuntimeError('broken package 4711')\n")
    run = run_child(tmp_path, timeout_s=120)
    assert run.observation is None and run.returncode != 0
    assert "without writing its observation" in run.problem and "broken package 4711" in run.output
    with pytest.raises(pytest.fail.Exception, match="broken package 4711"):
        Observed("", run).observation()
    with pytest.raises(pytest.skip.Exception, match="contract environment"):
        Observed("contract environment /x is absent", None).observation()
