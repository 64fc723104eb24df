"""The run options, declared once: each row feeds the pytest plugin (``--harness-NAME``) and, where ``run`` is set,
``python -m harness run`` (``--NAME``), with the same default, help text and parser on both.

A parser turns the option's text into its value or raises ``UsageError`` naming the value, the rule and the fix.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import (
    DEVICE_CHOICES,
    PROFILES,
    VARIANTS,
    Profile,
    check_out_dir,
    check_run_id,
    parse_device,
    parse_list,
    parse_profile,
)
from harness.distributed import parse_gpus
from harness.errors import UsageError
from models import MODELS

if TYPE_CHECKING:
    import pytest

PYTEST_PREFIX = "--harness-"


def parse_order_from(text: str) -> str:
    """``auto``, ``none``, or an earlier run's results file / folder that exists."""
    if text in ("auto", "none"):
        return text
    p = Path(text)
    if p.is_file() or (p / "results.jsonl").is_file():
        return text
    raise UsageError("--harness-order-from", text, "needs auto, none, or an earlier run's results.jsonl or run folder",
                     "pass e.g. --harness-order-from reports/out/latest, or auto")
RUN_PREFIX = "--"


@dataclass(frozen=True)
class Option:
    """One option. ``parse`` None: a flag (present or not); ``run``: also an option of ``python -m harness run``."""

    name: str
    default: str | bool | None
    help: str
    parse: Callable[[str], Any] | None = None
    run: bool = True

    @property
    def attr(self) -> str:
        return self.name.replace("-", "_")

    def value(self, text: str | bool | None) -> Any:
        if self.parse is None:
            return bool(text)
        return None if text is None else self.parse(str(text))

    def add_to(self, add: Callable[..., Any], prefix: str) -> None:
        kwargs: dict[str, Any] = {"default": self.default, "help": self.help, "dest": self.attr}
        if self.parse is None:
            kwargs["action"] = "store_true"
        add(prefix + self.name, **kwargs)


OPTIONS: tuple[Option, ...] = (
    Option("profile", "default", f"run profile, one of {sorted(PROFILES)}. Default: %(default)r", parse_profile),
    Option("models", None, f"comma-separated models from {sorted(MODELS)}. Default: the profile's",
           lambda t: parse_list("model", t, MODELS)),
    Option("backends", None, f"comma-separated backend variants from {sorted(VARIANTS)}. Default: the profile's for "
           "the device", lambda t: parse_list("backend variant", t, VARIANTS)),
    Option("device", "auto", f"one of {list(DEVICE_CHOICES)}; auto = cuda when the probe finds a GPU; cuda on a host "
           "without a GPU is an error. Default: %(default)r", parse_device),
    Option("out", "reports/out", "root of run folders; each run writes <root>/<run id>/. Default: %(default)r",
           check_out_dir),
    Option("run-id", None, "name of this run's folder: a plain file name, not 'latest', never used before. "
           "Default: UTC time and pid", check_run_id),
    Option("resume", False, "append to the existing run the run id names, as a new section. Default: %(default)r"),
    Option("latest", False, "point <root>/latest at this run once it completes (`python -m harness run` always does). "
           "Default: %(default)r", run=False),
    Option("cache-dir", ".harness-cache", "engine / ONNX / inductor / runtime caches, keyed by model hash and options; "
           "traced and fresh-process cells use it too. Default: %(default)r", check_out_dir),
    Option("history", None, "history folder: the run's latency summary is added to it at the end. Default: none",
           check_out_dir),
    Option("gpus", None, "spread cells over these GPUs with pytest-xdist, one worker per GPU, --dist loadgroup: a count "
           "(2) or indices (0,1). Default: with -n N, each worker takes the visible GPU fewest workers hold",
           parse_gpus, run=False),
    Option("no-report", False, "write results but render no report at the end. Default: %(default)r", run=False),
    Option("order-from", "auto", "with --dist loadgroup (--harness-gpus): hand out the work units whose cells took "
           "longest in this earlier run first (a results.jsonl or run folder); auto: <out>/latest where it exists; none: "
           "pytest-xdist's order. Default: %(default)r", parse_order_from, run=False),
)


@dataclass(frozen=True)
class Options:
    """Every option's parsed value (one field per row of ``OPTIONS``)."""

    profile: Profile
    models: tuple[str, ...] | None
    backends: tuple[str, ...] | None
    device: str
    out: Path
    run_id: str | None
    resume: bool
    latest: bool
    cache_dir: Path
    history: Path | None
    gpus: tuple[int, ...] | None
    no_report: bool
    order_from: str


def parse_options(text_of: Callable[[Option], str | bool | None], prefix: str) -> Options:
    """Parse every option's text (``text_of``: what the user gave, or the default); raises ``UsageError``."""
    values = {o.attr: o.value(text_of(o)) for o in OPTIONS}
    if values["resume"] and values["run_id"] is None:
        raise UsageError(f"{prefix}resume", True, "needs the id of the run to resume", f"pass {prefix}run-id ID with it")
    return Options(**values)


def add_pytest_options(parser: pytest.Parser) -> None:
    g = parser.getgroup("harness", "Torch-TensorRT-RTX conformance and benchmark harness")
    for o in OPTIONS:
        o.add_to(g.addoption, PYTEST_PREFIX)


def from_pytest(config: pytest.Config) -> Options:
    return parse_options(lambda o: config.getoption(PYTEST_PREFIX + o.name), PYTEST_PREFIX)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    for o in OPTIONS:
        if o.run:
            o.add_to(parser.add_argument, RUN_PREFIX)


def from_run_args(args: argparse.Namespace) -> Options:
    """The options of ``python -m harness run``; those it does not take keep their defaults."""
    return parse_options(lambda o: getattr(args, o.attr) if o.run else o.default, RUN_PREFIX)


def pytest_args(given: Mapping[str, Any]) -> list[str]:
    """``--harness-NAME=TEXT`` for every option of ``python -m harness run`` given a value (``given``: by attribute
    name, as ``vars(args)``; parse them first, with ``from_run_args``)."""
    out = []
    for o in OPTIONS:
        text = given.get(o.attr) if o.run else None
        if o.parse is None and text:
            out.append(PYTEST_PREFIX + o.name)
        elif o.parse is not None and text is not None:
            out.append(f"{PYTEST_PREFIX}{o.name}={text}")
    return out

