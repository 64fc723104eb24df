"""A trace as data: kernels, API calls, NVTX ranges and contexts, from CUPTI or from an nsys export, and the
attribution of its kernels to NVTX ranges.

Saved as versioned JSON so traces recorded on the GPU host serve as CPU test fixtures. A kernel is linked to its
launching thread and launch time through the API call with the same correlation id; its innermost range is the
latest-starting range of that thread containing the launch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsError, SchemaVersionError
from harness.results import write_atomic

TRACE_SCHEMA = 1


@dataclass(frozen=True)
class Kernel:
    name: str
    start: int
    end: int
    device: int
    context_id: int
    stream_id: int
    correlation_id: int


@dataclass(frozen=True)
class ApiCall:
    """A runtime or driver API call: it links a kernel (by correlation id) to the launching thread."""

    correlation_id: int
    thread_id: int
    start: int
    end: int
    name: str = ""


@dataclass(frozen=True)
class Range:
    """An NVTX range. A push/pop range belongs to its thread; a start/end range (``any_thread``) may end on
    another thread and holds what any thread launched between its start and end."""

    text: str
    domain: str
    thread_id: int
    start: int
    end: int
    any_thread: bool = False

    def contains(self, thread_id: int, t: int) -> bool:
        return (self.any_thread or self.thread_id == thread_id) and self.start <= t <= self.end


@dataclass(frozen=True)
class Context:
    context_id: int
    device: int
    is_green: bool
    num_sms: int | None  # CUPTI reports it; an nsys export does not


@dataclass
class Trace:
    source: str  # "cupti" | "nsys"
    kernels: list[Kernel] = field(default_factory=list)
    api_calls: list[ApiCall] = field(default_factory=list)
    ranges: list[Range] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": TRACE_SCHEMA, "source": self.source, "meta": self.meta,
                "kernels": [asdict(k) for k in self.kernels], "api_calls": [asdict(a) for a in self.api_calls],
                "ranges": [asdict(r) for r in self.ranges], "contexts": [asdict(c) for c in self.contexts]}

    def save(self, path: Path) -> Path:
        write_atomic(path, json.dumps(self.to_dict(), separators=(",", ":")))
        return path

    @classmethod
    def from_dict(cls, d: dict[str, Any], origin: str = "<dict>") -> Trace:
        if d.get("schema") != TRACE_SCHEMA:
            raise SchemaVersionError(origin, d.get("schema"), [TRACE_SCHEMA])
        return cls(d["source"], [Kernel(**k) for k in d["kernels"]], [ApiCall(**a) for a in d["api_calls"]],
                   [Range(**r) for r in d["ranges"]], [Context(**c) for c in d["contexts"]], d.get("meta", {}))

    @classmethod
    def load(cls, path: Path) -> Trace:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ResultsError(f"trace {str(path)!r} cannot be read as JSON ({exc}). Fix: pass a trace saved by the "
                               "harness (*.trace.json) or an nsys SQLite export (*.sqlite)") from None
        return cls.from_dict(data, str(path))


@dataclass
class Attribution:
    innermost: dict[int, Range | None]  # kernel index -> innermost range (None: launched outside any range)
    launch: dict[int, tuple[int, int]]  # kernel index -> (thread id, launch time)
    unlinked: int  # kernels with no API call of the same correlation id


def attribute(trace: Trace) -> Attribution:
    api = {a.correlation_id: a for a in trace.api_calls}
    by_thread: dict[int, list[Range]] = {}
    for r in trace.ranges:
        by_thread.setdefault(r.thread_id, []).append(r)
    innermost: dict[int, Range | None] = {}
    launch: dict[int, tuple[int, int]] = {}
    unlinked = 0
    for i, k in enumerate(trace.kernels):
        call = api.get(k.correlation_id)
        if call is None:
            unlinked += 1
            innermost[i] = None
            continue
        launch[i] = (call.thread_id, call.start)
        hits = [r for r in by_thread.get(call.thread_id, []) if r.start <= call.start <= r.end]
        innermost[i] = max(hits, key=lambda r: r.start) if hits else None
    return Attribution(innermost, launch, unlinked)
