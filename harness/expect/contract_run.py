"""The contract environment and its child process.

The environment is a folder installed by ``.ci/bootstrap`` with ``pip install --no-deps --target``: the released
torch-tensorrt-rtx 2.14.0 wheel, the tensorrt_rtx 1.6.1.120 it pins (``tensorrt_rtx<1.7``; the shared environment
carries a newer one) and the wheel's two small dependencies the shared environment lacks (dllist, psutil). It is
used by prepending it to ``PYTHONPATH`` of a child that runs this interpreter (torch comes from the interpreter's
own environment). A ``COMPLETE`` file written last marks a finished install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_DIR = "contract-env"
COMPLETE = "COMPLETE"
CHILD = Path(__file__).resolve().parents[1] / "children" / "contract_child.py"
DECOY_USER = "contract-decoy-user"  # LOGNAME/USER in the child: getpass.getuser() reads it, pwd does not
TIMEOUT_S = 300
SCHEMA = 1


@dataclass(frozen=True)
class ChildRun:
    """What one child run gave: its observation (None when it produced none) and its own output."""

    observation: dict[str, Any] | None
    returncode: int
    output: str  # the tail of the child's stdout and stderr together
    problem: str  # why there is no usable observation; empty when there is one


def env_path(cache_dir: Path) -> Path:
    return cache_dir / ENV_DIR


def missing_reason(env: Path) -> str:
    """Why the contract environment at ``env`` cannot be used, naming what is missing; empty when it can."""
    if not env.is_dir():
        return (f"contract environment {env} is absent: .ci/bootstrap installs it (pip install --no-deps --target) "
                f"and could not here; run `bash .ci/bootstrap` with access to the package index")
    if not (env / COMPLETE).is_file():
        return f"contract environment {env} is incomplete (no {COMPLETE} marker): remove it and run `bash .ci/bootstrap`"
    for part in ("torch_tensorrt/__init__.py", "tensorrt_rtx/__init__.py"):
        if not (env / part).is_file():
            return f"contract environment {env} lacks {part}: remove it and run `bash .ci/bootstrap`"
    return torch_reason()


def torch_reason(found: str | None = None) -> str:
    """Why this interpreter's torch cannot run the 2.14.0 wheel (its METADATA pins torch>=2.14,<2.15); empty when
    it can. Read from the package metadata, without importing torch."""
    if found is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("torch")
        except PackageNotFoundError:
            return "torch is not installed in this interpreter: the contract child runs the 2.14.0 wheel on it"
    major_minor = tuple(int(p) for p in found.split("+")[0].split(".")[:2] if p.isdigit())
    if major_minor != (2, 14):
        return (f"this interpreter has torch {found}; the torch-tensorrt-rtx 2.14.0 wheel pins torch>=2.14,<2.15, so "
                f"the contract child cannot import it here (the CPU CI venv has torch 2.14.1)")
    return ""


def run_child(env: Path, timeout_s: float = TIMEOUT_S) -> ChildRun:
    """Runs ``contract_child`` with ``env`` first on PYTHONPATH, a private TMPDIR (the library's default cache path
    lies under it), a decoy LOGNAME/USER and no visible GPU (CUDA_VISIBLE_DEVICES empty: level L2 is a CPU-only
    execution on every machine); returns its observation or the reason there is none."""
    with tempfile.TemporaryDirectory(prefix="contract-") as tmp:
        out = Path(tmp) / "observation.json"
        child_env = {**os.environ, "PYTHONPATH": str(env), "TMPDIR": tmp, "LOGNAME": DECOY_USER, "USER": DECOY_USER,
                     "CUDA_VISIBLE_DEVICES": ""}
        try:
            proc = subprocess.run([sys.executable, str(CHILD), str(out)], env=child_env, capture_output=True, text=True,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            text = _tail((exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or "")
            return ChildRun(None, -1, text, f"the contract child ran past {timeout_s:.0f} s and was stopped")
        output = _tail(proc.stdout + proc.stderr)
        if not out.is_file():
            return ChildRun(None, proc.returncode, output,
                            f"the contract child exited with status {proc.returncode} without writing its observation")
        try:
            observation = read_observation(out.read_text())
        except ValueError as exc:
            return ChildRun(None, proc.returncode, output, str(exc))
        return ChildRun(observation, proc.returncode, output, "")


def read_observation(text: str) -> dict[str, Any]:
    """Parses the child's JSON; ``ValueError`` naming what is wrong for anything that is not a completed
    observation of this schema."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the contract child's observation is not JSON ({exc}); its first bytes: {text[:80]!r}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the contract child's observation is a {type(data).__name__}, expected a JSON object")
    if data.get("schema") != SCHEMA:
        raise ValueError(f"the contract child's observation has schema {data.get('schema')!r}, this harness reads {SCHEMA}")
    if data.get("completed") is not True:
        raise ValueError("the contract child's observation says it did not complete")
    if not isinstance(data.get("checks"), dict):
        raise ValueError("the contract child's observation has no 'checks' object")
    return data


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]
