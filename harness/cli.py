"""Command line: ``python -m harness {env,run,report,export,test}`` (also the ``trtrtx-harness`` script)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config import DEVICE_CHOICES, PROFILES, VARIANTS, check_out_dir, parse_list
from harness.errors import HarnessError, UnknownChoiceError
from models import MODELS

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    env = sub.add_parser("env", help="capability probe: what this machine can run, and why not")
    env.add_argument("--json", action="store_true", help="machine-readable output. Default: %(default)r")

    run = sub.add_parser("run", help="the main job: default conformance + benchmark run with a report")
    run.add_argument("--profile", default="default", help=f"one of {sorted(PROFILES)}. Default: %(default)r")
    run.add_argument("--models", default=None, help=f"comma-separated subset of {sorted(MODELS)}. Default: profile's")
    run.add_argument("--backends", default=None, help=f"comma-separated subset of {sorted(VARIANTS)}. Default: profile's")
    run.add_argument("--device", default="auto", help=f"one of {list(DEVICE_CHOICES)}. Default: %(default)r")
    run.add_argument("--out", default="reports/out", help="root of run folders. Default: %(default)r")
    run.add_argument("--history", default=None, help="history folder the run's summary is added to. Default: none")
    run.add_argument("pytest_args", nargs="*", help="extra arguments passed to pytest after --")

    rep = sub.add_parser("report", help="render report.md / report.html from a saved results file")
    rep.add_argument("results", help="a results.jsonl, or a run folder holding one")
    rep.add_argument("--out", default=None, help="output folder. Default: the results file's folder")

    exp = sub.add_parser("export", help="export records to CSV or Parquet")
    exp.add_argument("results")
    exp.add_argument("--format", default="csv", help="csv or parquet. Default: %(default)r")
    exp.add_argument("--out", default=None, help="output file. Default: next to the results file")

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
    _threshold_args(cmp_)

    his = sub.add_parser("history", help="add a run to a history folder, or merge runners' history folders")
    his.add_argument("action", choices=["add", "merge"], help="add: store RESULTS' summary in DIR; merge: copy every "
                     "run of the folders into DIR once")
    his.add_argument("paths", nargs="+", metavar="RESULTS|FOLDER")
    his.add_argument("--dir", required=True, help="the history folder")

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
    base, head = load_run(args.base), load_run(args.head)
    history = load_history(Path(args.history)) if args.history else None
    c = compare(base, head, t, history)
    print(render_comparison(c))
    code, message = gate_exit(c, args.allow_missing)
    print(message, file=sys.stderr if code == 2 else sys.stdout)
    return code


def cmd_run(args: argparse.Namespace) -> int:
    if args.profile not in PROFILES:
        raise UnknownChoiceError("profile", args.profile, PROFILES)
    argv = [sys.executable, "-m", "pytest", str(ROOT / "suites"), "-p", "no:cacheprovider", "-rfEs",
            f"--rootdir={ROOT}", f"--harness-profile={args.profile}", f"--harness-out={check_out_dir(args.out)}"]
    if args.models:
        argv.append(f"--harness-models={','.join(parse_list('model', args.models, MODELS))}")
    if args.backends:
        argv.append(f"--harness-backends={','.join(parse_list('backend variant', args.backends, VARIANTS))}")
    argv.append(f"--harness-device={parse_list('device', args.device, DEVICE_CHOICES)[0]}")
    if PROFILES[args.profile].rounds > 1:
        from harness.rounds import run_rounds

        history = check_out_dir(args.history) if args.history else None
        return run_rounds(argv, PROFILES[args.profile].rounds, check_out_dir(args.out).resolve(), history,
                          args.pytest_args, ROOT)
    if args.history:
        argv.append(f"--harness-history={check_out_dir(args.history)}")
    argv += args.pytest_args
    print("+ " + " ".join(argv), flush=True)
    code = subprocess.call(argv, cwd=ROOT)
    return 0 if code == 5 else code  # 5: nothing collected for this selection


def cmd_test() -> int:
    py = sys.executable
    steps = [
        [py, "-m", "ruff", "check", "harness", "models", "reports", "suites", "conftest.py"],
        [py, "-m", "mypy"],
        [py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", "harness/tests", "suites"],
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "env":
            from harness.probe import main_env

            return main_env(args.json)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "report":
            from reports import render_run

            out = check_out_dir(args.out) if args.out else None
            for p in render_run(args.results, out):
                print(p)
            return 0
        if args.command == "export":
            from harness.results import export, read_results

            res = read_results(args.results)
            out = Path(args.out) if args.out else Path(res.path).with_suffix(f".{args.format}")
            print(export(res, args.format, out))
            return 0
        if args.command == "bench":
            from harness.bench import main as bench_main

            return bench_main()
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "history":
            from harness.history import cmd_history

            return cmd_history(args.action, args.paths, Path(args.dir))
        if args.command == "calibrate":
            from harness.calibrate import cmd_calibrate

            return cmd_calibrate(args, _thresholds(args))
        if args.command == "dashboard":
            from reports.dashboard import build_dashboard

            out = check_out_dir(args.out) if args.out else Path(args.history) / "site"
            print(build_dashboard(Path(args.history), out, args.baseline, _thresholds(args)))
            return 0
        if args.command == "trace":
            from harness.trace.cli import main_trace

            return main_trace(Path(args.trace), args.expect, args.control)
        return cmd_test()
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
