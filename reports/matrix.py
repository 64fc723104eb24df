"""Cell outcomes as the reader thinks of them, and the conformance-matrix heatmaps.

A passed cell whose oracle row says ``raises`` raised the expected error with the expected message (the cell
asserts exactly that), so it shows as "raised as expected". Skip reasons get short keys (S1, S2, ...) shared by
the heatmaps and the legend table.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.results import cell_seconds
from harness.vocab import RTX_VARIANTS
from reports.document import STATES, HeatCell, Heatmap, State, Table

RTX_TEST = "test_rtx_cell"
RTX_BACKENDS = sorted(RTX_VARIANTS)  # the heatmaps' order: torch_trt, then the native trt_rtx


def torch_trt_version(meta: dict[str, Any]) -> str:
    """The Torch-TensorRT release whose oracle rows the run asserted: the installed one, else 2.14."""
    pk = meta.get("packages", {})
    found = next((v for k, v in pk.items() if k.replace("_", "-") in ("torch-tensorrt-rtx", "torch-tensorrt")
                  and v != "not installed"), "2.14")
    return ".".join(str(found).split(".")[:2])


def oracle_outcome(cell: dict[str, Any], version: str) -> str | None:
    """The oracle's expected outcome of a TensorRT-RTX matrix cell, or None when the cell is not one."""
    from harness.errors import HarnessError
    from harness.expect.graphs import Cell, OracleError, expect

    backend = cell.get("variant")
    if RTX_TEST not in str(cell.get("nodeid", "")) or backend not in RTX_BACKENDS:
        return None
    ttrt = backend == "torch_trt"
    rt = str(cell.get("rt", "n/a"))
    if rt == "selected":  # the package chose: C++ wherever libtorchtrt_runtime.so ships (W14 _features.py:50-51)
        rt = "cpp"
    try:
        oc = Cell(str(backend), version if ttrt else "n/a", rt if ttrt else "n/a",
                  str(cell["cg_mode"]), str(cell["cuda_graph_strategy"]), str(cell["kernel_strategy"]), str(cell["shapes"]),
                  str(cell["stream"]), str(cell.get("seg", "n/a")) if ttrt else "n/a", "plain")
        return expect(oc).outcome
    except (HarnessError, OracleError, KeyError):
        return None


def cell_state(cell: dict[str, Any], version: str) -> State:
    outcome = str(cell.get("outcome"))
    if outcome == "passed" and oracle_outcome(cell, version) == "raises":
        return "raised"
    return outcome if outcome in ("passed", "failed", "skipped") else "failed"  # type: ignore[return-value]


def skip_keys(cells: list[dict[str, Any]]) -> dict[str, str]:
    """Skip reason -> key (S1 = the most frequent)."""
    counts = Counter(str(c.get("reason", "")) for c in cells if c.get("outcome") == "skipped")
    return {reason: f"S{i}" for i, (reason, _) in enumerate(counts.most_common(), start=1)}


def skip_legend(cells: list[dict[str, Any]]) -> Table:
    counts = Counter(str(c.get("reason", "")) for c in cells if c.get("outcome") == "skipped")
    keys = skip_keys(cells)
    return Table(("key", "cells", "skip reason"), tuple((keys[r], str(n), r) for r, n in counts.most_common()))


def _row_label(c: dict[str, Any]) -> str:
    label = f"mode={c.get('cg_mode')} cg={c.get('cuda_graph_strategy')}"
    if c.get("variant") == "torch_trt":
        label += f" rt={c.get('rt')} seg={c.get('seg')}"
    return label


def _col_label(c: dict[str, Any]) -> str:
    return f"ks={c.get('kernel_strategy')} {c.get('shapes')} cache={c.get('runtime_cache')}"


def heatmaps(cells: list[dict[str, Any]], meta: dict[str, Any]) -> list[Heatmap]:
    """One heatmap per (backend, model) of the TensorRT-RTX CUDA-graph matrix: rows CUDA-graph mode x
    ``cuda_graph_strategy`` (x runtime x segmentation), columns kernel strategy x shapes x runtime cache."""
    version = torch_trt_version(meta)
    keys = skip_keys(cells)
    matrix = [c for c in cells if RTX_TEST in str(c.get("nodeid", "")) and c.get("variant") in RTX_BACKENDS]
    out = []
    for backend in RTX_BACKENDS:
        for model in sorted({str(c.get("model")) for c in matrix if c.get("variant") == backend}):
            mine = [c for c in matrix if c.get("variant") == backend and c.get("model") == model]
            rows = sorted({_row_label(c) for c in mine})
            cols = sorted({_col_label(c) for c in mine})
            grid = {(_row_label(c), _col_label(c)): c for c in mine}
            body = []
            for r in rows:
                line = []
                for col in cols:
                    c = grid.get((r, col))
                    if c is None:
                        line.append(HeatCell("absent", "", f"{r} {col}: not in this run"))
                        continue
                    state = cell_state(c, version)
                    reason = str(c.get("reason", ""))
                    mark = keys.get(reason, "") if state == "skipped" else ""
                    title = f"{c.get('case_id')}: {STATES[state]}" + (f" ({mark}: {reason})" if reason else "")
                    line.append(HeatCell(state, mark, title))
                body.append((r, tuple(line)))
            counts = Counter(cell_state(c, version) for c in mine)
            caption = (f"{backend} / {model}: {len(mine)} cells — "
                       + ", ".join(f"{n} {STATES[s]}" for s, n in sorted(counts.items())))
            out.append(Heatmap(caption, "CUDA-graph mode x cuda_graph_strategy" + (" x runtime x segmentation"
                               if backend == "torch_trt" else ""), tuple(cols), tuple(body)))
    return out


def suite_of(nodeid: str) -> str:
    return nodeid.split("::")[0].removeprefix("suites/").removesuffix(".py")


def suite_seconds(cells: list[dict[str, Any]]) -> Table:
    """Per suite: cells, summed call and setup seconds, and their total: where a run's time went (with several
    workers the wall clock is shorter than the sum)."""
    per: dict[str, list[float]] = {}
    for c in cells:
        call, setup = cell_seconds(c)
        acc = per.setdefault(suite_of(str(c.get("nodeid", ""))), [0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += call
        acc[2] += setup
    rows = tuple((s, str(int(n)), f"{call:.1f}", f"{setup:.1f}", f"{call + setup:.1f}")
                 for s, (n, call, setup) in sorted(per.items(), key=lambda kv: -(kv[1][1] + kv[1][2])))
    return Table(("suite", "cells", "call (s)", "setup (s)", "total (s)"), rows)


def suite_counts(cells: list[dict[str, Any]], meta: dict[str, Any]) -> Table:
    version = torch_trt_version(meta)
    per: dict[str, Counter[str]] = {}
    for c in cells:
        per.setdefault(suite_of(str(c.get("nodeid", ""))), Counter())[cell_state(c, version)] += 1
    order = ("passed", "raised", "failed", "skipped")
    rows = tuple((s, *(str(n[k]) for k in order), str(sum(n.values()))) for s, n in sorted(per.items()))
    return Table(("suite", *(STATES[k] for k in order), "cells"), rows)
