"""Runtime-cache files and the verdicts on cache hits, for TensorRT-RTX and for inductor's on-disk caches.

The file protocol is Torch-TensorRT 2.14's (docs/behaviour.md#runtime-cache): ``load()`` and ``save()`` take
``FileLock(path + ".lock")`` with a 10 s timeout; ``save`` writes ``path + ".tmp"`` and moves it over the
file; zero bytes leave the old file untouched; a missing file loads as nothing. A file the library cannot
deserialize is a cold start, reported as such, never a crash. The lock prevents torn files, not lost
updates: two processes that load, add and save race, and the last writer wins.

No hit counter exists for a TensorRT-RTX runtime cache. The signals (spec): the bytes loaded before the
first forward equal the file; the cache is non-empty after it; it does not grow on a warm start; the first
inference is faster. inductor has counters (``fxgraph_cache_hit`` / ``_miss``), read in fresh processes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.errors import UsageError
from harness.results import write_atomic

LOCK_TIMEOUT_S = 10.0  # W14 runtime/_runtime_cache.py:48: FileLock(path + ".lock")
LoadStatus = Literal["missing", "loaded", "rejected"]
Start = Literal["cold", "warm", "corrupt_cold"]


def torchtrt_user() -> str:
    """The user name Torch-TensorRT puts in its default paths: the password database on Linux, whatever
    ``$USER``/``$LOGNAME`` say (W14 ``dynamo/_defaults.py:83-89``)."""
    if sys.platform.startswith("linux"):
        import pwd

        return pwd.getpwuid(os.getuid())[0]
    import getpass

    return getpass.getuser()


def torchtrt_default_path() -> Path:
    """Torch-TensorRT's per-user default (W14 ``dynamo/_defaults.py:105``: ``RUNTIME_CACHE_PATH``), computed as its
    import does."""
    return Path(tempfile.gettempdir()) / f"torch_tensorrt_{torchtrt_user()}" / "runtime_cache.bin"


def isolated_path(cache_dir: Path, run_id: str, key: str) -> Path:
    """The run's own cache file for one build: never shared with another run or the per-user default."""
    return check_isolated(cache_dir / "runtime_cache" / run_id / f"{key}.bin")


def check_isolated(path: Path) -> Path:
    default = torchtrt_default_path()
    if path.resolve() == default.resolve():
        raise UsageError("runtime cache path", str(path), "must not be Torch-TensorRT's per-user default, which every "
                         "process of the user shares", "pass a path under the run's cache dir (isolated_path)")
    return path


@dataclass(frozen=True)
class CacheLoad:
    status: LoadStatus
    size: int  # bytes in the file (0 when missing)


class CacheFile:
    """One runtime-cache file, read and written with Torch-TensorRT's locking and atomic-replace protocol."""

    def __init__(self, path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s

    def _lock(self) -> Any:
        from filelock import FileLock

        return FileLock(str(self.path) + ".lock", timeout=self.timeout_s)

    def read(self) -> bytes:
        with self._lock():
            return self.path.read_bytes() if self.path.exists() else b""

    def load(self, accept: Any) -> CacheLoad:
        """``accept(bytes) -> bool`` is the library's deserialize; False means corrupt or mismatched."""
        data = self.read()
        if not data:
            return CacheLoad("missing", 0)
        return CacheLoad("loaded" if accept(data) else "rejected", len(data))

    def save(self, data: bytes) -> int:
        """Atomic replace under the lock; zero bytes leave the old file untouched. Returns bytes written."""
        if not data:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            write_atomic(self.path, data)
        return len(data)


# --- verdicts ------------------------------------------------------------------------------------------
# Each takes what a fresh process reported (its "evidence") and returns the problems: empty means the
# start was what the cell expects. The suites feed them deliberately wrong runs to prove they fail.

def inductor_problems(evidence: Mapping[str, Any], expect: Start) -> list[str]:
    """inductor FX-graph cache: cold = misses and no hit; warm = hits and no miss."""
    hits, misses = int(evidence.get("fxgraph_cache_hit", 0)), int(evidence.get("fxgraph_cache_miss", 0))
    seen = f"fxgraph_cache_hit={hits}, fxgraph_cache_miss={misses}"
    if expect == "warm":
        return [] if hits > 0 and misses == 0 else [f"expected a warm start (hits, no miss); counters say {seen}"]
    return [] if misses > 0 and hits == 0 else [f"expected a {expect} start (misses, no hit); counters say {seen}"]


def trt_rtx_problems(evidence: Mapping[str, Any], expect: Start) -> list[str]:
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


def torch_trt_problems(evidence: Mapping[str, Any], expect: Start) -> list[str]:
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


PROBLEMS = {"compile": inductor_problems, "trt_rtx": trt_rtx_problems, "torch_trt": torch_trt_problems}


def cache_problems(backend: str, evidence: Mapping[str, Any], expect: Start) -> list[str]:
    if "error" in evidence:
        return [f"the cache process failed: {evidence['error']}"]
    return PROBLEMS[backend](evidence, expect)


def corrupt_in_place(paths: list[Path]) -> int:
    """Overwrite each file with bytes no deserializer accepts (a torn write, a disk error). Returns files hit."""
    for p in paths:
        p.write_bytes(b"\xadcorrupt-cache" + os.urandom(64))
    return len(paths)
