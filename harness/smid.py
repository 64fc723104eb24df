"""The ``%smid`` probe: a kernel compiled at run time (cuda.core / NVRTC) that records the SM of each block.

Launched on a bound stream with several blocks per SM that each spin for a few microseconds, it shows
which SMs that stream's work can reach: on a green context of N SMs, at most N distinct SMs. Its kernel
name, ``harness_smid_probe``, also tags the bound stream and context in a trace (read by ``harness.expect.confinement``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

PROBE_KERNEL = "harness_smid_probe"
_SOURCE = r"""
extern "C" __global__ void harness_smid_probe(unsigned int* out, long long spin_cycles) {
    unsigned int sm;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
    if (threadIdx.x == 0) out[blockIdx.x] = sm;
    long long t0 = clock64();
    while (clock64() - t0 < spin_cycles) { }
}
"""


@dataclass(frozen=True)
class ProbeResult:
    blocks: int
    sms: tuple[int, ...]  # distinct SM ids seen, sorted

    @property
    def distinct(self) -> int:
        return len(self.sms)


def _core() -> Any:
    try:
        import cuda.core as core

        if hasattr(core, "Program"):
            return core
    except ImportError:
        pass
    import cuda.core.experimental as core_exp

    return core_exp


class _ForeignStream:
    """Hands a raw stream handle to cuda.core through the ``__cuda_stream__`` protocol."""

    def __init__(self, handle: int) -> None:
        self.handle = handle

    def __cuda_stream__(self) -> tuple[int, int]:
        return (0, self.handle)


@cache
def _kernel(device: int, arch: str) -> Any:
    core = _core()
    dev = core.Device(device)
    dev.set_current()
    prog = core.Program(_SOURCE, code_type="c++", options=core.ProgramOptions(arch=arch, name="harness_smid_probe"))
    return prog.compile("cubin").get_kernel(PROBE_KERNEL)


def probe(stream: Any, *, blocks_per_sm: int = 4, spin_cycles: int = 20_000) -> ProbeResult:
    """Launch the probe on ``stream`` (a torch.cuda.Stream), wait, and return the distinct SM ids."""
    import torch

    device = stream.device.index if stream.device.index is not None else torch.cuda.current_device()
    props = torch.cuda.get_device_properties(device)
    kernel = _kernel(device, f"sm_{props.major}{props.minor}")
    core = _core()
    blocks = blocks_per_sm * props.multi_processor_count
    out = torch.full((blocks,), -1, dtype=torch.int32, device=f"cuda:{device}")
    out.record_stream(stream)
    core_stream = core.Device(device).create_stream(_ForeignStream(int(stream.cuda_stream)))
    config = core.LaunchConfig(grid=blocks, block=32)
    stream.wait_stream(torch.cuda.current_stream(device))  # the buffer's fill is ordered before the probe
    core.launch(core_stream, config, kernel, np.uint64(out.data_ptr()), np.int64(spin_cycles))
    stream.synchronize()
    ids = out.cpu().tolist()
    if any(i < 0 for i in ids):
        raise RuntimeError(f"{PROBE_KERNEL}: {sum(i < 0 for i in ids)} of {blocks} blocks wrote nothing")
    return ProbeResult(blocks, tuple(sorted(set(ids))))
