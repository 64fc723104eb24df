"""The frozen run configuration, built once in ``pytest_configure`` and kept in ``config.stash``."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import UnknownChoiceError, UsageError
from harness.timing import TimingSpec
from harness.vocab import DEVICE_CHOICES as DEVICE_CHOICES  # re-exported: cli and plugin read it here
from harness.vocab import VARIANTS as ALL_VARIANTS
from models import MODELS

# Backend variants a profile may run: variant name -> (backend name, build options).
VARIANTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "eager": ("eager", ()),
    "cudagraph": ("cudagraph", ()),
    "compile": ("compile", (("compile_mode", "default"),)),
    "compile-ro": ("compile", (("compile_mode", "reduce-overhead"),)),
    "trt_rtx": ("trt_rtx", ()),
    "torch_trt": ("torch_trt", ()),
}


@dataclass(frozen=True)
class Profile:
    """What a named run measures: models, backend variants per device, the timing spec, and in how many
    rounds (each a fresh pytest process, the latency cells only after the first) every case is measured."""

    name: str
    description: str
    models: tuple[str, ...]
    cpu_variants: tuple[str, ...]
    cuda_variants: tuple[str, ...]
    timing: TimingSpec
    rounds: int = 1


_ALL_CUDA = ALL_VARIANTS
PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", "dynconv only, short timing: a smoke run", ("dynconv",),
                     ("eager", "trt_rtx"), ("eager", "cudagraph", "trt_rtx", "torch_trt"),
                     TimingSpec(warmup_s=0.05, min_samples=10, max_time_s=0.3)),
    "default": Profile("default", "both models; on a CPU machine eager baselines and TensorRT-RTX builds",
                       tuple(MODELS), ("eager", "trt_rtx"), _ALL_CUDA,
                       TimingSpec(warmup_s=0.2, min_samples=20, max_time_s=1.5)),
    "full": Profile("full", "both models, every variant (torch.compile on the CPU too), longer timing",
                    tuple(MODELS), ("eager", "compile", "trt_rtx"), _ALL_CUDA,
                    TimingSpec(warmup_s=0.5, min_samples=50, max_time_s=5.0)),
    "nightly": Profile("nightly", "the default profile's cases, each latency case measured in 5 rounds in fresh "
                       "processes: the run-level evidence `compare` decides on", tuple(MODELS), ("eager", "trt_rtx"),
                       _ALL_CUDA, TimingSpec(warmup_s=0.2, min_samples=20, max_time_s=1.5), rounds=5),
}


def parse_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise UnknownChoiceError("profile", name, PROFILES)
    return PROFILES[name]


def parse_list(what: str, text: str, valid: dict[str, Any] | tuple[str, ...]) -> tuple[str, ...]:
    items = tuple(s.strip() for s in text.split(",") if s.strip())
    for item in items:
        if item not in valid:
            raise UnknownChoiceError(what, item, valid, f"pass a comma-separated subset of {sorted(valid)}")
    if not items:
        raise UsageError(what, text, "needs at least one name", f"pass a comma-separated subset of {sorted(valid)}")
    return items


def parse_device(text: str) -> str:
    if text not in DEVICE_CHOICES:
        raise UnknownChoiceError("device", text, DEVICE_CHOICES)
    return text


def check_device_available(device: str) -> None:
    """``cuda`` on a host that shows no GPU is an error, not a run of skipped cells."""
    if device != "cuda":
        return
    from harness.distributed import visible_gpus

    if not visible_gpus():
        raise UsageError("device", device, "this host shows no GPU (CUDA_VISIBLE_DEVICES / nvidia-smi), so every "
                         "cell would skip", "run on a GPU host, or pass device auto or cpu")


RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RESERVED_RUN_IDS = ("latest",)


def check_run_id(text: str) -> str:
    """A run id names a folder under the output root: a plain file name, never ``latest``."""
    if not RUN_ID.match(text) or text.endswith("."):
        raise UsageError("run id", text, "must be a plain file name: 1-128 letters, digits, '.', '_' or '-', starting "
                         "with a letter or digit (no '/', no '..')", "pass e.g. nightly-2026-11-22")
    if text.lower() in RESERVED_RUN_IDS or text.upper() == "LATEST":
        raise UsageError("run id", text, "is reserved: <out>/latest points at the last completed run",
                         "pass another name, e.g. nightly-2026-11-22")
    return text


def check_out_dir(text: str) -> Path:
    path = Path(text).expanduser()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError("output path", text, f"{str(probe)!r} exists and is not a directory",
                         "pass a directory path (it is created if missing)")
    if not os.access(probe, os.W_OK):
        raise UsageError("output path", text, f"{str(probe)!r} is not writable", "pass a writable directory")
    return path


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a run does. Printed in the report header."""

    profile: str
    models: tuple[str, ...]
    variants: tuple[str, ...] | None  # None: the profile's variants for the resolved device
    device: str
    out_root: Path
    run_id: str
    cache_dir: Path
    timing: TimingSpec
    report: bool
    history: Path | None = None
    resume: bool = False  # append a new section to an existing run's results instead of refusing its id
    latest: bool = False  # point <out_root>/latest at this run when it completes (the main job)

    @property
    def out_dir(self) -> Path:
        return self.out_root / self.run_id

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.jsonl"

    def variants_for(self, device: str) -> tuple[str, ...]:
        if self.variants is not None:
            return self.variants
        p = PROFILES[self.profile]
        return p.cuda_variants if device == "cuda" else p.cpu_variants

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_root"], d["cache_dir"] = str(self.out_root), str(self.cache_dir)
        d["history"] = str(self.history) if self.history else None
        return d


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"
