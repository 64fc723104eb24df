"""Runtime-cache files, for TensorRT-RTX and for inductor's on-disk caches (the verdicts on cache hits:
``harness.expect.cache``).

The file protocol is Torch-TensorRT 2.14's (docs/behaviour.md#runtime-cache): ``load()`` and ``save()`` take
``FileLock(path + ".lock")`` with a 10 s timeout; ``save`` writes ``path + ".tmp"`` and moves it over the
file; zero bytes leave the old file untouched; a missing file loads as nothing. A file the library cannot
deserialize is a cold start, reported as such, never a crash. The lock prevents torn files, not lost
updates: two processes that load, add and save race, and the last writer wins.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.errors import UsageError
from harness.results import write_atomic

LOCK_TIMEOUT_S = 10.0  # W14 runtime/_runtime_cache.py:48: FileLock(path + ".lock")
LoadStatus = Literal["missing", "loaded", "rejected"]


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


def corrupt_in_place(paths: list[Path]) -> int:
    """Overwrite each file with bytes no deserializer accepts (a torn write, a disk error). Returns files hit."""
    for p in paths:
        p.write_bytes(b"\xadcorrupt-cache" + os.urandom(64))
    return len(paths)
