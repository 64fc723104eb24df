"""Results store: one append-only JSON-lines file per run, every line self-checking.

Line format (schema version 3)::

    {"v": 3, "type": "meta" | "record" | "cell" | "finding" | "end" | "torn", "crc": "<crc32>", "data": {...}}

* ``meta``: run metadata (machine, GPU, package versions, git commit, time, probe, run config) and
  ``planned_cells``; it opens a section. A file holds one section per run, more when a run was resumed.
* ``record``: one (case, metric) value with its unit and, for latencies, the raw samples.
* ``cell``: one test cell's outcome (passed / failed / skipped) with the precise reason.
* ``finding``: a fact a reader must see (a silently dropped kwarg, an oracle mismatch), with its source.
* ``end``: closes a section: ``status`` ``completed`` or ``interrupted`` (with the reason) and the cell counts.
* ``torn``: written by a writer that found the file ending in a partial line (a writer killed mid-line):
  it terminates that line and says how many bytes it holds, so a reader knows it was torn, not damaged.

The CRC covers ``v``, ``type`` and ``data`` (version 1 lines: ``data`` only; they are still read). Older versions
are read through ``MIGRATIONS``, one step a version: 1 -> 2 changes no data; 2 -> 3 renames the records' and cells'
``strategy`` to ``cuda_graph_strategy`` (the vocabulary's word).
Writers append whole lines with one ``write(2)`` under ``FileLock(path + ".lock")`` (several pytest
workers may share a file). Readers verify every line: a partial last line is torn (a warning,
``Results.torn``); any other line that does not verify is corruption: ``CorruptResultsError`` with the
line number, unless ``salvage=True`` (then it is listed in ``Results.damaged`` and skipped).
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import CorruptResultsError, ResultsError, SchemaVersionError

SCHEMA_VERSION = 3
LINE_TYPES = ("meta", "record", "cell", "finding", "end", "torn")
END_STATUSES = ("completed", "interrupted")
RENAMED_IN_3 = {"strategy": "cuda_graph_strategy"}  # a record's or cell's key -> its name from schema 3 on


def _to_3(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind not in ("record", "cell"):
        return data
    return {RENAMED_IN_3.get(k, k): v for k, v in data.items()}


# version n -> function turning a version-n line's data into version n+1 data.
# Version 1 -> 2 adds the end and torn line types and the CRC over the whole line; data is unchanged.
# Version 2 -> 3 names the CUDA-graph strategy of records and cells ``cuda_graph_strategy`` (was ``strategy``).
MIGRATIONS: dict[int, Callable[[str, dict[str, Any]], dict[str, Any]]] = {1: lambda kind, data: data, 2: _to_3}


def supported_versions() -> set[int]:
    return {SCHEMA_VERSION, *MIGRATIONS}


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _crc(data: dict[str, Any], version: int = 1, kind: str = "") -> str:
    """Version 1: CRC of the data. Version 2 and later: CRC of version, type and data together."""
    body: Any = data if version == 1 else {"v": version, "type": kind, "data": data}
    return f"{zlib.crc32(_canonical(body).encode()):08x}"


def cell_seconds(cell: dict[str, Any]) -> tuple[float, float]:
    """(call, setup) seconds of a cell line: its call, and the passed setup it paid for (``setup_s``, absent before
    the harness recorded it); a value that is not a number counts as no time."""
    def num(v: Any) -> float:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v else 0.0

    return num(cell.get("duration_s")), num(cell.get("setup_s"))


def encode_line(kind: str, data: dict[str, Any], version: int = SCHEMA_VERSION) -> bytes:
    """One results line; ``version``: the schema it is written under (an older one only to make old files)."""
    if kind not in LINE_TYPES:
        raise ValueError(f"line type {kind!r} is not one of {LINE_TYPES}")
    line = {"v": version, "type": kind, "crc": _crc(data, version, kind), "data": data}
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


def _partial_tail(fd: int) -> int:
    """Bytes after the file's last newline (0 when the file is empty or ends with one)."""
    size = os.fstat(fd).st_size
    pos, tail = size, 0
    while pos > 0:
        n = min(1 << 16, pos)
        chunk = os.pread(fd, n, pos - n)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return tail + n - cut - 1
        tail, pos = tail + n, pos - n
    return tail


class ResultsWriter:
    """Appends lines to a results file. Safe across processes; each line lands whole or not at all.

    Under the lock, before each line, a writer that finds a partial line at the end of the file (left by a
    writer killed mid-line) ends it and appends a ``torn`` line naming its size, so the next line stays whole."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        from filelock import FileLock

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(path) + ".lock", timeout=60)
        self._fsync = fsync
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, kind: str, data: dict[str, Any]) -> None:
        line = encode_line(kind, data)
        with self._lock:
            tail = _partial_tail(self._fd)
            if tail:
                line = b"\n" + encode_line("torn", {"bytes": tail}) + line
            written = os.write(self._fd, line)
            if written != len(line):  # a short write (full disk): the reader sees a torn last line
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
class Section:
    """One run (or one resumed part of a run) in a results file: its meta line, cells and end line."""

    meta: dict[str, Any]
    cells: int = 0
    end: dict[str, Any] | None = None

    @property
    def planned(self) -> int | None:
        n = self.meta.get("planned_cells")
        return n if isinstance(n, int) else None


@dataclass
class Results:
    """A results file as read back: metadata, records, cell outcomes, findings and the run's sections."""

    path: str
    meta: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    torn: int = 0
    lines: int = 0
    meta_lines: int = 0
    version: int = SCHEMA_VERSION
    sections: list[Section] = field(default_factory=list)
    damaged: list[tuple[int, str]] = field(default_factory=list)  # (line number, why): only with salvage=True

    @property
    def status(self) -> str:
        """completed | interrupted | incomplete (a section has no end line) | unknown (a version-1 file)."""
        if self.version == 1 and not any(s.end for s in self.sections):
            return "unknown"
        if not self.sections or any(s.end is None for s in self.sections):
            return "incomplete"
        if all(s.end is not None and s.end.get("status") == "completed" for s in self.sections):
            return "completed"
        return "interrupted"

    def incomplete_text(self) -> str | None:
        """``incomplete: N of M cells (why)`` for a run that did not complete; None for a completed one."""
        status = self.status
        if status in ("completed", "unknown"):
            return None
        planned = [s.planned for s in self.sections]
        total = sum(p for p in planned if p is not None) if planned and None not in planned else None
        why = next((f"interrupted: {s.end.get('reason', '?')}" for s in self.sections
                    if s.end is not None and s.end.get("status") != "completed"),
                   "no end record: the run was killed, or is still running")
        return f"incomplete: {len(self.cells)} of {total if total is not None else '?'} cells ({why})"

    def status_lines(self) -> list[str]:
        """What a reader must see before any number: an incomplete run, salvaged damage, a shared machine."""
        lines = [t for t in (self.incomplete_text(),) if t]
        if self.status == "unknown":
            lines.append("completion not recorded (a schema-1 results file has no end line)")
        if self.damaged:
            where = ", ".join(str(n) for n, _ in self.damaged[:20]) + (" ..." if len(self.damaged) > 20 else "")
            lines.append(f"salvaged: {len(self.damaged)} damaged line(s) skipped (line {where}); the numbers below "
                         "are not the whole run")
        shared = [d for s in self.sections for d in (s.meta.get("shared_machine"), (s.end or {}).get("shared_machine")) if d]
        if shared:
            lines.append(f"shared machine: {shared[-1]}")
        return lines


def require_complete(res: Results, allow_incomplete: bool = False) -> Results:
    """Refuse a run that did not complete (its numbers cover only part of the plan), unless allowed."""
    text = res.incomplete_text()
    if text and not allow_incomplete:
        from harness.errors import UsageError

        raise UsageError("results file", res.path, f"is {text}",
                         "use a completed run, or pass --allow-incomplete to use its finished cells anyway")
    return res


def _line_error(path: Path, number: int, why: str) -> CorruptResultsError:
    return CorruptResultsError(str(path), number, why)


def _decode(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """A verified line as a dict, or None and why it does not verify."""
    try:
        line = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, "not valid JSON"
    if not isinstance(line, dict) or not {"v", "type", "crc", "data"} <= line.keys() or not isinstance(line["data"], dict):
        return None, "not a results line (needs v, type, crc and data)"
    version = line["v"]
    if not isinstance(version, int) or isinstance(version, bool):
        return None, f"schema version {version!r} is not an integer"
    if line["crc"] != _crc(line["data"], version, str(line["type"])):
        return None, "CRC mismatch (the line was altered after it was written)"
    return line, ""


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ResultsError(
            f"results file {str(path)!r} does not exist. Fix: pass the results.jsonl of a run "
            "(reports/out/latest/results.jsonl after `python -m harness run`)"
        ) from None
    except OSError as exc:
        raise ResultsError(f"results file {str(path)!r} cannot be read: {exc.strerror}. Fix: check the path "
                           "and its permissions") from None


def read_results(path: Path | str, *, salvage: bool = False) -> Results:
    """Read and verify a results file: refuses unknown schema versions and damaged lines (``salvage``:
    skips and lists them instead); a partial last line is counted in ``torn``."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.jsonl"
    out = Results(str(p))
    raw_lines = _read_bytes(p).split(b"\n")
    last = len(raw_lines)  # the piece after the final newline: empty unless the last write was torn
    pending: tuple[int, bytes, str] | None = None  # a damaged line a following torn line may explain
    first: int | None = None  # the file's schema version: that of its first valid line

    def damage(number: int, why: str) -> None:
        if not salvage:
            raise _line_error(p, number, why)
        out.damaged.append((number, why))

    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        out.lines += 1
        line, why = _decode(raw)
        if line is not None and line["type"] == "torn" and pending is not None \
                and line["data"].get("bytes") == len(pending[1]):
            out.torn += 1  # a writer found this partial line and ended it: torn by a killed writer
            pending = None
            continue
        if pending is not None:
            damage(pending[0], pending[2])
            pending = None
        if line is None:
            if out.lines == 1 and not raw.lstrip().startswith(b'{"v"'):
                raise ResultsError(f"{str(p)!r} is not a harness results file (line 1 is not a results line). "
                                   "Fix: pass a results.jsonl written by `python -m harness run`")
            if number == last:
                out.torn += 1  # the last write was cut short: a writer was interrupted
            else:
                pending = (number, raw, why)
            continue
        version = line["v"]
        if version not in supported_versions():
            raise SchemaVersionError(str(p), version, supported_versions())
        first = version if first is None else first
        if version != first:  # one foreign line is damage; the lines of the file's own version still read
            damage(number, f"schema version {version} in a file of version {first}")
            continue
        kind, data = str(line["type"]), line["data"]
        while version != SCHEMA_VERSION:
            data = MIGRATIONS[version](kind, data)
            version += 1
        out.version = line["v"]
        if kind != "meta" and not out.sections and not salvage:
            raise _line_error(p, number, f"a {kind!r} line before the first meta line")
        _add(out, kind, data, number, damage)
    if pending is not None:
        damage(pending[0], pending[2])
    if not out.sections and not out.records and not out.cells and not out.findings:
        raise ResultsError(f"results file {str(p)!r} holds no valid line. Fix: pass the results.jsonl of a "
                           "completed or running job")
    return out


def _add(out: Results, kind: str, data: dict[str, Any], number: int, damage: Callable[[int, str], None]) -> None:
    if kind == "meta":
        if not out.meta_lines:
            out.meta.update(data)
        out.meta_lines += 1
        out.sections.append(Section(data))
    elif kind == "record":
        out.records.append(data)
    elif kind == "cell":
        out.cells.append(data)
        if out.sections:
            out.sections[-1].cells += 1
    elif kind == "finding":
        out.findings.append(data)
    elif kind == "end":
        if out.sections:
            out.sections[-1].end = data
    elif kind == "torn":
        damage(number, "a torn-line marker with no partial line before it")
    else:
        damage(number, f"unknown line type {kind!r}")


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
