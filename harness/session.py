"""Run lifecycle of one pytest process: probe once, refuse a reused run id, open the results file with its meta line,
share builds across cells, write records, cells and findings, close the section with its end line and point
``latest`` at a completed main job. Rendering the report is ``reports.render_run``, called by the plugin."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata as md
import json
import os
import platform
import subprocess
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.backends.base import Backend, BuildCache, BuildConfig, Built
from harness.backends.registry import make_backend, variant_config
from harness.config import RunConfig
from harness.errors import ResultsError, UsageError
from harness.results import SCHEMA_VERSION, ResultsWriter, read_results, write_atomic

if TYPE_CHECKING:
    from harness.machine import MachineRun
    from harness.probe import EnvReport
    from models import ModelEntry

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "tensorrt_rtx", "torch-tensorrt-rtx", "cuda-bindings",
            "cuda-core", "cupti-python", "nvtx", "pytest", "pytest-benchmark", "filelock", "onnx", "onnxscript")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


class HarnessSession:
    """One per pytest session (per worker). Results are written lazily: a run with no cell writes nothing."""

    def __init__(self, config: RunConfig, *, worker: str = "main", gpu: str = "all") -> None:
        self.config = config
        self.worker = worker
        self.gpu = gpu  # the physical GPU(s) this process sees (CUDA_VISIBLE_DEVICES), "all" when unpinned
        self.builds = BuildCache()
        self._backends: dict[str, Backend] = {}
        self._writer: ResultsWriter | None = None
        self._machine: MachineRun | None = None
        self.cells_written = 0

    @cached_property
    def env(self) -> EnvReport:
        from harness.probe import run_probe

        return run_probe()

    @cached_property
    def proof_level(self) -> str:
        """The level a passing cell reaches on this machine (harness/coverage.py): L2 CPU, L3 Hopper, L4 RTX."""
        from harness.coverage import executed_level

        gpu = self.env.gpu
        return executed_level(gpu.compute_capability if gpu else None)

    @cached_property
    def cache_key(self) -> str:
        """The folder name of this process's runtime caches: the run id, its run folder and the process. Another run
        given the same id (in another output folder) or the resumed part of this one never finds them warm."""
        digest = hashlib.sha256(str(self.config.out_dir.resolve()).encode()).hexdigest()[:8]
        return f"{self.config.run_id}-{digest}-{os.getpid()}"

    @cached_property
    def device(self) -> str:
        if self.config.device != "auto":
            return self.config.device
        return "cuda" if self.env.gpu is not None else "cpu"

    def backend(self, name: str) -> Backend:
        if name not in self._backends:
            self._backends[name] = make_backend(name, self.config.cache_dir)
        return self._backends[name]

    def build_config(self, variant: str, model: str, shapes: str, extra: tuple[tuple[str, str], ...] = ()) -> BuildConfig:
        return variant_config(variant, model, shapes, self.device, extra)

    def build(self, model: ModelEntry, config: BuildConfig) -> Built:
        backend = self.backend(config.backend)
        return self.builds.get(config, lambda: backend.build(model, config))

    # --- results -------------------------------------------------------------------------------------
    def check_run_folder(self) -> None:
        """Refuse a run id whose folder exists (a reused id would merge two runs), unless resuming it."""
        out_dir = self.config.out_dir
        if self.config.resume:
            if not self.config.results_path.is_file():
                raise UsageError("--harness-resume run id", self.config.run_id, f"{str(out_dir)!r} holds no results.jsonl "
                                 "to append to", "pass the id of an existing run, or drop --harness-resume")
            if not self.config.results_path.stat().st_size:
                return  # killed before its first line: nothing to be of another schema
            try:
                version = read_results(self.config.results_path, salvage=True).version
            except ResultsError as exc:
                raise UsageError("--harness-resume run id", self.config.run_id, f"its results.jsonl cannot be read ({exc})",
                                 "start a new run id") from None
            if version != SCHEMA_VERSION:
                raise UsageError("--harness-resume run id", self.config.run_id, f"its results.jsonl is results schema "
                                 f"{version}, and a resumed run appends schema-{SCHEMA_VERSION} lines to it (a file holds "
                                 "one schema)", "start a new run id; the old run still reads, reports and compares as it is")
        elif out_dir.exists() or out_dir.is_symlink():
            raise UsageError("run id", self.config.run_id, f"a run of that id already exists in {str(out_dir)!r}"
                             f"{_started(out_dir)}; a run id is never reused",
                             "pass a new --harness-run-id, or --harness-resume to append a new section to that run")

    def start(self, planned: int | None) -> None:
        """Open the results file with this run's meta line (``planned`` cells). Main process or controller only."""
        if self._writer is not None:
            return
        if not self.config.resume:
            self.config.out_root.mkdir(parents=True, exist_ok=True)
            try:
                self.config.out_dir.mkdir()
            except FileExistsError:  # another run took the id between the check and now
                self.check_run_folder()
                raise
        self._writer = ResultsWriter(self.config.results_path)
        from harness.machine import describe, register

        self._machine = register(self.config.run_id, self.config.out_dir)
        meta = {**self.metadata(), "planned_cells": planned, "resumed": self.config.resume}
        others = self._machine.others() if self._machine else []
        if others:
            meta["shared_machine"] = describe(others)
        self._writer.write("meta", meta)
        for text in self.env.torch_tensorrt.get("findings", []):
            self._writer.write("finding", {"case_id": "probe", "text": text,
                                           "source": "static scan of the installed torch_tensorrt"})
        absent = [k.removeprefix("proposed:") for k, v in self.env.torch_tensorrt.get("apis", {}).items()
                  if k.startswith("proposed:") and not v]
        if absent:
            self._writer.write("finding", {
                "case_id": "probe", "source": "docs/behaviour.md#streams",
                "text": f"external-stream API proposed upstream (pytorch/TensorRT PR #4232, not merged) absent, as "
                        f"expected for every release: {absent}; stream binding is tested through the current stream "
                        "instead"})

    @property
    def writer(self) -> ResultsWriter:
        if self._writer is None:
            if self.worker in ("main", "controller"):
                self.start(None)
            else:  # an xdist worker appends to the file its controller opened
                self._writer = ResultsWriter(self.config.results_path)
        assert self._writer is not None
        return self._writer

    def finish(self, status: str, reason: str) -> None:
        """Close the run's section with its end line; point ``latest`` at it when it completed (main job only)."""
        if self._writer is None or self.worker not in ("main", "controller"):
            return
        from harness.machine import describe

        end: dict[str, Any] = {"status": status, "reason": reason, "cells": self.cells_written,
                               "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        others = self._machine.others() if self._machine else []
        if others:
            end["shared_machine"] = describe(others)
            self._writer.write("finding", {"case_id": "machine", "text": describe(others), "source": "harness.machine"})
        self._writer.write("end", end)
        if self._machine:
            self._machine.close()
        if status == "completed" and self.config.latest:
            self._point_latest()

    def metadata(self) -> dict[str, Any]:
        env = self.env
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.config.run_id,
            "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"host": platform.node(), "platform": platform.platform(), "cpus": os.cpu_count(),
                        "python": platform.python_version()},
            "gpu": env.to_dict()["gpu"],
            "device": self.device,
            "packages": package_versions(),
            "git_commit": _git_commit(),
            "probe": env.to_dict(),
            "config": self.config.to_dict(),
        }

    def _point_latest(self) -> None:
        """Replace ``latest`` in one rename: a reader sees the old run or the new one, never a missing link."""
        latest = self.config.out_root / "latest"
        tmp = self.config.out_root / f".latest.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.config.run_id)
        tmp.replace(latest)
        write_atomic(self.config.out_root / "LATEST", self.config.run_id + "\n")

    def record(self, case_id: str, metric: str, value: float, unit: str, dims: dict[str, Any],
               samples: tuple[float, ...] | None = None, stats: dict[str, float] | None = None) -> None:
        data: dict[str, Any] = {"case_id": case_id, "metric": metric, "value": value, "unit": unit,
                                "worker": self.worker, "gpu": self.gpu, **dims}
        if samples is not None:
            data["samples"] = list(samples)
        if stats is not None:
            data["stats"] = stats
        self.writer.write("record", data)

    def cell(self, case_id: str, nodeid: str, outcome: str, reason: str, dims: dict[str, Any], duration_s: float) -> None:
        self.cells_written += 1
        self.writer.write("cell", {"case_id": case_id, "nodeid": nodeid, "outcome": outcome, "reason": reason,
                                   "duration_s": round(duration_s, 4), "worker": self.worker, **dims})

    def finding(self, case_id: str, text: str, source: str) -> None:
        self.writer.write("finding", {"case_id": case_id, "text": text, "source": source})

    def close(self) -> Path | None:
        if self._machine is not None:
            self._machine.close()
        if self._writer is None:
            return None
        self._writer.close()
        return self.config.results_path


def _started(out_dir: Path) -> str:
    """`` (started <time>)`` from the run's meta line, when it can be read."""
    try:
        with (out_dir / "results.jsonl").open("rb") as f:
            line = json.loads(f.readline())
        return f" (started {line['data']['started_utc']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
