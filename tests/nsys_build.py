"""Builds small nsys SQLite exports for tests: the tables, columns and metadata of a real export (copied from
the fixture recorded with Nsight Systems 2025.3.2), filled with the rows a given program would produce."""

from __future__ import annotations

import gzip
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

REAL_EXPORT = Path(__file__).parent / "fixtures" / "confinement-dynconv.nsys.sqlite.gz"
TABLES = ("StringIds", "NVTX_EVENTS", "CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_RUNTIME",
          "TARGET_INFO_CUDA_CONTEXT_INFO", "META_DATA_EXPORT", "ThreadNames")
PUSH_POP, START_END, DOMAIN_CREATE = 59, 60, 75


def real_schema(tmp: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(CREATE TABLE statements by table, META_DATA_EXPORT rows) of the real export."""
    raw = tmp / "real.sqlite"
    with gzip.open(REAL_EXPORT) as src:
        raw.write_bytes(src.read())
    db = sqlite3.connect(raw)
    ddl = {n: s for n, s in db.execute("SELECT name, sql FROM sqlite_master WHERE type='table'") if n in TABLES}
    meta = list(db.execute("SELECT name, value FROM META_DATA_EXPORT"))
    db.close()
    raw.unlink()
    return ddl, meta


@dataclass
class Program:
    """What a profiled program did: NVTX ranges, kernel launches (by thread and time) and CUDA contexts."""

    strings: dict[int, str] = field(default_factory=dict)
    nvtx: list[dict[str, object]] = field(default_factory=list)
    launches: list[dict[str, object]] = field(default_factory=list)
    contexts: list[tuple[int, bool]] = field(default_factory=list)  # (context id, green)

    def string(self, text: str) -> int:
        sid = 10_000 + len(self.strings)
        self.strings[sid] = text
        return sid

    def domain(self, domain_id: int, name: str, tid: int) -> None:
        self.nvtx.append({"start": 0, "end": None, "eventType": DOMAIN_CREATE, "text": name, "globalTid": tid,
                          "domainId": domain_id})

    def range(self, text: str, tid: int, start: int, end: int, domain_id: int = 0, registered: bool = False,
              start_end: bool = False) -> None:
        row: dict[str, object] = {"start": start, "end": end, "eventType": START_END if start_end else PUSH_POP,
                                  "globalTid": tid, "domainId": domain_id}
        if registered:
            row["textId"] = self.string(text)
        else:
            row["text"] = text
        self.nvtx.append(row)

    def launch(self, tid: int, t: int, stream: int, context: int = 1, green_context: int | None = None,
               name: str = "kernel") -> None:
        self.launches.append({"tid": tid, "t": t, "stream": stream, "context": context, "green": green_context,
                              "name": name})


def write_export(program: Program, out: Path, tmp: Path) -> Path:
    ddl, meta = real_schema(tmp)
    db = sqlite3.connect(out)
    for sql in ddl.values():
        db.execute(sql)
    db.executemany("INSERT INTO META_DATA_EXPORT VALUES (?, ?)", meta)
    launch_name = program.string("cudaLaunchKernel_v7000")
    for row in program.nvtx:
        cols = ",".join(row)
        db.execute(f"INSERT INTO NVTX_EVENTS ({cols}) VALUES ({','.join('?' * len(row))})", tuple(row.values()))
    for corr, ln in enumerate(program.launches, start=1):
        t, name = int(ln["t"]), program.string(str(ln["name"]))  # type: ignore[call-overload]
        db.execute("INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME (start, end, eventClass, globalTid, correlationId, nameId, "
                   "returnValue) VALUES (?, ?, 1, ?, ?, ?, 0)", (t, t + 5, ln["tid"], corr, launch_name))
        db.execute("INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL (start, end, deviceId, contextId, greenContextId, streamId, "
                   "correlationId, demangledName, shortName, registersPerThread, gridX, gridY, gridZ, blockX, blockY, "
                   "blockZ, staticSharedMemory, dynamicSharedMemory, localMemoryPerThread, localMemoryTotal, gridId) "
                   "VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, 32, 1, 1, 1, 128, 1, 1, 0, 0, 0, 0, ?)",
                   (t + 50, t + 90, ln["context"], ln["green"], ln["stream"], corr, name, name, corr))
    for ctx, green in program.contexts:
        db.execute("INSERT INTO TARGET_INFO_CUDA_CONTEXT_INFO VALUES (?, 0, 0, 42, 0, ?, ?, ?)",
                   (ctx, ctx, 1 if green else None, int(green)))
    db.executemany("INSERT INTO StringIds VALUES (?, ?)", program.strings.items())
    db.commit()
    db.close()
    return out
