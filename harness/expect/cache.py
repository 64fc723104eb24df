"""Runtime-cache verdicts: was a fresh process's start cold, warm, or a corrupt file dropped (a cold start)?

Each verdict takes what a fresh process reported (its "evidence", written by ``harness.children.cache_child``) and
returns the problems: empty means the start was what the cell expects. The signals and their sources are in
docs/behaviour.md#runtime-cache: no hit counter exists for a TensorRT-RTX runtime cache, so a warm start is the
bytes held before the first forward equal to the file, a non-empty cache after it, and no growth; inductor has
counters (``fxgraph_cache_hit`` / ``_miss``). ``suites/runtime_cache`` feeds each verdict a run that did not hit (the
cold run, a corrupt file), where it must fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.vocab import CacheStart, CacheVariant


def inductor_problems(evidence: Mapping[str, Any], expect: CacheStart) -> list[str]:
    """inductor FX-graph cache: cold = misses and no hit; warm = hits and no miss."""
    hits, misses = int(evidence.get("fxgraph_cache_hit", 0)), int(evidence.get("fxgraph_cache_miss", 0))
    seen = f"fxgraph_cache_hit={hits}, fxgraph_cache_miss={misses}"
    if expect == "warm":
        return [] if hits > 0 and misses == 0 else [f"expected a warm start (hits, no miss); counters say {seen}"]
    return [] if misses > 0 and hits == 0 else [f"expected a {expect} start (misses, no hit); counters say {seen}"]


def trt_rtx_problems(evidence: Mapping[str, Any], expect: CacheStart) -> list[str]:
    """Native TensorRT-RTX runtime cache: warm = the library's cache holds the whole file (its size read from disk
    before the load) right after deserialize, non-empty after the first forward and not grown; cold and
    corrupt_cold = nothing accepted (``deserialize`` said False for the corrupt file)."""
    status, loaded = evidence.get("load_status"), int(evidence.get("loaded_bytes", 0))
    file_size = int(evidence.get("file_bytes", 0))
    after = int(evidence.get("cache_bytes_after", 0))
    want = {"cold": "missing", "warm": "loaded", "corrupt_cold": "rejected"}[expect]
    problems = [] if status == want else [f"expected load status {want!r} for a {expect} start, got {status!r}"]
    if expect == "warm":
        if loaded != file_size or file_size == 0:
            problems.append(f"the cache holds {loaded} bytes after loading; the file holds {file_size}")
        if after == 0:
            problems.append("the runtime cache is empty after the first forward (has_cache() would be False)")
        elif after > file_size:
            problems.append(f"the cache grew on a warm start: {file_size} -> {after} bytes")
    elif after == 0:
        problems.append(f"a {expect} start left an empty runtime cache: nothing would be saved")
    return problems


def torch_trt_problems(evidence: Mapping[str, Any], expect: CacheStart) -> list[str]:
    """Torch-TensorRT's implicit cache (docs/behaviour.md "Runtime cache"): the handle holds the file's bytes
    before the first forward whatever they are (corrupt ones too: the library does not validate them, and
    ignores them silently when it drains them). warm = the whole file held, cache non-empty after the first
    forward and not grown; cold = nothing held; corrupt_cold = the file held, and the live cache after the first
    forward is not the file (the corrupt bytes were dropped and kernels compiled anew)."""
    file_size, held = int(evidence.get("file_bytes", 0)), int(evidence.get("loaded_bytes", 0))
    after = int(evidence.get("cache_bytes_after", 0))
    problems = []
    if expect == "cold" and (file_size or held):
        problems.append(f"a cold start found a {file_size}-byte file and held {held} bytes")
    if expect in ("warm", "corrupt_cold") and (file_size == 0 or held != file_size):
        problems.append(f"the handle held {held} bytes before the first forward; the file holds {file_size}")
    if after == 0:
        problems.append(f"a {expect} start left an empty runtime cache: nothing would be saved")
    if expect == "warm" and after > file_size:
        problems.append(f"the cache grew on a warm start: {file_size} -> {after} bytes")
    if expect == "corrupt_cold" and evidence.get("cache_sha_after") == evidence.get("file_sha"):
        problems.append("the live cache after the first forward is the corrupt file: it was not dropped")
    return problems


PROBLEMS: dict[CacheVariant, Callable[[Mapping[str, Any], CacheStart], list[str]]] = {
    "compile": inductor_problems, "trt_rtx": trt_rtx_problems, "torch_trt": torch_trt_problems}


def cache_problems(backend: CacheVariant, evidence: Mapping[str, Any], expect: CacheStart) -> list[str]:
    if "error" in evidence:
        return [f"the cache process failed: {evidence['error']}"]
    return PROBLEMS[backend](evidence, expect)
