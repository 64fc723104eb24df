"""In-process tracing with cupti-python: kernel, context, NVTX marker and runtime/driver API records.

Start it before the process touches CUDA, so context records (``is_green_context``,
``num_multiprocessors``) are seen for every context. NVTX ranges reach CUPTI only when
``NVTX_INJECTION64_PATH`` named libcupti before the process started (``harness.children.trace_child`` arranges it).
"""

from __future__ import annotations

import threading
from typing import Any

from harness.trace.model import ApiCall, Context, Kernel, Range, Trace


class CuptiCollector:
    def __init__(self) -> None:
        from cupti import cupti

        self.cupti = cupti
        A = cupti.ActivityKind
        self.kinds = [A.CONCURRENT_KERNEL, A.CONTEXT, A.MARKER, A.RUNTIME, A.DRIVER]
        self.trace = Trace("cupti")
        self._open: dict[int, tuple[str, str, int, int]] = {}  # marker id -> (name, domain, thread, start)
        self._lock = threading.Lock()
        self.dropped = 0
        self.errors: dict[str, int] = {}

    def _requested(self) -> tuple[int, int]:
        return 8 * 1024 * 1024, 0

    def _completed(self, activities: list[Any]) -> None:
        # Runs on CUPTI's thread: an exception here would silently drop the rest of the buffer,
        # so every record is converted on its own and failures are counted and kept for the meta.
        with self._lock:
            for a in activities:
                try:
                    self._convert(a)
                except Exception as exc:
                    key = f"{getattr(a, 'kind', '?')}: {type(exc).__name__}: {exc}"
                    self.errors[key] = self.errors.get(key, 0) + 1

    def _convert(self, a: Any) -> None:
        A = self.cupti.ActivityKind
        kind = a.kind
        if kind in (A.CONCURRENT_KERNEL, A.KERNEL):
            self.trace.kernels.append(Kernel(str(a.name), int(a.start), int(a.end), int(a.device_id),
                                             int(a.context_id), int(a.stream_id), int(a.correlation_id)))
        elif kind in (A.RUNTIME, A.DRIVER):
            self.trace.api_calls.append(ApiCall(int(a.correlation_id), int(a.thread_id), int(a.start),
                                                int(a.end), f"{'rt' if kind == A.RUNTIME else 'drv'}:{a.cbid}"))
        elif kind == A.CONTEXT:
            self.trace.contexts.append(Context(int(a.context_id), int(a.device_id),
                                               bool(getattr(a, "is_green_context", 0)),
                                               int(getattr(a, "num_multiprocessors", 0)) or None))
        elif kind == A.MARKER:
            self._marker(a)


    def _marker(self, a: Any) -> None:
        # A range's start and end records share an id; the end has an empty name. cupti-python 13.0.1 names
        # no MARKER_END flag (its value aliases MARKER_SYNC_ACQUIRE), so an end is a non-start record whose
        # id is open.
        flags = int(a.flags_)
        flag = self.cupti.ActivityFlag
        if flags & int(flag.MARKER_START):
            self._open[int(a.id)] = (str(a.name), str(a.domain or ""), int(a.object_id.pt.thread_id), int(a.timestamp))
        elif not flags & int(flag.MARKER_INSTANTANEOUS):
            opened = self._open.pop(int(a.id), None)
            if opened is None:
                self.dropped += 1
                return
            name, domain, thread, start = opened
            self.trace.ranges.append(Range(name, domain, thread, start, int(a.timestamp)))

    def start(self) -> CuptiCollector:
        self.cupti.activity_register_callbacks(self._requested, self._completed)
        for k in self.kinds:
            self.cupti.activity_enable(k)
        return self

    def stop(self) -> Trace:
        self.cupti.activity_flush_all(1)
        for k in self.kinds:
            self.cupti.activity_disable(k)
        self.cupti.activity_flush_all(1)
        self.trace.meta["unclosed_ranges"] = len(self._open)
        self.trace.meta["unpaired_range_ends"] = self.dropped
        self.trace.meta["record_errors"] = dict(self.errors)
        return self.trace
