"""Collecting the suites stays cheap: no torch, TensorRT-RTX, Torch-TensorRT or CUPTI import at collection time
(collection then takes well under a second here; importing torch alone takes about two)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "tensorrt_rtx", "torch_tensorrt", "cupti", "cuda.bindings")
SCRIPT = f"""
import json, sys, time, pytest
t0 = time.perf_counter()
code = pytest.main(["suites", "--collect-only", "-q", "-p", "no:cacheprovider"])
print(json.dumps({{"code": int(code), "s": time.perf_counter() - t0, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def test_collection_imports_no_heavy_module():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["code"] == 0, proc.stdout[-2000:]
    assert got["heavy"] == [], f"collection imported {got['heavy']}: keep those imports inside functions"
    print(f"suites collected in {got['s']:.2f} s")
