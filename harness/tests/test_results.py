"""Results store: round trip, torn lines from killed writers, concurrent writers, schema refusal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.errors import ResultsError, SchemaVersionError
from harness.results import SCHEMA_VERSION, ResultsWriter, encode_line, export, read_results, write_atomic


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


def test_bit_flip_is_caught_by_crc(tmp_path):
    p = tmp_path / "results.jsonl"
    _write(p, 2)
    text = p.read_text().replace('"value":1.0', '"value":7.0')
    p.write_text(text)
    res = read_results(p)
    assert [r["value"] for r in res.records] == [0.0]  # the altered record is refused
    assert res.torn == 1


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
    res = read_results(p)
    assert len(res.records) > 0
    for r in res.records:
        assert r["samples"] == [r["value"]] * 20000
    assert res.meta_lines + res.torn >= 5 - 1  # each writer's meta line survives (one may merge with a torn tail)
    assert res.torn <= 5  # at most one torn line per kill
    assert res.lines == len(res.records) + res.meta_lines + res.torn


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
    with open(p, "a") as f:
        f.write(json.dumps({"v": 99, "type": "record", "crc": "0", "data": {}}) + "\n")
    with pytest.raises(SchemaVersionError) as info:
        read_results(p)
    msg = str(info.value)
    assert "99" in msg and str([SCHEMA_VERSION]) in msg and "Fix:" in msg


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
