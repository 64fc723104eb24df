"""Runs in rounds: a profile with ``rounds > 1`` (``nightly``) runs pytest once in full, then again per extra
round in a fresh process, latency cells only (``-m perf`` unless the caller chose a marker expression), into
``RUN/rounds/<run id>-r<k>/``. The run's summary takes one p50 per round from these files, which gives the
gate the run-level spread it decides on. The history entry is written once, after the last round."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.config import new_run_id
from harness.history import ROUNDS_DIR


def _code(rc: int) -> int:
    return 0 if rc == 5 else rc  # 5: nothing collected for this selection


def run_rounds(argv: list[str], rounds: int, out_root: Path, history: Path | None, pytest_args: list[str],
               cwd: Path, run_id: str | None = None) -> int:
    """``argv``: the pytest command line without run id, history or extra arguments. Returns the worst exit code.
    Only the first round may move ``latest`` (``--harness-latest``); later rounds write under ``RUN/rounds/``."""
    run_id = run_id or new_run_id()
    run_dir = out_root / run_id
    first = [*argv, f"--harness-run-id={run_id}", *pytest_args]
    print(f"+ round 1/{rounds}: " + " ".join(first), flush=True)
    codes = [_code(subprocess.call(first, cwd=cwd))]
    marker = [] if any(a == "-m" or a.startswith("-m") for a in pytest_args) else ["-m", "perf"]
    for k in range(2, rounds + 1):
        again = [a for a in argv if not a.startswith(("--harness-out=", "--harness-latest", "--harness-resume"))]
        again += [f"--harness-out={run_dir / ROUNDS_DIR}", f"--harness-run-id={run_id}-r{k}", "--harness-no-report",
                  *marker, *pytest_args]
        print(f"+ round {k}/{rounds}: " + " ".join(again), flush=True)
        codes.append(_code(subprocess.call(again, cwd=cwd)))
    results = run_dir / "results.jsonl"
    if history is not None and results.exists():
        from harness.errors import UsageError
        from harness.history import add_to_history

        try:
            print(f"history: {add_to_history(results, history)}", flush=True)
        except UsageError as exc:
            print(f"history not updated: {exc}", flush=True)
    print(f"run {run_id}: {rounds} rounds, exit codes {codes}", flush=True)
    return max(codes, key=lambda c: (c != 0, c))
