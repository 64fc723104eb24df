"""The confinement verdict of each checked range of a trace (kernels attributed to ranges by
``harness.trace.model.attribute``): the expectations of ``suites/streams`` and of ``python -m harness trace``.

A checked range (text ending ``[expect <mode> sms=<N>]``) opens with the ``harness_smid_probe`` kernel on
the bound stream: that kernel tags the stream and context every other kernel of the range must use.
For ``green*`` modes the context must be a green context, holding exactly N SMs where the trace says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harness.nvtx_ranges import DOMAIN, EXPECT
from harness.smid import PROBE_KERNEL
from harness.trace.model import Context, Kernel, Range, Trace, attribute
from harness.vocab import GREEN_STREAM_KINDS


def verdict_status(control: bool, as_expected: bool) -> str:
    """How a verdict line starts: PASS / FAIL, or for a deliberately wrong run (a negative control) whether its
    check flagged it, as it must."""
    if control:
        return "control flagged (expected)" if as_expected else "FAIL control not flagged (the check cannot fail)"
    return "PASS" if as_expected else "FAIL"


@dataclass
class RangeVerdict:
    range: str
    mode: str
    claimed_sms: int | None
    kernels: int
    streams: dict[int, int] = field(default_factory=dict)  # stream id -> kernels
    contexts: dict[int, int] = field(default_factory=dict)  # context id -> kernels
    tag_stream: int | None = None
    tag_context: int | None = None
    context_sms: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def case_id(self) -> str:
        """The case id in ``<phase> <case id> [expect ...]``."""
        body = EXPECT.sub("", self.range).strip()
        return body.split(" ", 1)[1] if " " in body else body

    @property
    def control(self) -> bool:
        """A deliberately wrong run (``-control=<kind>`` in the case id): its range must fail."""
        return "-control=" in self.case_id

    @property
    def as_expected(self) -> bool:
        return self.ok != self.control

    def line(self) -> str:
        status = verdict_status(self.control, self.as_expected)
        sms = f" sms claimed {self.claimed_sms} / context {self.context_sms}" if self.claimed_sms else ""
        text = (f"{status} {self.range!r}: {self.kernels} kernels, streams {dict(self.streams)}, "
                f"contexts {dict(self.contexts)}{sms}")
        return text + "".join(f"\n    - {p}" for p in self.problems)


def _check_range(r: Range, kernels: list[Kernel], contexts: dict[int, Context]) -> RangeVerdict:
    m = EXPECT.search(r.text)
    assert m is not None
    mode, sms = m.group("mode"), int(m.group("sms")) if m.group("sms") else None
    v = RangeVerdict(r.text, mode, sms, len(kernels), dict(Counter(k.stream_id for k in kernels)),
                     dict(Counter(k.context_id for k in kernels)))
    tags = [k for k in kernels if k.name == PROBE_KERNEL]
    if not tags:
        v.problems.append(f"no {PROBE_KERNEL} kernel in the range: the bound stream is unknown")
        return v
    tag = min(tags, key=lambda k: k.start)
    v.tag_stream, v.tag_context = tag.stream_id, tag.context_id
    off_stream = [k for k in kernels if k.stream_id != tag.stream_id]
    if off_stream:
        names = sorted({k.name[:60] for k in off_stream})[:3]
        v.problems.append(f"{len(off_stream)} kernel(s) ran off the bound stream {tag.stream_id} "
                          f"(streams {sorted({k.stream_id for k in off_stream})}), e.g. {names}")
    off_dev = [k for k in kernels if k.device != tag.device]
    if off_dev:
        v.problems.append(f"{len(off_dev)} kernel(s) ran on another device than the bound stream's {tag.device} "
                          f"(devices {sorted({k.device for k in off_dev})})")
    off_ctx = [k for k in kernels if k.context_id != tag.context_id]
    if off_ctx:
        v.problems.append(f"{len(off_ctx)} kernel(s) ran outside the bound context {tag.context_id} "
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
                v.problems.append(f"green context {tag.context_id} holds {ctx.num_sms} SMs, the range claims {sms}")
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
