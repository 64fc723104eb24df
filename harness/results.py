"""Results store: one append-only JSON-lines file per run, every line self-checking.

Line format (schema version 1)::

    {"v": 1, "type": "meta" | "record" | "cell" | "finding", "crc": "<crc32 of data>", "data": {...}}

* ``meta``: run metadata (machine, GPU, package versions, git commit, time, probe, run config); first line.
* ``record``: one (case, metric) value with its unit and, for latencies, the raw samples.
* ``cell``: one test cell's outcome (passed / failed / skipped) with the precise reason.
* ``finding``: a fact a reader must see (a silently dropped kwarg, an oracle mismatch), with its source.

Writers append whole lines with one ``write(2)`` under ``FileLock(path + ".lock")`` (several pytest
workers may share a file). Readers verify every line's CRC: a torn line (a writer killed mid-line, a
full disk) is never returned as a record; it is counted in ``Results.torn``.
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsError, SchemaVersionError

SCHEMA_VERSION = 1
LINE_TYPES = ("meta", "record", "cell", "finding")

# version n -> function turning a version-n line's data into version n+1 data. Empty while only v1 exists.
MIGRATIONS: dict[int, Callable[[str, dict[str, Any]], dict[str, Any]]] = {}


def supported_versions() -> set[int]:
    return {SCHEMA_VERSION, *MIGRATIONS}


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _crc(data: dict[str, Any]) -> str:
    return f"{zlib.crc32(_canonical(data).encode()):08x}"


def encode_line(kind: str, data: dict[str, Any]) -> bytes:
    if kind not in LINE_TYPES:
        raise ValueError(f"line type {kind!r} is not one of {LINE_TYPES}")
    line = {"v": SCHEMA_VERSION, "type": kind, "crc": _crc(data), "data": data}
    return (json.dumps(line, separators=(",", ":"), allow_nan=True) + "\n").encode()


def write_atomic(path: Path, payload: bytes | str) -> None:
    """Write a whole file or nothing: temp file in the same folder, fsync, rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = payload.encode() if isinstance(payload, str) else payload
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultsWriter:
    """Appends lines to a results file. Safe across processes; each line lands whole or not at all."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        from filelock import FileLock

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(path) + ".lock", timeout=60)
        self._fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, kind: str, data: dict[str, Any]) -> None:
        line = encode_line(kind, data)
        with self._lock:
            written = os.write(self._fd, line)
            if written != len(line):  # a short write (full disk): the reader will count it as torn
                raise ResultsError(f"short write to {self.path}: {written} of {len(line)} bytes")
            if self._fsync:
                os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Results:
    """A results file as read back: metadata, records, cell outcomes and findings."""

    path: str
    meta: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    torn: int = 0
    lines: int = 0
    meta_lines: int = 0


def _iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ResultsError(
            f"results file {str(path)!r} does not exist. Fix: pass the results.jsonl of a run "
            "(reports/out/latest/results.jsonl after `python -m harness run`)"
        ) from None
    except OSError as exc:
        raise ResultsError(f"results file {str(path)!r} cannot be read: {exc.strerror}. Fix: check the path "
                           "and its permissions") from None
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.strip():
            yield number, line


def read_results(path: Path | str) -> Results:
    """Read and verify a results file. Refuses unknown schema versions; skips and counts torn lines."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.jsonl"
    out = Results(str(p))
    seen_any = False
    for _number, raw in _iter_lines(p):
        out.lines += 1
        try:
            line = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            line = None
        if not isinstance(line, dict) or "v" not in line or "data" not in line:
            if not seen_any and out.lines == 1:
                raise ResultsError(f"{str(p)!r} is not a harness results file (first line has no 'v'/'data'). "
                                   "Fix: pass a results.jsonl written by `python -m harness run`")
            out.torn += 1
            continue
        seen_any = True
        version = line["v"]
        if version not in supported_versions():
            raise SchemaVersionError(str(p), version, supported_versions())
        data = line["data"]
        if not isinstance(data, dict) or line.get("crc") != _crc(data):
            out.torn += 1
            continue
        kind = line.get("type")
        while version != SCHEMA_VERSION:
            data = MIGRATIONS[version](str(kind), data)
            version += 1
        if kind == "meta":
            out.meta.update(data)
            out.meta_lines += 1
        elif kind == "record":
            out.records.append(data)
        elif kind == "cell":
            out.cells.append(data)
        elif kind == "finding":
            out.findings.append(data)
        else:
            out.torn += 1
    if not seen_any:
        raise ResultsError(f"results file {str(p)!r} holds no valid line. Fix: pass the results.jsonl of a "
                           "completed or running job")
    return out


def records_frame(res: Results) -> Any:
    """The records as a pandas DataFrame, one row per (case, metric); samples kept as lists. The first column is
    the run id (rows of several runs stay apart when concatenated); batch is an integer column (empty where a
    record has none)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(res.records)
    frame.insert(0, "run_id", str(res.meta.get("run_id", "")))
    if "batch" in frame.columns:
        frame["batch"] = frame["batch"].astype("Int64")
    return frame


def export(res: Results, fmt: str, out: Path) -> Path:
    frame = records_frame(res).drop(columns=["samples"], errors="ignore")
    if fmt == "csv":
        write_atomic(out, frame.to_csv(index=False))
    elif fmt == "parquet":
        import io

        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        write_atomic(out, buf.getvalue())
    else:
        from harness.errors import UnknownChoiceError

        raise UnknownChoiceError("export format", fmt, ("csv", "parquet"))
    return out
