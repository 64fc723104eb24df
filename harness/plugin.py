"""pytest plugin: markers, configuration and lifecycle hooks only.

The options are the rows of ``harness.options``; the run's state lives in ``config.stash`` under the keys of
``harness.keys`` (and of this module, for its own bookkeeping), never in a module global. Measuring lives in
``harness.fixture``, the run lifecycle in ``harness.session``, rendering in ``reports``.
Importing this module imports neither torch_tensorrt, tensorrt_rtx nor CUPTI.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from harness.config import RunConfig, check_device_available, new_run_id
from harness.distributed import (
    assign,
    check_gpus_exist,
    group_of,
    parse_gpus,
    previous_seconds,
    tag_group,
    untagged,
    visible_gpus,
)
from harness.errors import HarnessError, UsageError
from harness.fixture import harness_case, harness_session, run_config  # noqa: F401  (fixtures registered by import)
from harness.keys import RUN_CONFIG, SESSION
from harness.options import add_pytest_options, from_pytest
from harness.results import read_results
from harness.session import HarnessSession

GPUS = pytest.StashKey[tuple[str, ...]]()
WORKER_GPUS = pytest.StashKey[dict[str, str]]()  # every worker ever started -> its GPU (for crash reports)
LIVE_GPUS = pytest.StashKey[dict[str, str]]()  # workers alive now -> their GPU
_RECORDED = pytest.StashKey[set[str]]()  # node ids whose cell the controller has written
_SETUP_S = pytest.StashKey[dict[str, float]]()  # node id -> seconds its passed setup took (until its call is written)
_STOP_REASON = pytest.StashKey[str]()  # the signal that stopped the run

MARKERS = {
    "rtx": "needs a TensorRT-RTX runtime (an engine that deserializes and runs on this GPU)",
    "gpu": "needs a CUDA GPU",
    "green_ctx": "needs CUDA green contexts",
    "perf": "records latency numbers",
    "slow": "takes more than a few seconds per case",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """--harness-gpus N means -n N --dist loadgroup (set before pytest-xdist reads them). Workers get the same
    command line but must stay workers: pytest-xdist has already reset their -n, so this hook leaves them alone.
    A bad value is left to ``pytest_configure``, which reports it."""
    try:
        gpus = parse_gpus(config.getoption("--harness-gpus") or "")
    except UsageError:
        return
    if hasattr(config.option, "numprocesses") and not hasattr(config, "workerinput"):
        if not config.option.numprocesses:
            config.option.numprocesses = len(gpus)
        if config.option.dist in ("no", "load"):
            config.option.dist = "loadgroup"


def _distributed(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", 0)) and getattr(config.option, "dist", "no") != "no"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    try:
        _configure(config)
    except UsageError as exc:  # exit 2 with the message, never an INTERNALERROR traceback
        pytest.exit(f"error: {exc}", returncode=2)


def _configure(config: pytest.Config) -> None:
    o = from_pytest(config)
    profile = o.profile
    worker = getattr(config, "workerinput", None)
    if worker and worker.get("harness_gpu") is not None:  # before anything in this worker touches CUDA
        os.environ["CUDA_VISIBLE_DEVICES"] = worker["harness_gpu"]
    if worker and worker.get("harness_loadgroup"):
        # A worker re-parses the command line, where --harness-gpus stood for --dist loadgroup: without this,
        # pytest-xdist would not suffix node ids with their group and every cell would be its own unit.
        config.option.loadgroup = True
    if worker is None:
        check_device_available(o.device)
    if worker is None and _distributed(config):
        visible = visible_gpus()
        config.stash[GPUS] = check_gpus_exist(o.gpus, visible) if o.gpus else visible
    elif worker is None and o.gpus:
        raise UsageError("--harness-gpus", config.getoption("--harness-gpus"), "needs pytest-xdist (-n)",
                         "install the dev extra: pip install '.[dev]'")
    run_id = o.run_id or (worker or {}).get("harness_run_id") or new_run_id()
    rc = RunConfig(
        profile=profile.name,
        models=o.models or profile.models,
        variants=o.backends,
        device=o.device,
        out_root=o.out.resolve(),
        run_id=run_id,
        cache_dir=o.cache_dir.resolve(),
        timing=profile.timing,
        report=not o.no_report,
        history=o.history,
        resume=o.resume,
        latest=o.latest,
    )
    role = (worker or {}).get("workerid") or ("controller" if _distributed(config) else "main")
    hs = HarnessSession(rc, worker=role, gpu=os.environ.get("CUDA_VISIBLE_DEVICES", "all"))
    if worker is None:
        hs.check_run_folder()
        _stop_on_sigterm(config)
        config.pluginmanager.register(CellWriter(config), "harness-cell-writer")
    config.stash[RUN_CONFIG] = rc
    config.stash[SESSION] = hs
    # torch.compile's on-disk caches stay private to the run, never the per-user default.
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(rc.cache_dir / "inductor" / rc.run_id))


KILL_AFTER_S = 30.0  # a run that does not stop this long after SIGTERM (stuck in native code) is killed


def _stop_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM (also sent when `python -m harness run` dies: its parent-death signal) stops the run like Ctrl-C:
    finished cells are kept, the end line says interrupted and the report is rendered."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        return

    def stop(signum: int, frame: Any) -> None:
        config.stash[_STOP_REASON] = signal.Signals(signum).name
        signal.signal(signum, signal.SIG_DFL)
        timer = threading.Timer(KILL_AFTER_S, os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)

    def restore() -> None:  # the handler lives as long as the run
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    config.add_cleanup(restore)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # pytest-xdist: the run id and a GPU for each worker
    node.workerinput["harness_run_id"] = node.config.stash[RUN_CONFIG].run_id
    node.workerinput["harness_loadgroup"] = node.config.getvalue("dist") == "loadgroup"
    live = node.config.stash.setdefault(LIVE_GPUS, {})
    gpu = assign(node.gateway.id, node.config.stash.get(GPUS, ()), live)
    node.workerinput["harness_gpu"] = gpu
    if gpu is not None:
        live[node.gateway.id] = gpu
    node.config.stash.setdefault(WORKER_GPUS, {})[node.gateway.id] = gpu or "all"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:  # a finished or crashed worker frees its GPU
    node.config.stash.get(LIVE_GPUS, {}).pop(node.gateway.id, None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with crash handling that loses only the crashed cell (``harness.xdist_sched``)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from harness.xdist_sched import CrashSafeLoadGroupScheduling

    source, seconds = _earlier_run_times(config)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    say = tr.write_line if tr is not None else None
    if say is not None:
        say(f"harness: cell times of an earlier run: {source}" if seconds else
            f"harness: work units in pytest-xdist order ({source})")
    return CrashSafeLoadGroupScheduling(config, log, seconds, say)


def _earlier_run_times(config: pytest.Config) -> tuple[str, dict[str, float]]:
    """(where the cell times come from, node id -> seconds) for ``--harness-order-from``; an unreadable earlier run
    is said, and the units keep pytest-xdist's order."""
    choice = config.getoption("--harness-order-from")
    if choice == "none":
        return "--harness-order-from none", {}
    where = config.stash[RUN_CONFIG].out_root / "latest" if choice == "auto" else Path(choice)
    if choice == "auto" and not where.exists():
        return f"no earlier run at {where}", {}
    try:
        res = read_results(where.resolve(), salvage=True)  # latest: name the run it points at
    except HarnessError as exc:
        return f"the earlier run {str(where)!r} cannot be read: {exc}", {}
    seconds = previous_seconds(res.cells)
    damaged = f"; {len(res.damaged)} damaged line(s) skipped" if res.damaged else ""
    return (f"{res.path} ({len(seconds)} cells{damaged})" if seconds else f"{res.path}: no cell times{damaged}"), seconds


def _start(config: pytest.Config, planned: int) -> None:
    """Open the run's results with its meta line, before any cell runs: main process or xdist controller."""
    hs = config.stash.get(SESSION, None)
    if hs is None or planned == 0 or config.option.collectonly or hs._writer is not None:
        return
    try:
        hs.start(planned)
    except UsageError as exc:
        pytest.exit(f"error: {exc}", returncode=2)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    hs = session.config.stash.get(SESSION, None)
    if hs is not None and hs.worker == "controller":
        hs.env  # noqa: B018  (probe before the workers start: the meta line is written between their collection and the first cell)


def pytest_collection_finish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput") and not _distributed(session.config):
        _start(session.config, sum(_in_suites(item) for item in session.items))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """The first worker's collection is the plan (every worker collects the same cells), before any is sent."""
    _start(node.config, sum(untagged(i).startswith("suites/") for i in ids))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Cells sharing a build config (or a traced child) carry one xdist_group: --dist loadgroup keeps them together."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        group = group_of(callspec.params) if callspec is not None else None
        if group:
            item.add_marker(pytest.mark.xdist_group(name=group))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a loadgroup worker, after pytest-xdist's own tagging (which pytest 9.2 ignores): see ``tag_group``."""
    if hasattr(config, "workerinput") and config.getvalue("loadgroup"):
        for item in items:
            group = next((m.kwargs.get("name") for m in item.iter_markers("xdist_group")), None)
            if group:
                tag_group(item, str(group))


def pytest_report_header(config: pytest.Config) -> list[str]:
    rc = config.stash[RUN_CONFIG]
    return [f"harness: profile={rc.profile} models={','.join(rc.models)} device={rc.device} "
            f"variants={','.join(rc.variants) if rc.variants else 'profile'} out={rc.out_dir}"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Attaches the cell's id and dimensions to the report; the process that collects reports (the xdist
    controller, or the only process) writes the cell, so a worker that crashes still has its cell marked."""
    report: pytest.TestReport = yield
    if report.failed and call.excinfo is not None and hasattr(item.config, "workerinput"):
        sticky = sticky_cuda_error(call.excinfo.value)
        if sticky:  # this worker's CUDA context is dead: leave after this cell (pytest_runtest_protocol)
            item.config.stash[_STICKY] = sticky
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("case") if callspec is not None else None
    if case is not None and hasattr(case, "dims"):
        case_id, dims = case.id, case.dims()
    elif _in_suites(item):  # every suite test is a cell of the report, parametrized by Case or not
        case_id, dims = (callspec.id if callspec is not None else item.name), {"test": getattr(item, "originalname", item.name)}
    else:
        return report
    hs = item.config.stash[SESSION]
    report.user_properties.append(("harness_cell", {"case_id": case_id, "dims": dims, "worker": hs.worker, "gpu": hs.gpu}))
    return report


_STICKY = pytest.StashKey[str]()
# CUDA errors that leave the context unusable: every later CUDA call of the process fails with them.
STICKY_CUDA_ERRORS = ("an illegal memory access was encountered", "unspecified launch failure", "device-side assert triggered",
                      "misaligned address", "an illegal instruction was encountered", "CUDA_ERROR_ILLEGAL_ADDRESS")
EXIT_STICKY = 70


def sticky_cuda_error(exc: BaseException) -> str:
    from harness.expect.graphs import exception_chain

    for e in exception_chain(exc):
        hit = next((m for m in STICKY_CUDA_ERRORS if m in str(e)), "")
        if hit:
            return hit
    return ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """A worker whose cell hit a sticky CUDA error exits once the cell's reports are sent, so pytest-xdist
    replaces it: the later cells run in a fresh process instead of all failing with the same error."""
    result = yield
    sticky = item.config.stash.get(_STICKY, "")
    if sticky:
        import sys

        sys.stderr.write(f"harness: sticky CUDA error ({sticky}) in {item.nodeid}: worker exits to be replaced\n")
        sys.stderr.flush()
        os._exit(EXIT_STICKY)
    return result


class CellWriter:
    """Writes each cell's outcome to the results: registered on the plugin manager by the process that collects
    reports (the xdist controller, or the only process), holding its config (``pytest_runtest_logreport`` gets none)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        _write_cell(self.config, report)


def _write_cell(config: pytest.Config, report: pytest.TestReport) -> None:
    nodeid = untagged(report.nodeid)
    setups = config.stash.setdefault(_SETUP_S, {})
    if report.when == "setup" and report.passed:
        if nodeid.startswith("suites/"):  # what the cell paid before its call (a shared build, a traced child)
            setups[nodeid] = report.duration
        return
    outcome = _cell_outcome(report)
    if outcome is None:
        return
    paid, call_s = setups.pop(nodeid, None), report.duration
    if report.when == "setup":  # failed or skipped in its setup: no call ran, the time is the setup's
        paid, call_s = report.duration, 0.0
    recorded = config.stash.setdefault(_RECORDED, set())
    if str(report.when) == "???" and nodeid in recorded:
        return  # the worker left after this cell's own failure (a sticky CUDA error): already recorded
    recorded.add(nodeid)
    info: dict[str, Any] | None = dict(report.user_properties).get("harness_cell")  # type: ignore[assignment]
    if info is None:  # no cell attached: a crashed worker's report, or a test outside the suites
        if not report.nodeid.startswith("suites/"):
            return
        node = getattr(report, "node", None)
        worker = node.gateway.id if node is not None else "main"
        info = {"case_id": nodeid.split("[", 1)[-1].rstrip("]") if "[" in nodeid else nodeid,
                "dims": {}, "worker": worker, "gpu": config.stash.get(WORKER_GPUS, {}).get(worker, "?")}
    setup = {"setup_s": round(paid, 4)} if paid is not None else {}
    hs = config.stash[SESSION]
    hs.cell(info["case_id"], nodeid, outcome[0], outcome[1], {**info["dims"], "worker": info["worker"],
                                                                      "gpu": info["gpu"], **setup}, call_s)


def _in_suites(item: pytest.Item) -> bool:
    path = Path(str(item.path))
    return path.is_relative_to(item.config.rootpath) and "suites" in path.relative_to(item.config.rootpath).parts[:1]


def _cell_outcome(report: pytest.TestReport) -> tuple[str, str] | None:
    if report.when == "call" or (report.when != "teardown" and not report.passed):  # a crash report has when="???"
        if report.skipped:
            lr = report.longrepr
            reason = lr[2] if isinstance(lr, tuple) else str(lr)
            return "skipped", reason.removeprefix("Skipped: ")
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            return "failed", (crash.message if crash else str(report.longrepr))[:2000]
        return "passed", ""
    return None


def _end_status(session: pytest.Session, exitstatus: int) -> tuple[str, str]:
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted", session.config.stash.get(_STOP_REASON, "KeyboardInterrupt (Ctrl-C)")
    if session.shouldstop or session.shouldfail:
        return "interrupted", str(session.shouldstop or session.shouldfail)
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        return "interrupted", f"pytest exit status {int(exitstatus)}"
    return "completed", ""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    hs = config.stash.get(SESSION, None)
    if hs is None:
        return
    status, reason = _end_status(session, exitstatus)
    hs.finish(status, reason)
    results = hs.close()
    if results is None or hasattr(config, "workerinput") or not hs.config.report:
        return
    from reports import render_run

    paths = render_run(results)
    if hs.config.history is not None and status == "completed":
        from harness.errors import UsageError
        from harness.history import add_to_history

        try:
            paths.append(add_to_history(results, hs.config.history))
        except UsageError as exc:  # a run without latency samples adds nothing to the history
            paths.append(Path(f"history not updated: {exc}"))
    elif hs.config.history is not None:
        paths.append(Path(f"history not updated: the run did not complete ({reason})"))
    config.stash[_REPORT_PATHS] = paths


_REPORT_PATHS = pytest.StashKey[list[Path]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    paths = config.stash.get(_REPORT_PATHS, None)
    if paths:
        terminalreporter.write_sep("-", "harness report")
        for p in paths:
            terminalreporter.write_line(str(p))
