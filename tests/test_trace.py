"""Attribution and confinement verdicts, on traces recorded on the GPU host (CUPTI and nsys), never
written by hand; the verdict logic's own negative controls mutate a recorded trace."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.children.trace_child import TraceSpec
from harness.errors import ResultsError, SchemaVersionError, UsageError
from harness.expect.confinement import CONTROL_PROBLEMS, RangeVerdict, verdicts
from harness.smid import PROBE_KERNEL
from harness.trace.model import Trace, attribute
from harness.trace.nsys import read_nsys
from harness.vocab import CONTROLS

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cupti() -> Trace:
    return Trace.load(FIXTURES / "confinement-dynconv.trace.json")


@pytest.fixture(scope="module")
def nsys_path(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nsys") / "confinement.sqlite"
    with gzip.open(FIXTURES / "confinement-dynconv.nsys.sqlite.gz") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def by_case(trace):
    return {v.case_id: v for v in verdicts(trace)}


def test_every_kernel_is_linked_to_its_launching_thread(cupti):
    att = attribute(cupti)
    assert att.unlinked == 0 and len(att.launch) == len(cupti.kernels) > 500
    assert cupti.meta["record_errors"] == {} and cupti.meta["unclosed_ranges"] == 0


def test_positive_cells_pass_with_the_granted_sm_count(cupti):
    vs = by_case(cupti)
    cases = cupti.meta["cases"]
    positives = [c for c, a in cases.items() if a["spec"]["control"] == "none" and "capture=side-stream=green" not in c]
    assert len(positives) == 14
    for case in positives:
        v = vs[case]
        assert v.ok, v.line()
        assert v.kernels == 17  # probe + its buffer fill + 5 forwards of conv+bias+relu
        if cases[case]["requested_sms"]:
            assert v.context_sms is not None and v.context_sms >= cases[case]["requested_sms"]
            if cases[case]["granted_sms"] is not None:  # the driver's split result against CUPTI's record
                assert v.context_sms == cases[case]["granted_sms"]
            assert cases[case]["probe_distinct_sms"] == v.context_sms


@pytest.mark.parametrize(("case", "problem"), [
    pytest.param("dynconv-sta-eager-stream=green32-control=side_stream", "outside the bound context", id="side-green"),
    pytest.param("dynconv-sta-eager-stream=caller-control=side_stream", "off the bound stream", id="side-caller"),
    pytest.param("dynconv-sta-eager-stream=green32-control=default_stream", "off the bound stream", id="default-in-green"),
    pytest.param("dynconv-sta-eager-stream=green32-control=fewer_sms", "holds 16 SMs, the range claims 32", id="fewer-sms"),
    pytest.param("dynconv-sta-cudagraph-capture=side-stream=green32", "outside the bound context", id="side-captured-graph"),
])
def test_negative_controls_fail(cupti, case, problem):
    v = by_case(cupti)[case]
    assert not v.ok
    assert any(problem in p for p in v.problems), v.line()


def _mutated(trace, **changes):
    return dataclasses.replace(trace, **changes)


def test_verdict_logic_negative_controls(cupti):
    case = "dynconv-sta-eager-stream=green16"
    good = by_case(cupti)[case]
    assert good.ok
    # a kernel moved to another stream
    rng = next(r for r in cupti.ranges if r.text == good.range)
    launch = attribute(cupti).launch
    victim = next(i for i, k in enumerate(cupti.kernels) if k.name != PROBE_KERNEL and rng.contains(*launch[i]))
    kernels = list(cupti.kernels)
    kernels[victim] = dataclasses.replace(kernels[victim], stream_id=good.tag_stream + 1000)
    assert "off the bound stream" in " ".join(by_case(_mutated(cupti, kernels=kernels))[case].problems)
    # a kernel on another GPU (a worker pinned to the wrong device)
    kernels = list(cupti.kernels)
    kernels[victim] = dataclasses.replace(kernels[victim], device=kernels[victim].device + 1)
    assert "on another device" in " ".join(by_case(_mutated(cupti, kernels=kernels))[case].problems)
    # the context is not green after all
    contexts = [dataclasses.replace(c, is_green=False) if c.context_id == good.tag_context else c for c in cupti.contexts]
    assert "is not a green context" in " ".join(by_case(_mutated(cupti, contexts=contexts))[case].problems)
    # no probe kernel: the bound stream is unknown
    kernels = [k for k in cupti.kernels if not (k.name == PROBE_KERNEL and k.stream_id == good.tag_stream)]
    assert "no harness_smid_probe" in " ".join(by_case(_mutated(cupti, kernels=kernels))[case].problems)


def test_nsys_export_gives_the_same_verdicts(nsys_path):
    trace = read_nsys(nsys_path)
    assert trace.meta["export"]["EXPORT_SCHEMA_VERSION"] == "3.20.3"  # the schema this reader handles
    vs = by_case(trace)
    assert vs["dynconv-sta-eager-stream=green32"].ok
    assert vs["dynconv-sta-cudagraph-stream=caller"].ok
    assert vs["dynconv-sta-cudagraph-stream=caller"].kernels == 7  # probe, fill, 5 graph launches
    side = vs["dynconv-sta-eager-stream=green32-control=side_stream"]
    assert not side.ok and any("outside the bound context" in p for p in side.problems)
    assert not vs["dynconv-sta-eager-stream=green32-control=default_stream"].ok
    assert vs["dynconv-sta-eager-stream=green32"].context_sms is None  # the export has no SM count


def _trace_cli(path):
    return subprocess.run([sys.executable, "-m", "harness", "trace", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_trace_cli_exit_codes(nsys_path, tmp_path):
    out = _trace_cli(nsys_path)  # the two controls are flagged, as they must be: exit 0
    assert out.returncode == 0, out.stdout
    assert out.stdout.count("control flagged (expected)") == 2 and out.stdout.count("PASS") == 2 and "FAIL" not in out.stdout
    bad = tmp_path / "x.trace.json"
    bad.write_text("{")
    out = _trace_cli(bad)
    assert out.returncode == 2 and "Fix:" in out.stderr
    out = _trace_cli(tmp_path / "missing.sqlite")
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_unknown_trace_schema_is_refused(cupti, tmp_path):
    d = cupti.to_dict()
    d["schema"] = 7
    with pytest.raises(SchemaVersionError, match="7"):
        Trace.from_dict(d, "t")
    p = tmp_path / "not.sqlite"
    p.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(ResultsError, match="nsys"):
        read_nsys(p)


def test_other_nsys_export_major_is_refused(nsys_path, tmp_path):
    import sqlite3

    other = tmp_path / "v4.sqlite"
    shutil.copy(nsys_path, other)
    db = sqlite3.connect(other)
    db.execute("UPDATE META_DATA_EXPORT SET value = '4' WHERE name = 'EXPORT_SCHEMA_VERSION_MAJOR'")
    db.commit()
    db.close()
    with pytest.raises(SchemaVersionError, match=r"3\.20\.3"):
        read_nsys(other)


def test_a_control_that_passes_fails_the_run(nsys_path):
    """A control whose range shows no problem means the check cannot fail: it is a FAIL, not a success."""
    vs = by_case(read_nsys(nsys_path))
    control = vs["dynconv-sta-eager-stream=green32-control=side_stream"]
    assert control.control and control.as_expected and control.line().startswith("control flagged (expected)")
    passed = dataclasses.replace(control, problems=[])
    assert not passed.as_expected and passed.line().startswith("FAIL control not flagged")
    assert not vs["dynconv-sta-eager-stream=green32"].control


# The side-capture escape cell: the fixture was recorded before its id named its control; the traced child now names it
ESCAPE_RECORDED = "dynconv-sta-cudagraph-capture=side-stream=green32"
ESCAPE = TraceSpec("dynconv", "cudagraph", "static", "green32", "side_capture", extra=(("capture", "side"),)).case_id


def _renamed(trace: Trace, old: str, new: str) -> Trace:
    """The recorded trace with one case named as the current traced child names it: the same kernels, contexts and
    ranges, only the case id in the range texts and in the child's account changes."""
    def rename(text: str) -> str:
        phase, _, rest = text.partition(" ")
        return f"{phase} {new}{rest[len(old):]}" if rest == old or rest.startswith(f"{old} ") else text

    ranges = [dataclasses.replace(r, text=rename(r.text)) for r in trace.ranges]
    cases = {new if k == old else k: v for k, v in trace.meta["cases"].items()}
    cases[new] = {**cases[new], "spec": {**cases[new]["spec"], "control": "side_capture"}}
    return dataclasses.replace(trace, ranges=ranges, meta={**trace.meta, "cases": cases})


def _escape_kernels_moved(trace: Trace, stream: bool) -> Trace:
    """Negative control: the escape cell's kernels ran in the bound (green) context, and with ``stream`` on the bound
    stream too: the escape no longer shows."""
    v = by_case(trace)[ESCAPE]
    rng = next(r for r in trace.ranges if r.text == v.range)
    launch = attribute(trace).launch
    kernels = [dataclasses.replace(k, context_id=v.tag_context, stream_id=v.tag_stream if stream else k.stream_id)
               if rng.contains(*launch[i]) else k for i, k in enumerate(trace.kernels)]
    return dataclasses.replace(trace, kernels=kernels)


@pytest.fixture(scope="module")
def escape_named(cupti) -> Trace:
    return _renamed(cupti, ESCAPE_RECORDED, ESCAPE)


def test_every_control_kind_names_the_problem_it_must_cause():
    assert f"{ESCAPE_RECORDED}-control=side_capture" == ESCAPE
    assert set(CONTROL_PROBLEMS) == set(CONTROLS) - {"none"} and CONTROL_PROBLEMS["side_capture"] == "outside the bound context"


def test_side_capture_escape_is_an_expected_finding(escape_named):
    v = by_case(escape_named)[ESCAPE]
    assert v.control and v.control_kind == "side_capture" and v.as_expected, v.line()
    assert any("outside the bound context" in p for p in v.problems) and v.line().startswith("control flagged (expected)")


def test_side_capture_escape_that_stops_showing_is_flagged(escape_named):
    """Negative controls: the escape cell's kernels inside the bound context. Still off the bound stream, the range has
    a problem, but not the escape: FAIL. On the bound stream as well, the range is clean: FAIL."""
    for stream in (False, True):
        v = by_case(_escape_kernels_moved(escape_named, stream))[ESCAPE]
        assert not any("outside the bound context" in p for p in v.problems) and v.ok == stream, v.line()
        assert not v.as_expected and v.line().startswith("FAIL control not flagged"), v.line()
        assert "must be flagged with a problem naming 'outside the bound context'" in v.line()


def test_a_control_flagged_for_another_problem_only_fails():
    """Each control kind's verdict must name its own problem: a side-stream control whose range only shows a problem
    of another kind is not the fault it was built to show."""
    v = RangeVerdict("replay dynconv-sta-eager-stream=green32-control=side_stream [expect green32 sms=32]", "green32", 32,
                     kernels=17, problems=["green context 12 holds 16 SMs, the range claims 32"])
    assert v.control_kind == "side_stream" and not v.ok and not v.as_expected
    v.problems.append("15 kernel(s) ran off the bound stream 49 (streams [45]), e.g. []")
    assert v.as_expected


def test_trace_cli_exit_codes_with_the_escape_cell(cupti, escape_named, tmp_path):
    """The current id: every control flagged as expected, exit 0. The escape gone: exit 1. The recorded id (no control
    marker, as the cell was named before): the escape prints as a FAIL, exit 1."""
    good = escape_named.save(tmp_path / "named.trace.json")
    out = _trace_cli(good)
    assert out.returncode == 0, out.stdout
    assert out.stdout.count("control flagged (expected)") == 5 and out.stdout.count("\nPASS ") == 14, out.stdout
    assert "FAIL" not in out.stdout and f"control flagged (expected) 'replay {ESCAPE} " in out.stdout
    gone = _escape_kernels_moved(escape_named, stream=False).save(tmp_path / "gone.trace.json")
    out = _trace_cli(gone)
    assert out.returncode == 1 and f"FAIL control not flagged (the check cannot fail) 'replay {ESCAPE} " in out.stdout
    out = _trace_cli(FIXTURES / "confinement-dynconv.trace.json")
    assert out.returncode == 1 and f"FAIL 'replay {ESCAPE_RECORDED} [" in out.stdout


def test_side_capture_control_needs_the_side_capture_build():
    with pytest.raises(UsageError, match=r"capture=side.*Fix:"):
        TraceSpec("dynconv", "eager", "static", "green32", "side_capture")
