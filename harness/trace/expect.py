"""Expectations on an application's own NVTX ranges: ``trace EXPORT --expect 'GLOB=RULE[,RULE]'``.

A glob (``fnmatch``, case-sensitive) selects NVTX ranges by their text, in any domain. Every kernel (and
CUDA-graph launch) launched inside a selected range is judged by each rule: launched means the runtime or
driver API call of the same correlation id ran on the range's thread (any thread for a start/end range)
between the range's start and end, so nested ranges share their kernels with their parents.

Rules: ``green`` (every kernel in a green context), ``primary`` (no kernel in a green context),
``one-stream`` (every kernel on a single stream). ``--control`` takes the same form and names a deliberately
wrong expectation: it must be flagged, and then prints "control flagged (expected)" without failing the run.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass

from harness.errors import UsageError
from harness.expect.confinement import KernelTally, tally, verdict_status
from harness.trace.model import Context, Kernel, Range, Trace, attribute

RULES = ("green", "primary", "one-stream")
_FIX = "write GLOB=RULE[,RULE...] with RULE in green, primary, one-stream, e.g. --expect 'encoder*=green,one-stream'"


@dataclass(frozen=True)
class Expectation:
    glob: str
    rules: tuple[str, ...]
    control: bool = False

    @property
    def text(self) -> str:
        return f"{self.glob}={','.join(self.rules)}"


def parse_expectation(text: str, control: bool = False) -> Expectation:
    """``GLOB=RULE[,RULE...]``; the glob may itself hold ``=`` (the last one separates the rules)."""
    what = "--control" if control else "--expect"
    glob, sep, rules_text = text.rpartition("=")
    if not sep or not glob.strip():
        raise UsageError(what, text, "it needs a range glob, '=' and one or more rules", _FIX)
    rules = tuple(r.strip() for r in rules_text.split(","))
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise UsageError(f"{what} rule", bad[0], f"the rules are {list(RULES)}", _FIX)
    if "green" in rules and "primary" in rules:
        raise UsageError(what, text, "green and primary contradict each other", "give a range one of them")
    return Expectation(glob, tuple(dict.fromkeys(rules)), control)


@dataclass
class RuleVerdict(KernelTally):
    expectation: Expectation
    rule: str
    ranges: int

    @property
    def held(self) -> bool:
        return not self.problems

    @property
    def ok(self) -> bool:
        """A plain expectation must hold; a control must not (its check must be able to fail)."""
        return self.held != self.expectation.control

    def line(self) -> str:
        status = verdict_status(self.expectation.control, self.ok)
        head = (f"{status} {self.expectation.glob!r}={self.rule}: {self.ranges} range(s), {self.kernels} kernel(s), "
                f"streams {self.streams}, contexts {self.contexts}")
        shown = self.problems[:5] + ([f"... and {len(self.problems) - 5} more range(s)"] if len(self.problems) > 5 else [])
        return head + "".join(f"\n    - {p}" for p in shown)


def _kernels_in(r: Range, trace: Trace, launch: dict[int, tuple[int, int]]) -> list[Kernel]:
    return [trace.kernels[i] for i, (tid, t) in launch.items() if r.contains(tid, t)]


def _where(r: Range) -> str:
    dom = f" [{r.domain}]" if r.domain else ""
    return f"{r.text!r}{dom} on thread {r.thread_id} at {r.start} ns"


def _problem(rule: str, r: Range, kernels: list[Kernel], contexts: dict[int, Context]) -> str:
    """Empty when ``rule`` holds for the kernels launched inside one range, else what broke it."""
    if not kernels:
        return f"{_where(r)}: no kernel was launched inside it, nothing to judge"
    if rule == "one-stream":
        streams = Counter(k.stream_id for k in kernels)
        return "" if len(streams) == 1 else f"{_where(r)}: kernels on {len(streams)} streams {dict(streams)}"
    unknown = [k for k in kernels if k.context_id not in contexts]
    if unknown:
        return (f"{_where(r)}: {len(unknown)} kernel(s) in context(s) {sorted({k.context_id for k in unknown})} "
                "with no context record, cannot tell whether they are green")
    if rule == "green":
        off = [k for k in kernels if not contexts[k.context_id].is_green]
        what = "not in a green context"
    else:
        off = [k for k in kernels if contexts[k.context_id].is_green]
        what = "in a green context"
    if not off:
        return ""
    return f"{_where(r)}: {len(off)} of {len(kernels)} kernel(s) {what}, e.g. {sorted({k.name[:60] for k in off})[:3]}"


def check(trace: Trace, expectations: list[Expectation]) -> list[RuleVerdict]:
    """One verdict per (expectation, rule). Raises ``UsageError`` when a glob matches no range of the trace."""
    launch = attribute(trace).launch
    contexts = {c.context_id: c for c in trace.contexts}
    out = []
    for e in expectations:
        hits = [r for r in trace.ranges if fnmatch.fnmatchcase(r.text, e.glob)]
        if not hits:
            seen = sorted({r.text for r in trace.ranges})
            raise UsageError("range glob", e.glob, f"it matches none of the trace's {len(seen)} NVTX range texts "
                             f"(e.g. {seen[:8]})", "match a range text exactly or with * and ?, e.g. 'encoder*'")
        inside = {id(r): _kernels_in(r, trace, launch) for r in hits}
        every = [k for ks in inside.values() for k in ks]
        for rule in e.rules:
            v = RuleVerdict(e, rule, len(hits), **tally(every))
            v.problems = [p for r in hits if (p := _problem(rule, r, inside[id(r)], contexts))]
            out.append(v)
    return out


def render(trace: Trace, vs: list[RuleVerdict]) -> str:
    att = attribute(trace)
    head = (f"{trace.source} trace: {len(trace.kernels)} kernels, {len(trace.ranges)} ranges, "
            f"{len(trace.contexts)} contexts; {att.unlinked} kernels without an API call")
    failed = [v for v in vs if not v.ok]
    tail = f"{len(vs) - len(failed)} of {len(vs)} checks as expected" + (f", {len(failed)} failed" if failed else "")
    return "\n".join([head, *(v.line() for v in vs), tail])
