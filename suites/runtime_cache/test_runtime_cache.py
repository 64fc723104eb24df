"""Runtime caches: cold and warm starts in fresh processes, corrupt files, concurrent savers, isolation.

For each backend the cold process writes the cache and a fresh warm process must hit it: inductor by its
own counters, TensorRT-RTX (native and through Torch-TensorRT) by the signals in docs/behaviour.md ("Runtime
cache": the bytes held before the first forward equal the file read from disk, a non-empty cache after it, no
growth). Each verdict is also applied to a run that did not hit (the cold run itself, a corrupt file), where it
must fail. The concurrent-saver cells exercise the harness's ``CacheFile``, which implements Torch-TensorRT's
file protocol; they report the protocol's behaviour, not the library's own save path.
"""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.expect.cache import cache_problems
from harness.runtime_cache import check_isolated, isolated_path, torchtrt_default_path
from harness.vocab import NOT_A_CELL
from suites.helpers import require_runs

SPEC_CACHE = "docs/behaviour.md#runtime-cache"


def _evidence(harness_case, ev, state: str) -> dict:
    if "unavailable" in ev:
        pytest.skip(ev["unavailable"])
    assert "error" not in ev, f"{state} process: {ev['error']}"
    assert ev["accuracy_ok"], f"{state} process output: {ev['accuracy']}"
    harness_case.record("first_call_ms", ev["first_call_ms"], "ms", start=state, clock="host",
                        process_s=round(ev.get("process_s", 0.0), 2),
                        evidence={k: v for k, v in ev.items() if isinstance(v, int) and not isinstance(v, bool)})
    return ev


def test_cold_then_warm(case, harness_case, cold_runs):
    require_runs(harness_case)
    variant = case.variant
    path, cold = cold_runs.cold(case)
    cold = _evidence(harness_case, cold, "cold")
    assert not cache_problems(variant, cold, "cold"), (SPEC_CACHE, cache_problems(variant, cold, "cold"))
    assert path.exists(), f"the cold process left no cache at {path}"
    warm_path = cold_runs.copy(case, "warm")
    warm = _evidence(harness_case, cold_runs.phase(case, warm_path), "warm")
    problems = cache_problems(variant, warm, "warm")
    assert not problems, (SPEC_CACHE, problems)
    # negative control: the cold run is a cache that was not hit; the warm verdict must say so
    assert cache_problems(variant, cold, "warm"), "the warm verdict passed a run that did not hit the cache"
    speedup = cold["first_call_ms"] / warm["first_call_ms"]
    harness_case.record("warm_speedup", speedup, "x", cold_ms=cold["first_call_ms"], warm_ms=warm["first_call_ms"])


def test_corrupt_cache_is_a_cold_start(case, harness_case, cold_runs):
    """A cache file the library cannot read is a cold start, reported as such, never a crash (docs/behaviour.md
    "Runtime cache": native deserialize returns False; Torch-TensorRT ignores the bytes silently)."""
    from harness.runtime_cache import corrupt_in_place

    require_runs(harness_case)
    path = cold_runs.copy(case, "corrupt")
    entries = ("fxgraph", "aotautograd")  # inductor's cache entries; compiled kernels beside them stay intact
    files = [p for p in path.rglob("*") if p.is_file() and p.relative_to(path).parts[0] in entries] \
        if path.is_dir() else [path]
    assert corrupt_in_place(files) > 0, f"nothing to corrupt under {path}"
    ev = _evidence(harness_case, cold_runs.phase(case, path), "corrupt")
    problems = cache_problems(case.variant, ev, "corrupt_cold")
    assert not problems, (SPEC_CACHE, problems)
    assert cache_problems(case.variant, ev, "warm"), "the warm verdict passed a start from a corrupt cache"
    seen = {k: ev[k] for k in ("fxgraph_cache_hit", "fxgraph_cache_miss", "load_status") if k in ev}
    harness_case.finding(f"{len(files)} corrupt cache file(s): a cold start, no crash ({seen})", SPEC_CACHE)


WRITERS, ROUNDS = 8, 5


def test_concurrent_savers_leave_no_corrupt_file(harness_session, tmp_path):
    """8 processes load, add and save one cache path under the lock: 0 corrupt files; lost updates counted."""
    from harness.children.cache_contend import contend, to_dict

    c = contend(tmp_path / "runtime_cache.bin", WRITERS, ROUNDS, "locked")
    assert not c.errors, c.errors
    assert c.corrupt_files == 0, to_dict(c)
    assert c.final_entries >= 1 and c.lost_updates == c.updates - c.final_entries, to_dict(c)
    dims = {"model": NOT_A_CELL, "variant": NOT_A_CELL, "shapes": NOT_A_CELL, "stream": NOT_A_CELL, "device": "host", **to_dict(c)}
    harness_session.record("concurrent_savers", "lost_updates", float(c.lost_updates), "updates", dims)
    harness_session.finding("concurrent_savers", f"harness CacheFile (Torch-TensorRT's lock + temp + replace protocol, not "
                            f"the library's own save): {WRITERS} processes x {ROUNDS} saves under the file lock: "
                            f"{c.corrupt_files} corrupt files in {c.reads} loads, {c.lost_updates} of {c.updates} "
                            "updates lost (last writer wins)", SPEC_CACHE + ": the lock prevents corruption, not lost updates")


def test_concurrent_savers_negative_control(tmp_path):
    """The same writers without the lock, writing in place: the corruption check must catch torn files."""
    from harness.children.cache_contend import contend, to_dict

    c = contend(tmp_path / "runtime_cache.bin", WRITERS, 2 * ROUNDS, "unlocked")
    assert c.corrupt_files > 0, f"no torn file seen without the lock: the check cannot fail {to_dict(c)}"


def test_default_path_user_is_the_password_database_name(monkeypatch):
    """Torch-TensorRT names the per-user default after the password database on Linux, not $USER (W14
    dynamo/_defaults.py:83-86); a $USER that says otherwise must not move the harness's idea of that path."""
    import getpass
    import os
    import pwd

    real = pwd.getpwuid(os.getuid())[0]
    for var in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, real + "-not-me")
    assert getpass.getuser() == real + "-not-me"  # the call the harness used before would follow $USER
    assert torchtrt_default_path().parent.name == f"torch_tensorrt_{real}"


def test_cache_path_is_isolated(harness_session):
    rc = harness_session.config
    path = isolated_path(rc.cache_dir, harness_session.cache_key, "resnet18-static-trt_rtx")
    assert harness_session.cache_key in path.parts and path.is_relative_to(rc.cache_dir)
    # the same run id in another output folder (two GPU-host runs both named "suites") gets caches of its own:
    # sharing them made a cold process find the other run's inductor cache warm
    import dataclasses

    from harness.session import HarnessSession

    twin = HarnessSession(dataclasses.replace(rc, out_root=rc.out_root / "elsewhere"))
    assert twin.config.run_id == rc.run_id and twin.cache_key != harness_session.cache_key
    assert path.resolve() != torchtrt_default_path().resolve()
    with pytest.raises(UsageError, match="per-user default"):
        check_isolated(torchtrt_default_path())
