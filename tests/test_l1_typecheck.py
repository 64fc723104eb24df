"""L1: mypy checks the adapters against the released Torch-TensorRT-RTX 2.14.0 Python sources and stubs of the
installed tensorrt_rtx. Negative controls: the two adapter defects this level exists for (a context manager used as
the module it wraps; ``bytes | None`` passed to ``int()``) must fail the project's own mypy configuration, and their
corrected forms must pass it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHEEL = ROOT / ".harness-cache/wheels/torch_tensorrt_rtx-2.14.0/torch_tensorrt"
STUBS = ROOT / ".harness-cache/stubs/tensorrt_rtx_bindings"

HEAD = "from __future__ import annotations\nimport torch\n"
CASES = {
    "cm_as_module": (HEAD + "from torch_tensorrt import runtime as rt\n"
                     "def load(m: torch.nn.Module) -> torch.nn.Module:\n    return rt.enable_cudagraphs(m)\n",
                     'Incompatible return value type (got "_CudagraphsContextManager"'),
    "cm_entered": (HEAD + "from torch_tensorrt import runtime as rt\n"
                   "def load(m: torch.nn.Module) -> torch.nn.Module:\n    return rt.enable_cudagraphs(m).__enter__()\n", ""),
    "int_of_optional_bytes": (HEAD + "from torch_tensorrt.runtime._runtime_cache import _RuntimeCacheHandle\n"
                              "def pending(h: _RuntimeCacheHandle) -> int:\n    return int(h._pending_warm_bytes)\n",
                              'Argument 1 to "int" has incompatible type "bytes | None"'),
    "len_of_checked_bytes": (HEAD + "from torch_tensorrt.runtime._runtime_cache import _RuntimeCacheHandle\n"
                             "def pending(h: _RuntimeCacheHandle) -> int:\n    b = h._pending_warm_bytes\n"
                             "    return len(b) if b is not None else 0\n", ""),
    "wrong_tensor_address_type": (HEAD + "import tensorrt_rtx\n"
                                     "def bind(c: tensorrt_rtx.IExecutionContext) -> None:\n"
                                     "    c.set_tensor_address('x', 'not an address')\n",
                                     'Argument 2 to "set_tensor_address" of "IExecutionContext" has incompatible type'),
}


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_mypy_against_the_released_packages(name, tmp_path):
    if not WHEEL.is_dir() or not STUBS.is_dir():
        pytest.skip(f"L1 needs .ci/bootstrap's unpacked 2.14.0 wheel ({WHEEL.is_dir()}) and tensorrt_rtx stubs ({STUBS.is_dir()})")
    code, expected = CASES[name]
    src = tmp_path / f"snippet_{name}.py"
    src.write_text(code)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(src)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if expected:
        assert proc.returncode == 1 and expected in proc.stdout, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
