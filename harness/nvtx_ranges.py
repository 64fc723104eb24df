"""NVTX ranges of the ``harness`` domain around every phase of a cell.

Range text reads ``<phase> <case id>`` in an nsys timeline (e.g. ``replay resnet18-sta-eager-stream=green32``)
and, for ranges whose confinement is checked, ends with ``[expect <mode> sms=<granted>]``. Ranges wrap
whole phases (the timed loop as one range), never single iterations. Disabled (``HARNESS_NVTX=0``, or
the nvtx package missing), ``phase`` returns a shared no-op context: no cost.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

DOMAIN = "harness"
PHASES = ("build", "load", "warmup", "timed", "capture", "replay", "cache_load", "cache_save", "probe", "run")
_NULL = contextlib.nullcontext()
EXPECT = re.compile(r"\[expect (?P<mode>\S+)(?: sms=(?P<sms>\d+))?\]$")


@cache
def _nvtx() -> Any:
    if os.environ.get("HARNESS_NVTX", "1") == "0":
        return None
    try:
        import nvtx
    except ImportError:
        return None
    return nvtx


def range_text(phase: str, case_id: str, expect_mode: str | None = None, expect_sms: int | None = None) -> str:
    if phase not in PHASES:
        raise ValueError(f"NVTX phase {phase!r} is not one of {PHASES}")
    text = f"{phase} {case_id}"
    if expect_mode:
        text += f" [expect {expect_mode}" + (f" sms={expect_sms}" if expect_sms else "") + "]"
    return text


def phase(phase: str, case_id: str, expect_mode: str | None = None, expect_sms: int | None = None) -> Any:
    nvtx = _nvtx()
    if nvtx is None:
        return _NULL
    return nvtx.annotate(range_text(phase, case_id, expect_mode, expect_sms), domain=DOMAIN)


@contextlib.contextmanager
def always(phase_name: str, case_id: str, expect_mode: str | None = None, expect_sms: int | None = None) -> Iterator[None]:
    """Like ``phase`` but raises when NVTX is unavailable: for ranges a confinement check depends on."""
    nvtx = _nvtx()
    if nvtx is None:
        raise RuntimeError("NVTX ranges are disabled (HARNESS_NVTX=0) or the nvtx package is missing: pip install nvtx")
    with nvtx.annotate(range_text(phase_name, case_id, expect_mode, expect_sms), domain=DOMAIN):
        yield
