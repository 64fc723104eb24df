"""A ``--dist loadgroup`` scheduler that survives a worker crash (pytest-xdist 3.x).

pytest-xdist's ``LoadScopeScheduling.remove_node`` puts a crashed worker's whole work unit back in the
queue with the crashed test still pending, so the replacement worker runs the crashing test again, and
crashes again, until the restart limit ends the run and drops every cell still queued. Here the crashed
test counts as done (pytest-xdist reports it as failed, and the harness marks the cell), and the rest of
the unit goes back to the front of the queue: the group stays together on the replacement worker.

A worker runs a test only once it knows the next one (or is told to stop). A replacement worker that is handed
one unit holding a single test (what is left of a crashed unit) waits for ever, and so does the run; so when a
worker joins later, every worker is offered work twice (pytest-xdist's own fix, pytest-dev/pytest-xdist#1328, is
in no release yet: 3.8.0 hangs in about half of the crash runs of tests/test_distributed.py).

Imported only when pytest-xdist runs the session (``pytest_xdist_make_scheduler`` in ``harness.plugin``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from xdist.scheduler import LoadGroupScheduling

from harness.distributed import order_longest_first, untagged


class CrashSafeLoadGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
    """``loadgroup`` whose crash handling loses only the test that was running when the worker died, and that hands
    out the longest units first when an earlier run's cell times are known (``seconds``: node id -> seconds)."""

    def __init__(self, config: Any, log: Any = None, seconds: dict[str, float] | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        super().__init__(config, log)
        self.seconds = seconds or {}
        self.say = say or (lambda line: None)
        self.ordered = False

    def _order(self) -> None:
        """Longest units first when the earlier run timed any cell of this one; says what it did."""
        if not self.seconds:
            return
        cells = [untagged(n) for unit in self.workqueue.values() for n in unit]
        timed = sum(n in self.seconds for n in cells)
        if not timed:
            self.say("harness: no cell of this run has a time in the earlier run: work units in pytest-xdist order")
            return
        (first, expected), *_ = order_longest_first(self.workqueue, self.seconds)
        self.say(f"harness: work units longest first: {timed} of {len(cells)} cells timed by the earlier run; "
                 f"first {first} (~{expected:.1f} s)")

    def schedule(self) -> None:
        later = self.collection is not None  # the first call distributes; a later one is a worker joining
        super().schedule()
        if later:
            for node in self.nodes:
                self._reschedule(node)

    def _assign_work_unit(self, node: Any) -> None:
        """A worker that died with a report still in flight cannot be sent work: the unit stays assigned to it, and
        ``remove_node`` queues it again when the worker's death is reported (pytest-xdist raises OSError here)."""
        if not self.ordered and self.workqueue:  # the first hand-out: the queue holds every unit
            self.ordered = True
            self._order()
        with contextlib.suppress(OSError):
            super()._assign_work_unit(node)

    def remove_node(self, node: Any) -> str | None:
        workload: dict[str, dict[str, bool]] = self.assigned_work.pop(node)
        pending = [(scope, nodeid) for scope, unit in workload.items() for nodeid, done in unit.items() if not done]
        if not pending:
            return None
        # A worker runs its assigned tests in order: the first one not reported complete is the one that crashed.
        crash_scope, crashitem = pending[0]
        workload[crash_scope][crashitem] = True
        for scope, unit in reversed(list(workload.items())):
            if not all(unit.values()):
                self.workqueue[scope] = unit
                self.workqueue.move_to_end(scope, last=False)
        for other in self.assigned_work:
            self._reschedule(other)
        return crashitem
