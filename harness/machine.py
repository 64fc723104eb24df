"""Which harness runs share this machine: a registry of runs, each holding an ``flock`` on its own entry.

Timings of two runs on one machine contaminate each other (one run's kernels and threads slow the other's).
Each run's main process registers in a machine-wide folder (``$TRTRTX_HARNESS_RUNS_DIR``, default
``<tmp>/trtrtx-harness-runs``): one JSON file per run, locked with ``flock`` while the run lives and stamped with
its end time when it finishes. A run lists the others that overlapped it: entries still locked (running now)
and entries that ended after it started. The run records them; the report shows them in its first lines.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_DIR = "TRTRTX_HARNESS_RUNS_DIR"
STALE_S = 86400.0  # unlocked entries older than a day are removed


def registry_dir() -> Path:
    return Path(os.environ.get(ENV_DIR) or Path(tempfile.gettempdir()) / "trtrtx-harness-runs")


@dataclass
class MachineRun:
    """This process's entry in the registry; ``close`` stamps the end time and releases the lock."""

    path: Path
    fd: int
    info: dict[str, Any]

    def others(self) -> list[dict[str, Any]]:
        """Runs other than this one that ran at some time since this one started."""
        return [o for o in _entries(self.path.parent) if o["file"] != self.path.name and
                (o["live"] or float(o.get("ended") or 0) >= self.info["started"])]

    def close(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            _write(self.fd, {**self.info, "ended": time.time()})
        os.close(self.fd)  # releases the flock
        self.fd = -1


def _write(fd: int, info: dict[str, Any]) -> None:
    data = json.dumps(info).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def register(run_id: str, out_dir: Path) -> MachineRun | None:
    """Enter this run in the registry (None when the folder cannot be written: the check is then skipped)."""
    folder = registry_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            folder.chmod(0o1777)  # every user's runs share it, like /tmp
        started = time.time()
        path = folder / f"{os.uname().nodename}-{os.getpid()}-{time.time_ns()}.json"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        return None
    info = {"pid": os.getpid(), "run_id": run_id, "out": str(out_dir), "started": started, "ended": None}
    _write(fd, info)
    _prune(folder)
    return MachineRun(path, fd, info)


def _entries(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                live = False
            except OSError:
                live = True
            try:
                info = json.loads(os.read(fd, 1 << 16) or b"{}")
            except ValueError:
                info = {}
            if not live and not info.get("ended"):  # killed: it ran at most until its file last changed
                info["ended"] = path.stat().st_mtime
        finally:
            os.close(fd)
        out.append({**info, "file": path.name, "live": live})
    return out


def _prune(folder: Path) -> None:
    now = time.time()
    for entry in _entries(folder):
        if not entry["live"] and now - float(entry.get("ended") or now) > STALE_S:
            with contextlib.suppress(OSError):
                (folder / entry["file"]).unlink()


def describe(others: list[dict[str, Any]]) -> str:
    """One sentence naming the other runs, for the results file and the report."""
    names = ", ".join(f"{o.get('run_id', '?')} (pid {o.get('pid', '?')}{', running' if o['live'] else ''})" for o in others)
    return (f"{len(others)} other harness run(s) ran on this machine at the same time as this one: {names}; "
            "latencies measured while they ran may be contaminated. Fix: re-run the timing cells alone")
