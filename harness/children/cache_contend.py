"""Concurrent savers of one runtime-cache path: ``contend(path, writers=8)`` starts real processes.

Each writer does what a process with an autosaving runtime cache does, ``rounds`` times: load the file,
keep it in memory for a while (inference), add what it learned (an entry of its own), save. Under
Torch-TensorRT's protocol (``CacheFile``: lock, temp file, atomic replace) no reader ever sees a torn
file, but updates are lost: a writer that loaded before another saved overwrites that save.

The payload is the harness's own (magic, length, JSON entries, CRC32) so that corruption and lost updates
can be counted exactly; TensorRT-RTX's cache bytes are opaque. ``mode="unlocked"`` is the negative
control: no lock and in-place writes in chunks, which readers must catch torn.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.children.cache_child import child_env
from harness.errors import UnknownChoiceError
from harness.runtime_cache import CacheFile

MAGIC = b"HRC1"
MODES = ("locked", "unlocked")
_ENTRY_PAD = 4096  # bytes of filler per entry: files grow to tens of KiB, so a torn write is catchable


class TornFile(ValueError):
    """The bytes are not a whole payload: a torn or foreign write."""


def encode(entries: list[str]) -> bytes:
    body = json.dumps([[e, "x" * _ENTRY_PAD] for e in entries]).encode()
    return MAGIC + struct.pack("<I", len(body)) + body + struct.pack("<I", zlib.crc32(body))


def decode(data: bytes) -> list[str]:
    if len(data) < 12 or data[:4] != MAGIC:
        raise TornFile(f"{len(data)} bytes without the payload header")
    (n,) = struct.unpack("<I", data[4:8])
    body, tail = data[8:8 + n], data[8 + n:]
    if len(body) != n or len(tail) != 4 or struct.unpack("<I", tail)[0] != zlib.crc32(body):
        raise TornFile(f"{len(data)} bytes, length or CRC mismatch")
    return [e for e, _ in json.loads(body)]


@dataclass(frozen=True)
class Contention:
    mode: str
    writers: int
    rounds: int
    updates: int  # saves attempted, each adding one entry
    final_entries: int
    lost_updates: int  # entries some writer saved that the final file does not hold
    reads: int
    torn_reads: int  # loads that saw a torn file
    final_torn: bool
    errors: tuple[str, ...] = ()

    @property
    def corrupt_files(self) -> int:
        return self.torn_reads + int(self.final_torn)


def _write_unlocked(path: Path, data: bytes) -> None:
    with open(path, "r+b" if path.exists() else "wb") as f:  # in place, no temp file, no lock
        half = len(data) // 2
        f.write(data[:half])
        f.flush()
        time.sleep(0.002)
        f.write(data[half:])
        f.truncate()


def _read(path: Path, mode: str) -> bytes:
    if mode == "locked":
        return CacheFile(path).read()
    return path.read_bytes() if path.exists() else b""


def worker(path: Path, wid: int, rounds: int, mode: str, start_at: float) -> dict[str, int]:
    rng = random.Random(wid)
    time.sleep(max(0.0, start_at - time.time()))
    reads = torn = 0
    for r in range(rounds):
        data, reads = _read(path, mode), reads + 1
        try:
            entries = decode(data) if data else []
        except TornFile:
            torn, entries = torn + 1, []  # a cold start, as the library would do
        time.sleep(rng.uniform(0.001, 0.01))  # inference between load and save
        entries.append(f"w{wid}r{r}")
        data = encode(entries)
        if mode == "locked":
            CacheFile(path).save(data)
        else:
            _write_unlocked(path, data)
    return {"reads": reads, "torn": torn}


def contend(path: Path, writers: int = 8, rounds: int = 5, mode: str = "locked", timeout_s: float = 120) -> Contention:
    if mode not in MODES:
        raise UnknownChoiceError("contention mode", mode, MODES)
    path.parent.mkdir(parents=True, exist_ok=True)
    start_at = time.time() + 1.5  # every process imported and waiting before the first load
    env = child_env()
    procs = [subprocess.Popen([sys.executable, "-m", "harness.children.cache_contend", str(path), str(w), str(rounds), mode,
                               repr(start_at)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for w in range(writers)]
    reads = torn = 0
    errors = []
    for p in procs:
        out, err = p.communicate(timeout=timeout_s)
        if p.returncode != 0:
            errors.append(f"writer exit {p.returncode}: {err.strip()[-300:]}")
            continue
        got = json.loads(out.strip().splitlines()[-1])
        reads, torn = reads + got["reads"], torn + got["torn"]
    final_torn, final = False, []
    try:
        final = decode(path.read_bytes())
    except (TornFile, FileNotFoundError):
        final_torn = True
    updates = writers * rounds
    return Contention(mode, writers, rounds, updates, len(final), updates - len(set(final)), reads, torn, final_torn,
                      tuple(errors))


def to_dict(c: Contention) -> dict[str, object]:
    return {**asdict(c), "corrupt_files": c.corrupt_files}


if __name__ == "__main__":
    p, w, n, m, t = sys.argv[1:6]
    print(json.dumps(worker(Path(p), int(w), int(n), m, float(t))))
