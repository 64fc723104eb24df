"""The confinement verdict of each checked range of a trace (kernels attributed to ranges by
``harness.trace.model.attribute``): the expectations of ``suites/streams`` and of ``python -m harness trace``.

A checked range (text ending ``[expect <mode> sms=<N>]``) opens with the ``harness_smid_probe`` kernel on
the bound stream: that kernel tags the stream and context every other kernel of the range must use.
For ``green*`` modes the context must be a green context, holding exactly N SMs where the trace says.

A range whose case id ends ``-control=<kind>`` is a deliberately wrong run (``harness.vocab.Control``): it is as
expected only when its verdict names the problem its kind causes (``CONTROL_PROBLEMS``); a control flagged for another
reason alone, or not flagged, is a FAIL. ``side_capture`` is the escape seen on an H200 (torch 2.11, driver 580.159):
a CUDA graph captured on a primary-context side stream and replayed on a green-context stream runs its kernels in the
primary context; the cell must keep showing it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TypedDict

from harness.nvtx_ranges import DOMAIN, EXPECT
from harness.smid import PROBE_KERNEL
from harness.trace.model import Context, Kernel, Range, Trace, attribute
from harness.vocab import GREEN_STREAM_KINDS, Control

OFF_STREAM = "off the bound stream"
OUTSIDE_CONTEXT = "outside the bound context"
CLAIMS_MORE_SMS = "the range claims"
# The problem each deliberate fault must make the verdict name (suites/streams runs each one).
CONTROL_PROBLEMS: dict[Control, str] = {
    "side_stream": OFF_STREAM,  # the model's kernels on a stream of their own
    "default_stream": OFF_STREAM,  # on the legacy default stream
    "fewer_sms": CLAIMS_MORE_SMS,  # a green context of half the SMs the range claims
    "side_capture": OUTSIDE_CONTEXT,  # the graph's kernels in the primary context, not the bound green one
}


def verdict_status(control: bool, as_expected: bool) -> str:
    """How a verdict line starts: PASS / FAIL, or for a deliberately wrong run (a negative control) whether its
    check flagged it, as it must."""
    if control:
        return "control flagged (expected)" if as_expected else "FAIL control not flagged (the check cannot fail)"
    return "PASS" if as_expected else "FAIL"


@dataclass(kw_only=True)
class KernelTally:
    """Kernels judged together (a checked range, or every range an expectation selects): how many, on which streams
    and in which contexts, and what broke the rule (empty: it held)."""

    kernels: int
    streams: dict[int, int] = field(default_factory=dict)  # stream id -> kernels
    contexts: dict[int, int] = field(default_factory=dict)  # context id -> kernels
    problems: list[str] = field(default_factory=list)


class Tally(TypedDict):
    kernels: int
    streams: dict[int, int]
    contexts: dict[int, int]


def tally(kernels: list[Kernel]) -> Tally:
    """The ``KernelTally`` fields of a list of kernels, before any problem is found."""
    return {"kernels": len(kernels), "streams": dict(Counter(k.stream_id for k in kernels)),
            "contexts": dict(Counter(k.context_id for k in kernels))}


@dataclass
class RangeVerdict(KernelTally):
    range: str
    mode: str
    claimed_sms: int | None
    tag_stream: int | None = None
    tag_context: int | None = None
    context_sms: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def case_id(self) -> str:
        """The case id in ``<phase> <case id> [expect ...]``."""
        body = EXPECT.sub("", self.range).strip()
        return body.split(" ", 1)[1] if " " in body else body

    @property
    def control_kind(self) -> str:
        """The deliberate fault the case id names (``-control=<kind>``, its last part), "none" for a real cell."""
        _, marker, kind = self.case_id.rpartition("-control=")
        return kind.split("-", 1)[0] if marker else "none"

    @property
    def control(self) -> bool:
        """A deliberately wrong run: its range must fail, naming the problem its kind causes."""
        return self.control_kind != "none"

    @property
    def expected_problem(self) -> str:
        """What a control's verdict must name ("" for a real cell, or a kind without an entry: any problem)."""
        return next((p for kind, p in CONTROL_PROBLEMS.items() if kind == self.control_kind), "")

    @property
    def as_expected(self) -> bool:
        if not self.control:
            return self.ok
        return any(self.expected_problem in p for p in self.problems)

    def line(self) -> str:
        status = verdict_status(self.control, self.as_expected)
        sms = f" sms claimed {self.claimed_sms} / context {self.context_sms}" if self.claimed_sms else ""
        text = (f"{status} {self.range!r}: {self.kernels} kernels, streams {dict(self.streams)}, "
                f"contexts {dict(self.contexts)}{sms}")
        if self.control and not self.as_expected and self.expected_problem:
            text += f"\n    (control {self.control_kind} must be flagged with a problem naming {self.expected_problem!r})"
        return text + "".join(f"\n    - {p}" for p in self.problems)


def _check_range(r: Range, kernels: list[Kernel], contexts: dict[int, Context]) -> RangeVerdict:
    m = EXPECT.search(r.text)
    assert m is not None
    mode, sms = m.group("mode"), int(m.group("sms")) if m.group("sms") else None
    v = RangeVerdict(r.text, mode, sms, **tally(kernels))
    tags = [k for k in kernels if k.name == PROBE_KERNEL]
    if not tags:
        v.problems.append(f"no {PROBE_KERNEL} kernel in the range: the bound stream is unknown")
        return v
    tag = min(tags, key=lambda k: k.start)
    v.tag_stream, v.tag_context = tag.stream_id, tag.context_id
    off_stream = [k for k in kernels if k.stream_id != tag.stream_id]
    if off_stream:
        names = sorted({k.name[:60] for k in off_stream})[:3]
        v.problems.append(f"{len(off_stream)} kernel(s) ran {OFF_STREAM} {tag.stream_id} "
                          f"(streams {sorted({k.stream_id for k in off_stream})}), e.g. {names}")
    off_dev = [k for k in kernels if k.device != tag.device]
    if off_dev:
        v.problems.append(f"{len(off_dev)} kernel(s) ran on another device than the bound stream's {tag.device} "
                          f"(devices {sorted({k.device for k in off_dev})})")
    off_ctx = [k for k in kernels if k.context_id != tag.context_id]
    if off_ctx:
        v.problems.append(f"{len(off_ctx)} kernel(s) ran {OUTSIDE_CONTEXT} {tag.context_id} "
                          f"(contexts {sorted({k.context_id for k in off_ctx})})")
    if mode.startswith(GREEN_STREAM_KINDS):
        ctx = contexts.get(tag.context_id)
        if ctx is None:
            v.problems.append(f"context {tag.context_id} has no context record: cannot tell whether it is green")
        elif not ctx.is_green:
            v.problems.append(f"context {tag.context_id} is not a green context")
        elif ctx.num_sms is not None:
            v.context_sms = ctx.num_sms
            if sms is not None and ctx.num_sms != sms:
                v.problems.append(f"green context {tag.context_id} holds {ctx.num_sms} SMs, {CLAIMS_MORE_SMS} {sms}")
    return v


def verdicts(trace: Trace) -> list[RangeVerdict]:
    """One verdict per checked range of the ``harness`` domain."""
    att = attribute(trace)
    contexts = {c.context_id: c for c in trace.contexts}
    out = []
    for r in trace.ranges:
        if r.domain not in (DOMAIN, "") or not EXPECT.search(r.text):
            continue
        inside = [trace.kernels[i] for i, (tid, t) in att.launch.items() if r.contains(tid, t)]
        out.append(_check_range(r, sorted(inside, key=lambda k: k.start), contexts))
    return out


def render(trace: Trace, vs: list[RangeVerdict]) -> str:
    att = attribute(trace)
    head = (f"{trace.source} trace: {len(trace.kernels)} kernels, {len(trace.ranges)} ranges, "
            f"{len(trace.contexts)} contexts; {att.unlinked} kernels without an API call; "
            f"{sum(r is None for r in att.innermost.values())} kernels outside any range")
    body = [v.line() for v in vs] or ["no checked range ([expect ...]) in this trace"]
    return "\n".join([head, *body])
