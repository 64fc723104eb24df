"""``python -m harness trace FILE [--expect GLOB=RULE ...] [--control GLOB=RULE ...]``.

Without expectations: the confinement verdict of every range the harness checks (``[expect ...]``). With
them: each expectation on the application's own ranges (``harness.trace.expect``). Exit 0 when everything is
as expected (controls flagged), 1 when a check fails or a control is not flagged, 2 on bad input (an
unreadable file, a malformed expectation, a glob that matches no range).
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import ResultsError
from harness.trace.model import Trace


def load_trace(path: Path) -> Trace:
    if not path.exists():
        raise ResultsError(f"trace file {str(path)!r} does not exist. Fix: pass a *.trace.json or an nsys *.sqlite export")
    if path.suffix in (".sqlite", ".db"):
        from harness.trace.nsys import read_nsys

        return read_nsys(path)
    return Trace.load(path)


def main_trace(path: Path, expects: list[str] | None = None, controls: list[str] | None = None) -> int:
    from harness.expect import confinement
    from harness.trace import expect

    exps = [expect.parse_expectation(e) for e in expects or []] + \
        [expect.parse_expectation(c, control=True) for c in controls or []]
    trace = load_trace(path)
    if exps:
        checked = expect.check(trace, exps)
        print(expect.render(trace, checked))
        return 0 if all(v.ok for v in checked) else 1
    vs = confinement.verdicts(trace)
    print(confinement.render(trace, vs))
    return 0 if vs and all(v.as_expected for v in vs) else 1
