"""Spreading cells over the GPUs of one host with pytest-xdist: one worker per GPU, builds kept together.

The controller lists the visible GPUs without initialising CUDA (``CUDA_VISIBLE_DEVICES`` or
``nvidia-smi``) and hands worker ``gwK`` the K-th of them (round robin); the worker sets
``CUDA_VISIBLE_DEVICES`` in ``pytest_configure``, before anything touches CUDA. Cells sharing a build
config carry one ``xdist_group`` so ``--dist loadgroup`` keeps them on one worker: nothing is built twice.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from harness.errors import UsageError

WORKER_ID = re.compile(r"^gw(\d+)$")


def parse_gpus(text: str) -> tuple[int, ...]:
    """``--harness-gpus``: a count ("2": GPUs 0 and 1) or a list of indices ("0,2")."""
    text = text.strip()
    try:
        gpus = tuple(int(t) for t in text.split(",") if t.strip()) if "," in text else tuple(range(int(text)))
    except ValueError:
        raise UsageError("--harness-gpus", text, "needs a GPU count (2) or a comma-separated list of indices (0,1)",
                         "pass e.g. --harness-gpus 2") from None
    if not gpus or any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
        raise UsageError("--harness-gpus", text, "needs at least one GPU and distinct non-negative indices",
                         "pass e.g. --harness-gpus 2 or --harness-gpus 0,1")
    return gpus


def visible_gpus() -> tuple[str, ...]:
    """Physical GPU ids this process may use, without initialising CUDA."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return tuple(t.strip() for t in env.split(",") if t.strip())
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.stdout.splitlines() if line.strip())


def assign(worker_id: str, gpus: tuple[str, ...]) -> str | None:
    m = WORKER_ID.match(worker_id)
    if not m or not gpus:
        return None
    return gpus[int(m.group(1)) % len(gpus)]


def check_gpus_exist(wanted: tuple[int, ...], visible: tuple[str, ...]) -> tuple[str, ...]:
    if not visible:
        raise UsageError("--harness-gpus", ",".join(map(str, wanted)), "this host shows no GPU (CUDA_VISIBLE_DEVICES / "
                         "nvidia-smi)", "drop --harness-gpus, or use -n N to spread CPU cells over N workers")
    missing = [g for g in wanted if g >= len(visible)]
    if missing:
        raise UsageError("--harness-gpus", ",".join(map(str, wanted)), f"this host has {len(visible)} GPU(s): "
                         f"indices {list(range(len(visible)))}", f"pass at most {len(visible)} GPUs")
    return tuple(visible[g] for g in wanted)


def group_of(params: dict[str, Any]) -> str | None:
    """The xdist group of a parametrized cell: its build config for Case cells, its model for traced cells."""
    case = params.get("case")
    if case is not None and hasattr(case, "variant"):
        return f"build-{case.model}-{case.shapes}-{case.variant}-" + "-".join(f"{k}={v}" for k, v in case.extra)
    spec = params.get("spec")
    if spec is not None and hasattr(spec, "model"):
        return f"trace-{spec.model}"  # one traced child per model and worker
    return None
