"""What a TensorRT-RTX matrix cell must show beyond its accuracy, judged from what the library objects report.

Each function takes the cell's oracle row and the runner's own account (``describe()``: strategies read back
from the live ``IRuntimeConfig`` or the module, the wrapper type, capture counts) and returns the problems;
empty means the cell did what its row says. ``tests/test_rtx_checks.py`` feeds each one deliberately wrong
accounts to show it fails. Citations: docs/behaviour.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.expect.graphs import OUTER_CAPTURE_WARN, RTX_OVERRIDE_WARN, Cell, Expect


def warning_problems(exp: Expect, logs: Sequence[str], desc: Mapping[str, str]) -> list[str]:
    """The RTX-native override warning once per engine exactly where the row says so (Python runtime, SUBGRAPH
    + disabled), never elsewhere; the C++ outer-capture warning where the row expects it, never elsewhere."""
    problems = []
    engines = int(desc.get("engines", "1"))
    override = sum(RTX_OVERRIDE_WARN in line for line in logs)
    want = engines if exp.outcome == "warns_override" else 0
    if override != want:
        problems.append(f"override warning logged {override} time(s), expected {want} ({engines} engine(s))")
    outer = sum(OUTER_CAPTURE_WARN in line for line in logs)
    if exp.exc == "log.WARNING" and exp.message == OUTER_CAPTURE_WARN and outer == 0:
        problems.append("the C++ outer-capture warning was not logged")
    if exp.message != OUTER_CAPTURE_WARN and outer:
        problems.append(f"unexpected C++ outer-capture warning ({outer}x)")
    return problems


def _live_strategy(cell: Cell, exp: Expect) -> str:
    """The cuda_graph_strategy the live runtime config must hold after the first forward."""
    if exp.graph == "rtx_native":
        return "whole_graph_capture"  # set by the cell, or merged in by the override
    return "disabled"  # no graph, or an outer capture that forced TensorRT-RTX's own off


def graph_problems(cell: Cell, exp: Expect, desc: Mapping[str, str], batches: Sequence[int]) -> list[str]:
    """Who owns the CUDA graph, from the library's objects: the live strategy, the wrapper, the captures."""
    problems = []

    def want(key: str, value: str) -> None:
        if key not in desc:
            problems.append(f"the runner reports no {key}")
        elif desc[key] != value:
            problems.append(f"{key} is {desc[key]!r}, expected {value!r}")

    if cell.backend == "trt_rtx":
        want("cuda_graph_strategy", _live_strategy(cell, exp))
        want("kernel_strategy", cell.kernel_strategy)
        if exp.graph == "outer_torch":
            want("captures", str(len(set(batches))))
            want("rtx_native", "forced_off" if exp.outcome == "forced_off" else "off")
        return problems
    want("module_cuda_graph_strategy", cell.cuda_graph_strategy)  # the module keeps what was set, override or not
    want("module_kernel_strategy", cell.kernel_strategy)
    if cell.runtime == "python":
        want("live_cuda_graph_strategy", _live_strategy(cell, exp))
        want("live_kernel_strategy", cell.kernel_strategy)
    wrapped = desc.get("module_type") == "CudaGraphsTorchTensorRTModule"
    if wrapped != (exp.graph == "outer_torch"):
        problems.append(f"module type {desc.get('module_type')!r}: an outer whole-graph wrapper is "
                        f"{'expected' if exp.graph == 'outer_torch' else 'not expected'}")
    return problems


def expected_contexts(exp: Expect) -> int:
    """Execution contexts a fresh engine has created after the cell's forwards: none at setup, one at the first
    forward (upstream ``tests/py/dynamo/runtime/test_004_runtime_settings.py:203-224``), the override merged before
    the first context read. Forced off under an outer capture: the context exists (the Python capturability check
    reads it; the C++ wrapper's warm-up ran it) when RTX-native capture is turned off, a settings change that
    recreates it once (W14 ``_CudaGraphsTorchTensorRTModule.py:158-176``; upstream ``core/runtime/TRTEngine.cpp:951-963``,
    ``test_004_runtime_settings.py:251-274``)."""
    return 2 if exp.outcome == "forced_off" else 1


def context_problems(exp: Expect, at_load: Sequence[int], after: Sequence[int]) -> list[str]:
    problems = []
    if any(at_load):
        problems.append(f"contexts created before the first forward: {list(at_load)} (expected 0: created lazily)")
    want = expected_contexts(exp)
    if any(n != want for n in after):
        problems.append(f"contexts per engine {list(after)}: expected {want} each")
    return problems


def kernel_problems(variant: str, desc: Mapping[str, str], expected: str) -> list[str]:
    """The dynamic-shape kernel strategy that took effect, read back: the native adapter's live
    ``IRuntimeConfig``; for Torch-TensorRT the module's settings and, on the Python runtime, the live config (the
    C++ engine exposes no read-back: W14 ``lib/libtorchtrt_runtime.so`` binds only ``update_runtime_settings``)."""
    keys = ("kernel_strategy",) if variant == "trt_rtx" else (
        ("module_kernel_strategy", "live_kernel_strategy") if desc.get("runtime") == "python" else ("module_kernel_strategy",))
    return [f"{k} reads {desc.get(k)!r}, the cell set {expected!r}" for k in keys if desc.get(k) != expected]
