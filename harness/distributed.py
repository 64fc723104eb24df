"""Spreading cells over the GPUs of one host with pytest-xdist: one worker per GPU, builds kept together.

The controller lists the visible GPUs without initialising CUDA (``CUDA_VISIBLE_DEVICES`` or
``nvidia-smi``) and hands each new worker the GPU fewest live workers hold; the worker sets
``CUDA_VISIBLE_DEVICES`` in ``pytest_configure``, before anything touches CUDA. Cells sharing a build
config carry one ``xdist_group`` so ``--dist loadgroup`` keeps them on one worker: nothing is built twice.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from typing import Any

from harness.errors import UsageError
from harness.results import cell_seconds

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


def assign(worker_id: str, gpus: tuple[str, ...], live: dict[str, str] | None = None) -> str | None:
    """The GPU for a new worker: the one fewest live workers hold (``live``: worker id -> GPU), ties to the
    earliest in ``gpus``. So ``gw0``, ``gw1`` get GPUs 0, 1, and the replacement of a crashed worker gets the
    GPU the crashed one held, whatever id pytest-xdist gives it."""
    if not WORKER_ID.match(worker_id) or not gpus:
        return None
    held = list((live or {}).values())
    return min(gpus, key=lambda g: (held.count(g), gpus.index(g)))


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


def tag_group(item: Any, group: str) -> None:
    """Suffix a collected item's node id with ``@group``, the form pytest-xdist's ``loadgroup`` scheduler reads.

    pytest-xdist 3.8 does this itself by assigning ``item._nodeid``, which pytest 9.2 no longer reads (node ids
    became ``NodeId`` objects in ``item._id``): there ``loadgroup`` silently schedules every test on its own.
    Tagging here works under both; an id pytest-xdist already tagged is left alone.
    """
    nodeid = item.nodeid
    if nodeid.rfind("@") > nodeid.rfind("]"):
        return
    tagged = f"{nodeid}@{group}"
    if hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(tagged)
    else:
        item._nodeid = tagged


def untagged(nodeid: str) -> str:
    """The node id without its ``@group`` suffix."""
    return nodeid[: nodeid.rfind("@")] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid



def gpu_uuids() -> dict[str, str]:
    """Physical GPU index -> UUID from nvidia-smi (which ignores CUDA_VISIBLE_DEVICES); empty without nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return {}
    rows = (line.split(",") for line in out.stdout.splitlines() if "," in line)
    return {i.strip(): u.strip().removeprefix("GPU-") for i, u in rows}


def affinity_problems(assigned: str, seen_uuid: str, uuids: dict[str, str]) -> list[str]:
    """Empty when the device this process computes on (``seen_uuid``, CUDA's device 0) is the GPU it was assigned."""
    want = uuids.get(assigned)
    if want is None:
        return [f"GPU {assigned!r} is not on this host (nvidia-smi lists {sorted(uuids)})"]
    seen = seen_uuid.removeprefix("GPU-")
    if seen != want:
        where = next((i for i, u in uuids.items() if u == seen), "?")
        return [f"assigned GPU {assigned} ({want}) but CUDA device 0 is GPU {where} ({seen})"]
    return []


def previous_seconds(cells: list[dict[str, Any]]) -> dict[str, float]:
    """Node id (untagged) -> seconds a previous run spent on the cell: its call plus the setup it paid for (a shared
    build, a traced child), from the run's cell lines (``harness.results.cell_seconds``); a cell seen twice keeps its
    longest time."""
    out: dict[str, float] = {}
    for c in cells:
        nodeid = untagged(str(c.get("nodeid", "")))
        if nodeid:
            out[nodeid] = max(out.get(nodeid, 0.0), sum(cell_seconds(c)))
    return out


def order_longest_first(workqueue: dict[str, dict[str, bool]], seconds: dict[str, float]) -> list[tuple[str, float]]:
    """Reorder pytest-xdist's work units (scope -> {node id: done}) so the longest expected unit is handed out first
    (longest-processing-time-first: the run ends with short units that fill the workers' gaps). A unit's expected
    time is the sum over its cells of the previous run's seconds; a cell the previous run lacks counts as the median
    known cell. Ties keep the queue's order. Returns (scope, expected seconds) in the new order."""
    if not seconds:
        return [(scope, math.nan) for scope in workqueue]
    known = sorted(seconds.values())
    typical = known[len(known) // 2]
    expected = {scope: sum(seconds.get(untagged(n), typical) for n in unit) for scope, unit in workqueue.items()}
    order = sorted(workqueue, key=lambda s: -expected[s])  # sorted is stable: ties stay in queue order
    units = {scope: workqueue[scope] for scope in order}
    workqueue.clear()
    workqueue.update(units)
    return [(scope, expected[scope]) for scope in order]
