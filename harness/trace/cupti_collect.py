"""In-process tracing with cupti-python: kernel, context, NVTX marker and runtime/driver API records.

Start it before the process touches CUDA, so context records (``is_green_context``,
``num_multiprocessors``) are seen for every context. NVTX ranges reach CUPTI only when
``NVTX_INJECTION64_PATH`` named libcupti before the process started (``harness.trace.child`` arranges it).
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

    def _requested(self) -> tuple[int, int]:
        return 8 * 1024 * 1024, 0

    def _completed(self, activities: list[Any]) -> None:
        c = self.cupti
        A = c.ActivityKind
        with self._lock:
            for a in activities:
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
        flags = int(a.flags_)
        start_flag = int(self.cupti.ActivityFlag.MARKER_START)
        end_flag = int(self.cupti.ActivityFlag.MARKER_END)
        if flags & start_flag:
            self._open[int(a.id)] = (str(a.name), str(a.domain or ""), int(a.object_id.pt.thread_id), int(a.timestamp))
        elif flags & end_flag:
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
        return self.trace
