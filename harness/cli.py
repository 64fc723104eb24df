"""Command line of the harness: ``python -m harness COMMAND`` (also the ``trtrtx-harness`` script); ``--help`` lists
every command with what it does, ``COMMAND --help`` its options."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config import check_device_available, check_out_dir, new_run_id
from harness.errors import HarnessError, ResultsError, UnknownChoiceError, UsageError
from harness.options import Options, add_run_arguments, from_run_args, pytest_args

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    env = sub.add_parser("env", help="capability probe: what this machine can run, and why not")
    env.add_argument("--json", action="store_true", help="machine-readable output. Default: %(default)r")

    run = sub.add_parser("run", help="the main job: default conformance + benchmark run with a report")
    add_run_arguments(run)
    run.add_argument("--suites", default=str(ROOT / "suites"), help="the suites folder to run. Default: the harness's")
    run.add_argument("pytest_args", nargs="*", help="extra arguments passed to pytest after --")

    rep = sub.add_parser("report", help="render report.md / report.html from a saved results file")
    rep.add_argument("results", help="a results.jsonl, or a run folder holding one")
    rep.add_argument("--out", default=None, help="output folder. Default: the results file's folder")
    rep.add_argument("--salvage", action="store_true", help="render what is readable from a damaged results file")

    exp = sub.add_parser("export", help="export records to CSV or Parquet")
    exp.add_argument("results")
    exp.add_argument("--format", default="csv", help="csv or parquet. Default: %(default)r")
    exp.add_argument("--out", default=None, help="output file. Default: next to the results file")
    exp.add_argument("--salvage", action="store_true", help="export what is readable from a damaged results file")

    tr = sub.add_parser("trace", help="confinement verdicts of a saved CUPTI trace (*.trace.json) or an nsys SQLite export")
    tr.add_argument("trace", help="a *.trace.json written by the harness, or an nsys export (*.sqlite)")
    tr.add_argument("--expect", action="append", metavar="GLOB=RULE[,RULE]",
                    help="every kernel launched inside the NVTX ranges matching GLOB obeys RULE (green, primary, one-stream)")
    tr.add_argument("--control", action="append", metavar="GLOB=RULE[,RULE]",
                    help="a deliberately wrong expectation that must be flagged (a negative control)")

    cmp_ = sub.add_parser("compare", help="classify every case of HEAD against BASE; exit 1 on a regression")
    cmp_.add_argument("base", help="a results.jsonl, run folder or history file")
    cmp_.add_argument("head", help="a results.jsonl, run folder or history file")
    cmp_.add_argument("--history", default=None, help="history folder: run-to-run spread per case. Default: none")
    cmp_.add_argument("--allow-missing", action="store_true", help="pass the gate when HEAD lacks cases or is empty")
    cmp_.add_argument("--allow-incomplete", action="store_true", help="compare runs that did not complete")
    _threshold_args(cmp_)

    his = sub.add_parser("history", help="add a run to a history folder, or merge runners' history folders")
    his.add_argument("action", choices=["add", "merge"], help="add: store RESULTS' summary in DIR; merge: copy every "
                     "run of the folders into DIR once")
    his.add_argument("paths", nargs="+", metavar="RESULTS|FOLDER")
    his.add_argument("--dir", required=True, help="the history folder")
    his.add_argument("--allow-incomplete", action="store_true", help="add a run that did not complete")

    cal = sub.add_parser("calibrate", help="false-alarm rate and detectable slowdown of the gate on this machine")
    from harness.calibrate import add_arguments as _calibrate_args

    _calibrate_args(cal)
    _threshold_args(cal)

    dash = sub.add_parser("dashboard", help="render the static dashboard of a history folder")
    dash.add_argument("history", help="the history folder")
    dash.add_argument("--out", default=None, help="output folder. Default: HISTORY/site")
    dash.add_argument("--baseline", default=None, help="run id to compare the latest with. Default: the previous run")
    _threshold_args(dash)

    sub.add_parser("bench", help="benchmarks of the timing engine on a GPU (fidelity, overhead, noise); prints a table")
    sub.add_parser("test", help="the project's own checks: ruff, mypy, pytest")
    return p


def _threshold_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-change", type=float, default=0.05, help="smallest relative change that counts. Default: %(default)r")
    p.add_argument("--cv-factor", type=float, default=3.0, help="x between-run CV that a change must exceed. Default: %(default)r")
    p.add_argument("--alpha", type=float, default=0.01, help="significance level, 0 < alpha < 1. Default: %(default)r")
    p.add_argument("--min-rounds", type=int, default=3, help="rounds per side that count as evidence. Default: %(default)r")
    p.add_argument("--min-history", type=int, default=5, help="history runs that count as evidence. Default: %(default)r")


def _thresholds(args: argparse.Namespace) -> Any:
    from harness.gate import Thresholds

    return Thresholds(args.min_change, args.cv_factor, args.alpha, args.min_rounds, args.min_history)


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.gate import compare, gate_exit, render_comparison
    from harness.history import load_history, load_run

    t = _thresholds(args)
    base, head = load_run(args.base, args.allow_incomplete), load_run(args.head, args.allow_incomplete)
    history = load_history(Path(args.history)) if args.history else None
    c = compare(base, head, t, history)
    print(render_comparison(c))
    code, message = gate_exit(c, args.allow_missing)
    print(message, file=sys.stderr if code == 2 else sys.stdout)
    return code


def _run_argv(args: argparse.Namespace, opts: Options, run_id: str) -> list[str]:
    """The pytest command line of the main job (``opts``: the run options, already parsed and checked)."""
    suites = Path(args.suites).resolve()
    if not suites.is_dir():
        raise UsageError("--suites", args.suites, "is not a folder", "pass the folder holding the suites")
    check_device_available(opts.device)
    given = pytest_args({**vars(args), "run_id": run_id})
    argv = [sys.executable, "-m", "pytest", str(suites), "-p", "no:cacheprovider", "-rfEs", f"--rootdir={suites.parent}",
            *given, "--harness-latest"]
    return argv + [str(a) for a in args.pytest_args]


def cmd_run(args: argparse.Namespace) -> int:
    """Run the suites in a child pytest that dies with this process (parent-death signal) and runs in its own
    process group: Ctrl-C or SIGTERM here is forwarded once, so the child stops cleanly, records its finished
    cells with an "interrupted" end line and renders the report; a second Ctrl-C kills it."""
    from harness.procs import child_setup

    opts = from_run_args(args)
    run_id = opts.run_id or new_run_id()
    argv = _run_argv(args, opts, run_id)
    if opts.profile.rounds > 1:
        from harness.rounds import run_rounds

        keep = [a for a in argv[: len(argv) - len(args.pytest_args)]
                if not a.startswith(("--harness-run-id=", "--harness-history="))]
        return run_rounds(keep, opts.profile.rounds, opts.out.resolve(), opts.history,
                          [str(a) for a in args.pytest_args], Path(args.suites).resolve().parent, run_id)
    print("+ " + " ".join(argv), flush=True)
    parent = os.getpid()
    proc = subprocess.Popen(argv, cwd=Path(args.suites).resolve().parent, start_new_session=True,
                            preexec_fn=lambda: child_setup(parent, signal.SIGTERM))
    stops: list[int] = []

    def forward(signum: int, frame: object) -> None:
        stops.append(signum)
        sig = signum if len(stops) == 1 else signal.SIGKILL
        print(f"harness: {signal.Signals(signum).name}: " + ("stopping the run; finished cells are kept (again to kill it)"
                                                              if len(stops) == 1 else "killing the run"),
              file=sys.stderr, flush=True)
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGTERM:  # the child stops its xdist workers itself
                os.kill(proc.pid, sig)
            else:  # Ctrl-C reaches every process of the run, as it would from the terminal
                os.killpg(proc.pid, sig)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stops:
        results = opts.out / run_id / "results.jsonl"
        print(f"harness: run interrupted; finished cells and the report are in {results.parent}", file=sys.stderr)
        return 128 + stops[0]
    return 0 if code == 5 else code  # 5: nothing collected for this selection


def _check_trace_file(path: Path) -> str:
    """``sqlite`` or ``json``: the kind of trace file ``path`` is, judged by its first bytes."""
    if path.is_dir() or not path.exists():
        raise ResultsError(f"trace file {str(path)!r} does not exist or is a folder. Fix: pass a *.trace.json or an "
                           "nsys *.sqlite export")
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(b"SQLite format 3"):
        return "sqlite"
    if head.startswith(b"\x1f\x8b"):
        raise UsageError("trace file", str(path), "is gzip-compressed", f"decompress it first: gunzip -k {path}")
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError("trace file", str(path), "is neither an SQLite database nor JSON",
                         "pass a *.trace.json written by the harness or an nsys export (`nsys export --type sqlite`)") from None
    if not isinstance(data, dict) or "schema" not in data or "kernels" not in data:
        raise UsageError("trace file", str(path), "is JSON but not a harness trace (no 'schema' and 'kernels' keys)",
                         "pass a *.trace.json written under <run>/traces/, or an nsys SQLite export")
    return "json"


def cmd_trace(path: Path) -> int:
    """Print every checked range's verdict; exit 1 when one fails, 2 when the file cannot be read."""
    from harness.expect.confinement import render, verdicts
    from harness.trace.model import Trace

    if _check_trace_file(path) == "sqlite":
        from harness.trace.nsys import read_nsys

        trace = read_nsys(path)
    else:
        trace = Trace.load(path)
    vs = verdicts(trace)
    print(render(trace, vs))
    return 0 if vs and all(v.ok for v in vs) else 1


def cmd_test() -> int:
    with tempfile.TemporaryDirectory(prefix="harness-test-") as out:  # the suites' results, never reports/out
        return _test_steps(out)


def _test_steps(out: str) -> int:
    py = sys.executable
    steps = [
        [py, "-m", "ruff", "check", "harness", "models", "reports", "suites", "tests", "conftest.py"],
        [py, "-m", "mypy"],
        [py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", f"--harness-out={out}", "tests", "suites"],
    ]
    for step in steps:
        print("+ " + " ".join(step), flush=True)
        code = subprocess.call(step, cwd=ROOT)
        if code == 5 and step[2] == "pytest":
            print("pytest collected no test (exit 5): treated as success", flush=True)
            code = 0
        if code != 0:
            return code
    return 0


def _export_path(args: argparse.Namespace, res: Any) -> Path:
    if args.out is None:
        return Path(res.path).with_suffix(f".{args.format}")
    out = Path(args.out)
    if out.is_dir():
        raise UsageError("--out", args.out, "is a folder", f"pass a file path, e.g. {out / ('results.' + args.format)}")
    check_out_dir(str(out.parent))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a path the checks above could not foresee (a full disk, a mount gone read-only)
        print(f"error: {exc.filename or exc.filename2 or 'a file'!r} cannot be used: {exc.strerror or exc}. Fix: check "
              "the path, its permissions and free space", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "env":
        from harness.probe import main_env

        return main_env(args.json)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "report":
        from reports import render_run

        out = check_out_dir(args.out) if args.out else None
        for p in render_run(args.results, out, salvage=args.salvage):
            print(p)
        return 0
    if args.command == "export":
        from harness.results import export, read_results

        res = read_results(args.results, salvage=args.salvage)
        if args.format not in ("csv", "parquet"):
            raise UnknownChoiceError("export format", args.format, ("csv", "parquet"))
        print(export(res, args.format, _export_path(args, res)))
        return 0
    if args.command == "bench":
        from harness.bench import main as bench_main

        return bench_main()
    if args.command == "compare":
        return cmd_compare(args)
    if args.command == "history":
        from harness.history import cmd_history

        return cmd_history(args.action, args.paths, check_out_dir(args.dir), args.allow_incomplete)
    if args.command == "calibrate":
        from harness.calibrate import cmd_calibrate

        return cmd_calibrate(args, _thresholds(args))
    if args.command == "dashboard":
        from reports.dashboard import build_dashboard

        thresholds = _thresholds(args)
        out = check_out_dir(args.out) if args.out else Path(args.history) / "site"
        print(build_dashboard(Path(args.history), out, args.baseline, thresholds))
        return 0
    if args.command == "trace":
        from harness.trace.cli import main_trace

        _check_trace_file(Path(args.trace))
        return main_trace(Path(args.trace), args.expect, args.control)
    return cmd_test()


if __name__ == "__main__":
    sys.exit(main())
