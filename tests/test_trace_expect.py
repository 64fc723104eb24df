"""``trace --expect`` on an application's own NVTX ranges, on exports with the real nsys schema: ranges named
inline or registered, in the default or a named domain, nested, on two threads; controls flagged."""

from __future__ import annotations

import dataclasses
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.trace.expect import RULES, check, parse_expectation
from harness.trace.nsys import read_nsys
from tests.nsys_build import Program, write_export

ROOT = Path(__file__).resolve().parents[1]
A, B = 281_000_000_100, 281_000_000_200  # globalTid of the two application threads
PRIMARY, GREEN = 1, 5


def app_program() -> Program:
    """Thread A: ``step 0`` holding ``encoder`` (registered string, domain ``app``, green context, one stream)
    and ``decoder`` (inline, primary context); thread B: its own ``decoder`` range on two streams, launching once
    while A is inside ``encoder``; a start/end range ``prefetch`` opened on A holding a launch of B."""
    p = Program(contexts=[(PRIMARY, False), (GREEN, True)])
    p.domain(7, "app", A)
    p.range("step 0", A, 1_000, 10_000)
    p.range("encoder", A, 1_100, 4_000, domain_id=7, registered=True)
    p.range("decoder", A, 4_100, 9_000, domain_id=7)
    p.range("decoder", B, 1_000, 9_500, domain_id=7)
    p.range("prefetch", A, 5_000, 6_000, start_end=True)
    p.launch(A, 1_200, stream=20, green_context=GREEN, name="enc_conv")
    p.launch(A, 1_300, stream=20, green_context=GREEN, name="enc_gemm")
    p.launch(A, 4_200, stream=7, name="dec_gemm")
    p.launch(A, 4_300, stream=7, name="dec_softmax")
    p.launch(B, 2_000, stream=7, name="dec_b_gemm")  # inside A's encoder time, on another thread
    p.launch(B, 5_500, stream=8, name="copy_b")  # inside prefetch (any thread) and B's decoder
    return p


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("app")
    return write_export(app_program(), tmp / "app.sqlite", tmp)


def _verdicts(path, *texts, controls=()):
    trace = read_nsys(path)
    return {(v.expectation.glob, v.rule, v.expectation.control): v
            for v in check(trace, [parse_expectation(t) for t in texts] + [parse_expectation(c, True) for c in controls])}


def test_reader_keeps_registered_text_domains_and_threads(export):
    trace = read_nsys(export)
    got = sorted((r.text, r.domain, r.thread_id, r.any_thread) for r in trace.ranges)
    assert got == sorted([("step 0", "", A, False), ("encoder", "app", A, False), ("decoder", "app", A, False),
                          ("decoder", "app", B, False), ("prefetch", "", A, True)])
    assert {c.context_id: c.is_green for c in trace.contexts} == {PRIMARY: False, GREEN: True}


def test_encoder_is_green_on_one_stream(export):
    vs = _verdicts(export, "enc*=green,one-stream")
    green, one = vs[("enc*", "green", False)], vs[("enc*", "one-stream", False)]
    assert green.ok and one.ok, (green.line(), one.line())
    assert green.kernels == 2 and green.streams == {20: 2} and green.contexts == {GREEN: 2}  # B's launch is not A's


def test_kernels_are_attributed_by_launching_thread(export):
    """Negative control of attribution: B's launch moved to thread A lands in ``encoder``, which then fails."""
    trace = read_nsys(export)
    corr = next(k.correlation_id for k in trace.kernels if k.name == "dec_b_gemm")
    calls = [dataclasses.replace(c, thread_id=A) if c.correlation_id == corr else c for c in trace.api_calls]
    v = check(dataclasses.replace(trace, api_calls=calls), [parse_expectation("encoder=green")])[0]
    assert not v.ok and v.kernels == 3 and "1 of 3 kernel(s) not in a green context" in v.problems[0]


def test_decoder_ranges_on_both_threads(export):
    vs = _verdicts(export, "decoder=primary", "decoder=one-stream")
    primary, one = vs[("decoder", "primary", False)], vs[("decoder", "one-stream", False)]
    assert primary.ok and primary.ranges == 2 and primary.kernels == 4
    assert not one.ok and len(one.problems) == 1 and f"thread {B}" in one.problems[0] and "2 streams" in one.problems[0]


def test_nested_ranges_hold_their_children_kernels(export):
    vs = _verdicts(export, "step *=green", "step *=primary", "prefetch=one-stream")
    assert not vs[("step *", "green", False)].ok and "2 of 4 kernel(s) not in a green context" in \
        vs[("step *", "green", False)].problems[0]
    assert not vs[("step *", "primary", False)].ok
    prefetch = vs[("prefetch", "one-stream", False)]
    assert prefetch.ok and prefetch.kernels == 1 and prefetch.streams == {8: 1}  # a start/end range holds B's launch


def _cli(path, *args):
    return subprocess.run([sys.executable, "-m", "harness", "trace", str(path), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_cli_pass_fail_and_controls(export):
    ok = _cli(export, "--expect", "encoder=green", "--expect", "encoder=one-stream", "--expect", "decoder=primary",
              "--control", "decoder=green")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("PASS") == 3 and "control flagged (expected) 'decoder'=green" in ok.stdout
    bad = _cli(export, "--expect", "encoder=green", "--expect", "decoder=green")
    assert bad.returncode == 1 and "FAIL 'decoder'=green" in bad.stdout and "dec_gemm" in bad.stdout
    unflagged = _cli(export, "--control", "encoder=green")
    assert unflagged.returncode == 1 and "FAIL control not flagged" in unflagged.stdout


@pytest.mark.parametrize(("expect", "words"), [
    ("nomatch*=green", "matches none of the trace's"),
    ("encoder=blue", "'blue' is not valid"),
    ("encoder", "needs a range glob"),
    ("=green", "needs a range glob"),
    ("encoder=green,primary", "contradict"),
], ids=["no-range", "unknown-rule", "no-rule", "no-glob", "contradiction"])
def test_cli_bad_expectation_exits_2(export, expect, words):
    out = _cli(export, "--expect", expect)
    assert out.returncode == 2 and words in out.stderr and "Fix:" in out.stderr and "Traceback" not in out.stderr


_globs = st.text(alphabet=string.ascii_letters + string.digits + " *?[]_-.=/", min_size=1, max_size=30).filter(
    lambda g: g.strip() != "")


@given(_globs, st.lists(st.sampled_from(RULES), min_size=1, max_size=3))
def test_parse_round_trips(glob, rules):
    if "green" in rules and "primary" in rules:
        with pytest.raises(UsageError, match="contradict"):
            parse_expectation(f"{glob}={','.join(rules)}")
        return
    e = parse_expectation(f"{glob}={','.join(rules)}")
    assert e.glob == glob and e.rules == tuple(dict.fromkeys(rules)) and not e.control


@given(_globs, st.text(min_size=1, max_size=12).filter(lambda r: r not in RULES and "," not in r and "=" not in r))
def test_parse_refuses_unknown_rules(glob, rule):
    with pytest.raises(UsageError, match="rule"):
        parse_expectation(f"{glob}={rule}")


APP_EXPORT = ROOT / "tests" / "fixtures" / "app-green.nsys.sqlite.gz"  # `bash .ci/gpu-nsys-app OUT DEBS`


@pytest.mark.skipif(not APP_EXPORT.exists(), reason=f"{APP_EXPORT.name} not recorded yet: run .ci/gpu-nsys-app on a GPU host")
def test_real_export_of_a_user_program(tmp_path):
    """.ci/nsys_app.py under nsys: ``encoder`` (registered string, domain ``app``) on a green context, ``decoder``
    (inline text, default domain) on the primary context, each on its own thread and stream, nested in ``step <n>``."""
    import gzip

    path = tmp_path / "app.sqlite"
    path.write_bytes(gzip.decompress(APP_EXPORT.read_bytes()))
    trace = read_nsys(path)
    enc = [r for r in trace.ranges if r.text == "encoder"]
    dec = [r for r in trace.ranges if r.text == "decoder"]
    assert len(enc) == len(dec) == 4 and {r.domain for r in enc} == {"app"} and {r.domain for r in dec} == {""}
    assert len({r.thread_id for r in enc + dec}) == 2
    ok = _cli(path, "--expect", "encoder=green,one-stream", "--expect", "decoder=primary,one-stream",
              "--expect", "step *=one-stream", "--control", "decoder=green", "--control", "encoder=primary")
    assert ok.returncode == 0 and ok.stdout.count("PASS") == 5 and ok.stdout.count("control flagged (expected)") == 2, ok.stdout
    bad = _cli(path, "--expect", "encoder=green", "--expect", "decoder=green")
    assert bad.returncode == 1 and "PASS 'encoder'=green" in bad.stdout and "FAIL 'decoder'=green" in bad.stdout
