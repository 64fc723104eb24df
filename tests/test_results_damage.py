"""Property tests of the results reader: flip, truncate or insert bytes anywhere in a results file, and nothing
is lost silently. Every record either reads back exactly or the damage is reported (an error, a torn last line,
a salvaged line, or a run marked incomplete)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ResultsError
from harness.results import Results, encode_line, read_results

META = {"run_id": "prop", "planned_cells": 3, "started_utc": "2026-11-22T00:00:00+00:00"}
RECORDS = [{"case_id": f"c{i}", "metric": "latency_ms", "value": 0.1 * (i + 1), "unit": "ms", "samples": [0.1 * i, 0.2]}
           for i in range(4)]
CELLS = [{"case_id": f"c{i}", "nodeid": f"suites/t.py::t[c{i}]", "outcome": "passed", "reason": ""} for i in range(3)]
END = {"status": "completed", "reason": "", "cells": 3}
ORIGINAL = b"".join([encode_line("meta", META), *(encode_line("record", r) for r in RECORDS),
                     *(encode_line("cell", c) for c in CELLS), encode_line("end", END)])
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _exact(res: Results) -> bool:
    return res.meta == META and res.records == RECORDS and res.cells == CELLS and res.status == "completed"


def _reported(res: Results) -> bool:
    return res.torn > 0 or bool(res.damaged) or res.status != "completed"


def _check(path: Path, data: bytes, salvage: bool) -> None:
    path.write_bytes(data)
    try:
        res = read_results(path, salvage=salvage)
    except ResultsError as exc:  # reported: exit 2 with the reason (CorruptResultsError names the line)
        assert exc.exit_code == 2
        return
    assert _exact(res) or _reported(res), (data, res)
    # whatever is returned is an original record, unchanged and in order: damage never alters a value silently
    it = iter(RECORDS)
    assert all(any(r == o for o in it) for r in res.records), res.records
    if not salvage:
        assert not res.damaged


def test_original_reads_back_exactly(tmp_path):
    p = tmp_path / "results.jsonl"
    p.write_bytes(ORIGINAL)
    res = read_results(p)
    assert _exact(res) and not _reported(res)


@pytest.mark.parametrize("salvage", [False, True], ids=["strict", "salvage"])
@PROPS
@given(pos=st.integers(0, len(ORIGINAL) - 1), mask=st.integers(1, 255))
def test_flipped_byte_is_never_silent(tmp_path, salvage, pos, mask):
    data = bytearray(ORIGINAL)
    data[pos] ^= mask
    _check(tmp_path / "results.jsonl", bytes(data), salvage)


@pytest.mark.parametrize("salvage", [False, True], ids=["strict", "salvage"])
@PROPS
@given(cut=st.integers(0, len(ORIGINAL) - 1))
def test_truncated_file_is_never_silent(tmp_path, salvage, cut):
    _check(tmp_path / "results.jsonl", ORIGINAL[:cut], salvage)


@pytest.mark.parametrize("salvage", [False, True], ids=["strict", "salvage"])
@PROPS
@given(pos=st.integers(0, len(ORIGINAL)), extra=st.binary(min_size=1, max_size=40))
def test_inserted_bytes_are_never_silent(tmp_path, salvage, pos, extra):
    _check(tmp_path / "results.jsonl", ORIGINAL[:pos] + extra + ORIGINAL[pos:], salvage)


def test_negative_control_a_reader_that_skips_damage_fails_the_property(tmp_path, monkeypatch):
    """The property check must catch a reader that drops a damaged middle line silently (the old behaviour)."""
    import harness.results as results

    data = bytearray(ORIGINAL)
    data[ORIGINAL.index(b'"c1"') + 2] ^= 0x04  # c1 -> c5 inside record 2: CRC mismatch on line 3
    real = results.read_results

    def skipping(path, salvage=False):  # salvages without saying so
        res = real(path, salvage=True)
        res.damaged = []
        return res

    monkeypatch.setattr(results, "read_results", skipping)
    monkeypatch.setitem(globals(), "read_results", skipping)
    with pytest.raises(AssertionError):
        _check(tmp_path / "results.jsonl", bytes(data), salvage=False)
