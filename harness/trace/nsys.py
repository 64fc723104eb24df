"""Reader for ``nsys profile -t cuda,nvtx`` exported with ``nsys export --type sqlite``.

Handles export schema 3.x, as written by Nsight Systems 2025.3.2 (``META_DATA_EXPORT``:
``EXPORT_SCHEMA_VERSION`` 3.20.3); another major version is refused. The export's metadata is kept in the
trace's meta. Tables read: ``CUPTI_ACTIVITY_KIND_KERNEL`` (contextId, greenContextId, streamId,
correlationId, start, end, deviceId, names in ``StringIds``), ``CUPTI_ACTIVITY_KIND_RUNTIME``
(correlationId, globalTid, start, end), ``NVTX_EVENTS`` (start, end, text or textId, domainId, globalTid)
``TARGET_INFO_CUDA_CONTEXT_INFO`` (contextId, isGreenContext, deviceId), and
``CUPTI_ACTIVITY_KIND_GRAPH_TRACE`` (one row per CUDA-graph launch under the default
``--cuda-graph-trace=graph``). The export carries no SM
count of a green context: that part of a verdict comes from CUPTI or the ``%smid`` probe.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from harness.errors import ResultsError, SchemaVersionError
from harness.trace.model import ApiCall, Context, Kernel, Range, Trace

SUPPORTED_SCHEMA_MAJOR = "3"
NVTX_RANGE_EVENT_TYPES = (59, 60, 70, 71)  # push/pop and start/end ranges (with and without payload)
NVTX_START_END = (60, 71)  # not bound to a thread
NVTX_DOMAIN_CREATE = 75


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def read_nsys(path: Path) -> Trace:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = _tables(db)
    except sqlite3.Error as exc:
        raise ResultsError(f"{str(path)!r} is not an SQLite file ({exc}). Fix: export the report with "
                           "`nsys export --type sqlite`") from None
    need = {"CUPTI_ACTIVITY_KIND_KERNEL", "StringIds"}
    if not need <= tables:
        raise ResultsError(f"{str(path)!r} has no {sorted(need - tables)}: not an nsys export of a CUDA trace. "
                           "Fix: profile with `nsys profile -t cuda,nvtx` and export with `--type sqlite`")
    strings = dict(db.execute("SELECT id, value FROM StringIds"))
    trace = Trace("nsys")
    for meta in ("META_DATA_EXPORT", "EXPORT_META_DATA"):  # 2025.3 writes META_DATA_EXPORT
        if meta in tables:
            trace.meta["export"] = dict(db.execute(f"SELECT name, value FROM {meta}"))
    major = str(trace.meta.get("export", {}).get("EXPORT_SCHEMA_VERSION_MAJOR", SUPPORTED_SCHEMA_MAJOR))
    if major != SUPPORTED_SCHEMA_MAJOR:
        raise SchemaVersionError(str(path), trace.meta["export"].get("EXPORT_SCHEMA_VERSION"), [int(SUPPORTED_SCHEMA_MAJOR)])
    kcols = _columns(db, "CUPTI_ACTIVITY_KIND_KERNEL")
    green = "greenContextId" if "greenContextId" in kcols else "0"
    name_col = "shortName" if "shortName" in kcols else "demangledName"
    green_ids: dict[int, int] = {}
    for name_id, start, end, dev, ctx, gctx, stream, corr in db.execute(
        f"SELECT {name_col}, start, end, deviceId, contextId, {green}, streamId, correlationId "
        "FROM CUPTI_ACTIVITY_KIND_KERNEL ORDER BY start"
    ):
        context = int(gctx) if gctx else int(ctx)
        if gctx:
            green_ids[context] = int(dev)
        trace.kernels.append(Kernel(strings.get(name_id, str(name_id)), start, end, dev, context, stream, corr))
    if "CUPTI_ACTIVITY_KIND_GRAPH_TRACE" in tables:  # --cuda-graph-trace=graph (the default): one row per graph launch
        for start, end, dev, ctx, gctx, stream, corr, graph in db.execute(
            "SELECT start, end, deviceId, contextId, greenContextId, streamId, correlationId, graphId "
            "FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE"
        ):
            context = int(gctx) if gctx else int(ctx)
            trace.kernels.append(Kernel(f"cuda graph {graph}", start, end, dev, context, stream, corr))
    trace.kernels.sort(key=lambda k: k.start)
    for table in ("CUPTI_ACTIVITY_KIND_RUNTIME", "CUPTI_ACTIVITY_KIND_DRIVER"):
        if table in tables:
            for corr, tid, start, end, name_id in db.execute(
                    f"SELECT correlationId, globalTid, start, end, nameId FROM {table}"):
                trace.api_calls.append(ApiCall(corr, tid, start, end, strings.get(name_id, "")))
    if "NVTX_EVENTS" in tables:
        _read_nvtx(db, strings, trace)
    if "TARGET_INFO_CUDA_CONTEXT_INFO" in tables:
        for ctx, dev, is_green in db.execute("SELECT contextId, deviceId, isGreenContext FROM TARGET_INFO_CUDA_CONTEXT_INFO"):
            trace.contexts.append(Context(int(ctx), int(dev), bool(is_green), None))
    known = {c.context_id for c in trace.contexts}
    trace.contexts += [Context(g, d, True, None) for g, d in green_ids.items() if g not in known]
    db.close()
    return trace


def _read_nvtx(db: sqlite3.Connection, strings: dict[int, str], trace: Trace) -> None:
    """Range text is inline (``text``) or a registered string (``textId`` -> ``StringIds``, as the nvtx
    package writes it); a domain's name comes from its NvtxDomainCreate event, the default domain is ""."""
    cols = _columns(db, "NVTX_EVENTS")
    text_id = "textId" if "textId" in cols else "NULL"
    domains = {d: t if t is not None else strings.get(tid, "") for d, t, tid in db.execute(
        f"SELECT domainId, text, {text_id} FROM NVTX_EVENTS WHERE eventType = {NVTX_DOMAIN_CREATE}")}
    types = ",".join(map(str, NVTX_RANGE_EVENT_TYPES))
    for text, tid_text, start, end, domain, tid, kind in db.execute(
        f"SELECT text, {text_id}, start, end, domainId, globalTid, eventType FROM NVTX_EVENTS "
        f"WHERE eventType IN ({types}) AND end IS NOT NULL"
    ):
        body = text if text is not None else strings.get(tid_text, "")
        trace.ranges.append(Range(body or "", domains.get(domain, ""), tid, start, end, kind in NVTX_START_END))
