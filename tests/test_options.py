"""The option table (``harness.options``) feeds both ``python -m harness run`` and the pytest plugin: the same
names, defaults and help, and what the command line checked is what the plugin gets."""

from __future__ import annotations

import argparse
import dataclasses
from types import SimpleNamespace

import pytest
from _pytest.config.argparsing import Parser
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import cli
from harness.config import DEVICE_CHOICES, PROFILES, VARIANTS
from harness.errors import UsageError
from harness.options import OPTIONS, PYTEST_PREFIX, Options, add_pytest_options, from_pytest, from_run_args, pytest_args
from models import MODELS


def _run_parser() -> argparse.ArgumentParser:
    sub = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def test_every_row_is_an_option_of_both(pytestconfig):
    """Each row is a pytest option here (the plugin is loaded) and, where ``run`` is set, an option of `run` with the
    row's default and help; the parsed ``Options`` has one field per row."""
    assert [f.name for f in dataclasses.fields(Options)] == [o.attr for o in OPTIONS]
    run = {a.dest: a for a in _run_parser()._actions}
    for o in OPTIONS:
        pytestconfig.getoption(PYTEST_PREFIX + o.name)  # ValueError when the plugin lacks it
        if o.run:
            assert (run[o.attr].default, run[o.attr].help, run[o.attr].option_strings) == (o.default, o.help, [f"--{o.name}"])
        else:
            assert o.attr not in run
    assert {"suites", "pytest_args"} | {o.attr for o in OPTIONS if o.run} == set(run) - {"help"}


def _plugin_side(argv: list[str]) -> Options:
    """What the plugin parses from the forwarded ``--harness-*`` arguments: its own ``pytest_addoption`` rows on a
    pytest parser, read back through ``from_pytest`` as the plugin reads a config."""
    parser = Parser(_ispytest=True)
    add_pytest_options(parser)
    ns = parser.parse_known_args(argv)
    config = SimpleNamespace(getoption=lambda name: getattr(ns, name.removeprefix(PYTEST_PREFIX).replace("-", "_")))
    return from_pytest(config)


_FOLDER = st.none() | st.sampled_from(["o1", "a/o2", "runs dir"])  # folders need not exist: they are created


def _subset(valid: dict) -> st.SearchStrategy:
    return st.none() | st.lists(st.sampled_from(sorted(valid)), min_size=1, unique=True)


@settings(max_examples=60, deadline=None)
@given(profile=st.sampled_from(sorted(PROFILES)), models=_subset(MODELS), backends=_subset(VARIANTS),
       device=st.sampled_from(DEVICE_CHOICES), run_id=st.none() | st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,20}[a-z0-9]\Z"),
       resume=st.booleans(), spaces=st.booleans(), out=_FOLDER, cache_dir=_FOLDER, history=_FOLDER)
def test_what_run_checked_is_what_the_plugin_gets(profile, models, backends, device, run_id, resume, spaces, out,
                                                  cache_dir, history):
    sep = " , " if spaces else ","
    folders = [x for flag, v in (("--out", out), ("--cache-dir", cache_dir), ("--history", history)) if v for x in (flag, v)]
    args = _run_parser().parse_args(
        ["--profile", profile, "--device", device, *folders]
        + (["--models", sep.join(models)] if models else []) + (["--backends", sep.join(backends)] if backends else [])
        + (["--run-id", run_id] if run_id else []) + (["--resume"] if resume else []))
    if resume and run_id is None:
        with pytest.raises(UsageError, match="--resume"):
            from_run_args(args)
        return
    checked = from_run_args(args)
    assert checked.profile.name == profile and checked.models == (tuple(models) if models else None)
    assert _plugin_side(pytest_args(vars(args))) == checked


def test_a_bad_value_gets_the_same_message_on_both():
    """One parser per row: --profile weekly and --harness-profile weekly say the same thing."""
    args = _run_parser().parse_args(["--profile", "weekly"])
    with pytest.raises(UsageError) as on_run:
        from_run_args(args)
    with pytest.raises(UsageError) as on_plugin:
        _plugin_side(["--harness-profile=weekly"])
    assert str(on_run.value) == str(on_plugin.value) and "'weekly'" in str(on_run.value) and "Fix:" in str(on_run.value)
