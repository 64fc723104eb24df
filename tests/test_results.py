"""Results store: round trip, torn lines from killed writers, concurrent writers, schema refusal, corruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.errors import CorruptResultsError, ResultsError, SchemaVersionError
from harness.results import (
    SCHEMA_VERSION,
    ResultsWriter,
    encode_line,
    export,
    read_results,
    require_complete,
    supported_versions,
    write_atomic,
)


def _write(path, n, payload=10):
    with ResultsWriter(path) as w:
        w.write("meta", {"run_id": "t"})
        for i in range(n):
            w.write("record", {"case_id": f"c{i}", "metric": "latency_ms", "value": float(i), "samples": [0.5] * payload})


def test_round_trip(tmp_path):
    p = tmp_path / "results.jsonl"
    _write(p, 5)
    res = read_results(p)
    assert res.meta == {"run_id": "t"}
    assert res.status == "incomplete" and res.incomplete_text() == "incomplete: 0 of ? cells (no end record: the run " \
        "was killed, or is still running)"
    assert [r["value"] for r in res.records] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert res.torn == 0
    assert read_results(tmp_path).records == res.records  # a run folder works too


def test_truncated_last_line_is_not_a_record(tmp_path):
    p = tmp_path / "results.jsonl"
    _write(p, 3)
    line = encode_line("record", {"case_id": "half", "value": 9.0})
    with open(p, "ab") as f:
        f.write(line[: len(line) // 2])
    res = read_results(p)
    assert [r["case_id"] for r in res.records] == ["c0", "c1", "c2"]
    assert res.torn == 1


def test_bit_flip_in_the_middle_is_corruption_with_its_line_number(tmp_path):
    """A changed digit inside a record is corruption (line 3), not a torn write; --salvage reads the rest."""
    p = tmp_path / "results.jsonl"
    _write(p, 2)
    text = p.read_text().replace('"value":0.0', '"value":7.0')
    p.write_text(text)
    with pytest.raises(CorruptResultsError, match="corrupt at line 2: CRC mismatch") as info:
        read_results(p)
    assert info.value.exit_code == 2 and "--salvage" in str(info.value)
    res = read_results(p, salvage=True)
    assert [r["value"] for r in res.records] == [1.0]  # the altered record is refused, the other kept
    assert res.damaged == [(2, "CRC mismatch (the line was altered after it was written)")] and res.torn == 0
    assert any("salvaged: 1 damaged line(s) skipped (line 2)" in line for line in res.status_lines())


def test_damaged_meta_line_is_corruption(tmp_path):
    p = tmp_path / "results.jsonl"
    _write(p, 1)
    p.write_text(p.read_text().replace('"run_id":"t"', '"run_id":"u"', 1))
    with pytest.raises(CorruptResultsError, match="corrupt at line 1"):
        read_results(p)


def test_edited_schema_version_is_corruption_not_a_silent_drop(tmp_path):
    """An edit of the version that breaks the CRC is reported (exit 2), never skipped as torn."""
    p = tmp_path / "results.jsonl"
    _write(p, 2)
    lines = p.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"\"v\":3", b"\"v\":999")
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(CorruptResultsError, match="line 3"):
        read_results(p)


def test_end_line_closes_the_run(tmp_path):
    p = tmp_path / "results.jsonl"
    with ResultsWriter(p) as w:
        w.write("meta", {"run_id": "e", "planned_cells": 3})
        for i in range(2):
            w.write("cell", {"case_id": f"c{i}", "outcome": "passed"})
    assert read_results(p).incomplete_text() == "incomplete: 2 of 3 cells (no end record: the run was killed, or is still running)"
    with pytest.raises(Exception, match="incomplete: 2 of 3 cells") as info:
        require_complete(read_results(p))
    assert "--allow-incomplete" in str(info.value)
    assert require_complete(read_results(p), allow_incomplete=True).cells
    with ResultsWriter(p) as w:
        w.write("end", {"status": "interrupted", "reason": "SIGINT", "cells": 2})
    assert read_results(p).incomplete_text() == "incomplete: 2 of 3 cells (interrupted: SIGINT)"
    q = tmp_path / "done.jsonl"
    with ResultsWriter(q) as w:
        w.write("meta", {"run_id": "d", "planned_cells": 1})
        w.write("cell", {"case_id": "c", "outcome": "passed"})
        w.write("end", {"status": "completed", "reason": "", "cells": 1})
    done = read_results(q)
    assert done.status == "completed" and done.incomplete_text() is None and done.status_lines() == []


def test_writer_ends_a_torn_line_so_the_next_line_stays_whole(tmp_path):
    """A writer that finds a partial last line ends it and marks it torn: a later append never merges with it."""
    p = tmp_path / "results.jsonl"
    _write(p, 1)
    line = encode_line("record", {"case_id": "half", "value": 9.0})
    with open(p, "ab") as f:
        f.write(line[:20])
    with ResultsWriter(p) as w:
        w.write("record", {"case_id": "after", "value": 1.0})
    res = read_results(p)
    assert [r["case_id"] for r in res.records] == ["c0", "after"] and res.torn == 1


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from harness.results import ResultsWriter
    w = ResultsWriter(Path(sys.argv[1]))
    w.write("meta", {"run_id": "killed"})
    i = 0
    while True:
        w.write("record", {"case_id": f"c{i}", "metric": "m", "value": float(i), "samples": [float(i)] * 20000})
        i += 1
""")


def test_killed_writer_leaves_no_torn_record(tmp_path):
    """SIGKILL a writer of ~200 kB lines at 5 moments; every record read back is whole and verified."""
    p = tmp_path / "results.jsonl"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    for delay in (0.3, 0.45, 0.6, 0.75, 0.9):
        proc = subprocess.Popen([sys.executable, str(script), str(p)], env={**os.environ, "PYTHONPATH": str(Path.cwd())})
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    res = read_results(p)  # no corruption error: each torn line was ended and marked by the next writer
    assert len(res.records) > 0
    for r in res.records:
        assert r["samples"] == [r["value"]] * 20000
    assert res.meta_lines + res.torn >= 5 - 1  # each writer's meta line survives (one may be the torn one)
    assert res.torn <= 5  # at most one torn line per kill


CONCURRENT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from harness.results import ResultsWriter
    w = ResultsWriter(Path(sys.argv[1]))
    for i in range(200):
        w.write("record", {"case_id": f"{sys.argv[2]}-{i}", "metric": "m", "value": 1.0, "samples": [1.0] * 2000})
""")


def test_concurrent_writers_interleave_whole_lines(tmp_path):
    p = tmp_path / "results.jsonl"
    with ResultsWriter(p) as w:
        w.write("meta", {"run_id": "c"})
    script = tmp_path / "w.py"
    script.write_text(CONCURRENT)
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    procs = [subprocess.Popen([sys.executable, str(script), str(p), str(k)], env=env) for k in range(4)]
    assert [pr.wait() for pr in procs] == [0, 0, 0, 0]
    res = read_results(p)
    assert res.torn == 0
    assert len(res.records) == 800
    assert len({r["case_id"] for r in res.records}) == 800


def test_unknown_schema_version_is_refused(tmp_path):
    p = tmp_path / "results.jsonl"
    _write(p, 1)
    with open(p, "ab") as f:  # a well-formed line of a later version, not a damaged one
        f.write(encode_line("record", {}, version=99))
    with pytest.raises(SchemaVersionError) as info:
        read_results(p)
    msg = str(info.value)
    assert "99" in msg and str(sorted(supported_versions())) in msg and "Fix:" in msg


def test_version_1_file_still_reads(tmp_path):
    """Files written before the end line existed: read, their completion stated as not recorded."""
    p = tmp_path / "results.jsonl"
    rows = (("meta", {"run_id": "old"}), ("record", {"case_id": "c", "value": 1.0}))
    p.write_bytes(b"".join(encode_line(kind, data, version=1) for kind, data in rows))
    res = read_results(p)
    assert res.version == 1 and res.records == [{"case_id": "c", "value": 1.0}] and res.status == "unknown"
    assert res.status_lines() == ["completion not recorded (a schema-1 results file has no end line)"]


def test_version_2_file_reads_with_the_strategy_under_its_vocabulary_name(tmp_path):
    """Schema 2 named a record's and a cell's CUDA-graph strategy ``strategy``; read today it is
    ``cuda_graph_strategy``, other keys and other line types untouched."""
    p = tmp_path / "results.jsonl"
    rows = (("meta", {"run_id": "v2", "strategy": "meta keeps its keys"}),
            ("record", {"case_id": "c", "value": 1.0, "strategy": "whole_graph_capture", "kernel_strategy": "eager"}),
            ("cell", {"case_id": "c", "nodeid": "t", "outcome": "passed", "strategy": "disabled"}),
            ("end", {"status": "completed", "reason": "", "cells": 1}))
    p.write_bytes(b"".join(encode_line(k, d, version=2) for k, d in rows))
    res = read_results(p)
    assert res.version == 2 and res.status == "completed" and SCHEMA_VERSION == 3
    assert res.records == [{"case_id": "c", "value": 1.0, "cuda_graph_strategy": "whole_graph_capture",
                            "kernel_strategy": "eager"}]
    assert res.cells[0]["cuda_graph_strategy"] == "disabled" and "strategy" not in res.cells[0]
    assert res.meta["strategy"] == "meta keeps its keys"


def test_a_line_of_another_schema_is_damage_and_the_files_own_lines_still_read(tmp_path):
    """A v2 line appended to a v3 file (an older harness resuming it): that line is damage, named by its line
    number, and the v3 lines after it still read."""
    p = tmp_path / "results.jsonl"
    rows = ((3, "meta", {"run_id": "r"}), (2, "cell", {"case_id": "old", "nodeid": "t1", "outcome": "passed"}),
            (3, "cell", {"case_id": "new", "nodeid": "t2", "outcome": "passed"}),
            (3, "end", {"status": "completed", "reason": "", "cells": 1}))
    p.write_bytes(b"".join(encode_line(k, d, version=v) for v, k, d in rows))
    with pytest.raises(CorruptResultsError, match="line 2"):
        read_results(p)
    res = read_results(p, salvage=True)
    assert [c["case_id"] for c in res.cells] == ["new"] and res.status == "completed"
    assert res.damaged == [(2, "schema version 2 in a file of version 3")]


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "does not exist"),
    (b"hello world\n", "not a harness results file"),
    (b"", "holds no valid line"),
], ids=["missing", "not-results", "empty"])
def test_unreadable_results_errors(tmp_path, content, fragment):
    p = tmp_path / "results.jsonl"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ResultsError, match=fragment) as info:
        read_results(p)
    assert "Fix:" in str(info.value)


def test_write_atomic_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    write_atomic(target, "old")

    def boom(fd):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temp file left behind


def test_export_csv_and_parquet(tmp_path):
    p = tmp_path / "results.jsonl"
    with ResultsWriter(p) as w:
        w.write("meta", {"run_id": "t"})
        for i in range(3):  # the last record has no batch: pandas alone would make the column float
            w.write("record", {"case_id": f"c{i}", "metric": "latency_ms", "value": float(i), "samples": [0.5],
                               **({"batch": 4} if i < 2 else {})})
    res = read_results(p)
    import pandas as pd

    out = export(res, "csv", tmp_path / "r.csv")
    csv = pd.read_csv(out)
    assert list(csv["value"]) == [0.0, 1.0, 2.0]
    assert list(csv.columns[:2]) == ["run_id", "case_id"] and set(csv["run_id"]) == {res.meta["run_id"]}
    assert out.read_text().splitlines()[1].split(",")[list(csv.columns).index("batch")] == "4"  # 4, not 4.0
    pytest.importorskip("pyarrow", reason="Parquet export needs pyarrow: pip install '.[export]'")
    pq = pd.read_parquet(export(res, "parquet", tmp_path / "r.parquet"))
    assert list(pq["case_id"]) == ["c0", "c1", "c2"] and str(pq["batch"].dtype) == "Int64"
