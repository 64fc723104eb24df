"""Child process of the contract suite: imports the released Torch-TensorRT-RTX 2.14 Python layer on a machine
without a GPU and executes its runtime API, writing what it observed as JSON to the path in ``argv[1]``.

Run as a script by ``harness.expect.contract_run`` with the contract environment (the 2.14.0 wheel and the
tensorrt_rtx 1.6 it pins) first on ``PYTHONPATH``. Imports nothing of the harness: only the standard library,
filelock (the lock the library itself takes), torch, torch_tensorrt and tensorrt_rtx.

What is substituted, and nothing else: the two device queries of ``torch.cuda`` that ``import torch_tensorrt``
evaluates at import time and that raise without a driver. ``torch.cuda.get_device_capability`` answers (12, 0)
(``_utils.is_tegra_platform``, W14 ``_utils.py:95``, evaluated at ``dynamo/lowering/passes/_aten_lowering_pass.py:77``)
and ``torch.cuda.current_device`` answers 0 (``dynamo/_defaults.py:111`` through every ``CompilationSettings()``
default argument, ``_Device.py:148`` through ``ts/_compiler.py:18``). They stay in place for the whole child and
every call is counted with its caller. Everything else is real: the parent hides every GPU
(``CUDA_VISIBLE_DEVICES`` empty), ``torch.cuda.is_available()`` is False, ``torch.cuda.get_device_properties`` and
every CUDA runtime call fail as they do on a machine without a GPU.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

SCHEMA = 1
CHECK_NAMES = ("environment", "runtime_selected", "settings", "cudagraphs", "runtime_cache", "deserialize_signature",
               "default_path", "compile", "depth")
SUBSTITUTED_CAPABILITY = (12, 0)
SUBSTITUTED_DEVICE = 0
NOT_A_WORD = "bogus"  # a value no knob accepts: the library must reject it (never a harness.vocab word)
_CALLS: dict[str, dict[str, int]] = {"torch.cuda.current_device": {}, "torch.cuda.get_device_capability": {}}
_REAL = {"torch.cuda.current_device": torch.cuda.current_device,
         "torch.cuda.get_device_capability": torch.cuda.get_device_capability}


def _caller() -> str:
    f = sys._getframe(2)
    return f"{_short(f.f_code.co_filename)}:{f.f_lineno}"


def _short(filename: str) -> str:
    return filename.split("torch_tensorrt/", 1)[1] if "torch_tensorrt/" in filename else Path(filename).name


def _current_device() -> int:
    calls = _CALLS["torch.cuda.current_device"]
    calls[_caller()] = calls.get(_caller(), 0) + 1
    return SUBSTITUTED_DEVICE


def _get_device_capability(device: Any = None) -> tuple[int, int]:
    calls = _CALLS["torch.cuda.get_device_capability"]
    calls[_caller()] = calls.get(_caller(), 0) + 1
    return SUBSTITUTED_CAPABILITY


def substitute_device_queries() -> None:
    torch.cuda.current_device = _current_device
    torch.cuda.get_device_capability = _get_device_capability


def raised(fn: Callable[[], Any]) -> dict[str, Any]:
    """Runs ``fn``; the exception it raised (type, message, innermost torch_tensorrt frame) or None."""
    try:
        fn()
    except Exception as exc:  # the observation is the exception itself
        return {"raised": type(exc).__name__, "message": str(exc), "at": lib_frame(exc)}
    return {"raised": None, "message": "", "at": ""}


def lib_frame(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "torch_tensorrt/" in f.filename]
    return f"{_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# ---------------------------------------------------------------------------------------------- checks


def check_environment(tt: Any) -> dict[str, Any]:
    import tensorrt_rtx

    return {"torch_tensorrt": tt.__version__, "torch_tensorrt_file": tt.__file__,
            "tensorrt_rtx": tensorrt_rtx.__version__, "tensorrt_rtx_file": tensorrt_rtx.__file__,
            "torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
            "substituted": {"torch.cuda.current_device": SUBSTITUTED_DEVICE,
                            "torch.cuda.get_device_capability": list(SUBSTITUTED_CAPABILITY)},
            "calls": {k: dict(v) for k, v in _CALLS.items()}}


def check_runtime_selected(tt: Any) -> dict[str, Any]:
    from torch_tensorrt import _features
    from torch_tensorrt.runtime import RuntimeCache

    lib = Path(_features.__file__).parent / "lib"
    return {"torch_tensorrt_runtime": bool(tt.ENABLED_FEATURES.torch_tensorrt_runtime),
            "tensorrt_rtx": bool(tt.ENABLED_FEATURES.tensorrt_rtx),
            "libtorchtrt_runtime_so": (lib / "libtorchtrt_runtime.so").is_file(),
            "engine_class_registered": _has_torchbind("Engine"),
            "cache_handle_is_cpp": RuntimeCache().is_cpp_runtime()}


def _has_torchbind(name: str) -> bool:
    try:
        getattr(torch.classes.tensorrt, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def check_settings(tt: Any) -> dict[str, Any]:
    from torch_tensorrt.dynamo import _defaults
    from torch_tensorrt.runtime import RuntimeSettings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rs = RuntimeSettings()
    frozen = raised(lambda: setattr(rs, "cuda_graph_strategy", "whole_graph_capture"))
    return {
        "defaults": {"dynamic_shapes_kernel_specialization_strategy": rs.dynamic_shapes_kernel_specialization_strategy,
                     "cuda_graph_strategy": rs.cuda_graph_strategy,
                     "runtime_cache_is_default_path": rs.runtime_cache == _defaults.RUNTIME_CACHE_PATH,
                     "runtime_cache_is_none": rs.runtime_cache is None},
        "construct_warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "invalid_cuda_graph_strategy": raised(lambda: RuntimeSettings(cuda_graph_strategy=NOT_A_WORD)),
        "invalid_kernel_strategy": raised(lambda: RuntimeSettings(dynamic_shapes_kernel_specialization_strategy=NOT_A_WORD)),
        "merge_unknown_key": raised(lambda: rs.merge(bogus=1)),
        "merge_known_key": rs.merge(cuda_graph_strategy="whole_graph_capture").cuda_graph_strategy,
        "merge_leaves_original": rs.cuda_graph_strategy,
        "frozen": {**frozen, "is_frozen_instance_error": frozen["raised"] == dataclasses.FrozenInstanceError.__name__},
        "runtime_config_unknown_key": raised(lambda: tt.runtime.runtime_config(torch.nn.Linear(2, 2), bogus=1)),
    }


def check_cudagraphs(tt: Any, lazy_module: Callable[..., Any]) -> dict[str, Any]:
    rt = tt.runtime

    def modes() -> list[Any]:
        return [rt.get_cudagraphs_mode(), rt.get_whole_cudagraphs_mode(), int(torch.ops.tensorrt.get_cudagraphs_mode())]

    out: dict[str, Any] = {"initial": modes()}
    rt.set_cudagraphs_mode(True)
    out["after_set_true"] = modes()
    rt.set_cudagraphs_mode(False)
    out["after_set_false"] = modes()

    plain = torch.nn.Sequential(torch.nn.ReLU())
    cm = rt.enable_cudagraphs(plain)
    out["enable_returns"] = {"type": type(cm).__name__, "callable": callable(cm),
                             "has_enter": hasattr(cm, "__enter__"), "has_exit": hasattr(cm, "__exit__"),
                             "is_module": isinstance(cm, torch.nn.Module),
                             "call": raised(lambda: cm(torch.zeros(1)))}
    with cm as entered:
        out["no_break_inside"] = {"same_object": entered is plain, "modes": modes()}
    out["no_break_after"] = modes()

    # A graph break: WHOLE_GRAPH mode is set before the wrapper is built; building it needs a CUDA stream.
    cm_break = rt.enable_cudagraphs(_graph_with_break(lazy_module))
    out["break_enter"] = {**raised(cm_break.__enter__), "modes_after": modes()}
    rt.set_cudagraphs_mode(False)

    alloc = _graph_with_break(lazy_module, requires_output_allocator=True)
    out["output_allocator"] = raised(lambda: rt.enable_cudagraphs(alloc).__enter__())
    out["after_output_allocator"] = modes()
    rt.set_cudagraphs_mode(False)

    trt_mod = lazy_module()
    holder = torch.nn.Sequential(trt_mod)
    before = trt_mod.runtime_settings.cuda_graph_strategy
    with rt.enable_cudagraphs(holder, cuda_graph_strategy="whole_graph_capture"):
        inside = trt_mod.runtime_settings.cuda_graph_strategy
    bogus = raised(lambda: rt.enable_cudagraphs(holder, cuda_graph_strategy=NOT_A_WORD).__enter__())
    rt.set_cudagraphs_mode(False)
    out["strategy_kwarg_without_engine"] = {"before": before, "inside": inside, "engine_is_none": trt_mod.engine is None,
                                            "bogus_strategy": bogus}
    return out


def _graph_with_break(lazy_module: Callable[..., Any], requires_output_allocator: bool = False) -> Any:
    """A GraphModule shaped like a partitioned compile result: a TensorRT submodule ``_run_on_acc_0`` (engine not
    set up) followed by a PyTorch submodule ``_run_on_gpu_1``: the names ``get_cuda_graph_module`` counts."""
    root = torch.nn.Module()
    root.add_module("_run_on_acc_0", lazy_module(requires_output_allocator=requires_output_allocator))
    root.add_module("_run_on_gpu_1", torch.nn.ReLU())
    g = torch.fx.Graph()
    x = g.placeholder("x")
    x.meta["val"] = torch.empty(2, 3)  # what an exported graph carries: the wrapper reads its inputs from it
    g.output(g.call_module("_run_on_gpu_1", (g.call_module("_run_on_acc_0", (x,)),)))  # GraphModule keeps used modules only
    return torch.fx.GraphModule(root, g)


def check_runtime_cache(tt: Any, work: Path, lazy_module: Callable[..., Any]) -> dict[str, Any]:
    from torch_tensorrt.runtime import RuntimeCache, RuntimeSettings
    from torch_tensorrt.runtime._runtime_cache import _RuntimeCacheHandle

    out: dict[str, Any] = {}
    out["cm_without_trt_module"] = raised(lambda: tt.runtime.runtime_cache(torch.nn.Linear(2, 2), str(work / "x.bin")).__enter__())

    missing = work / "missing.bin"
    rc = RuntimeCache(path=str(missing))
    load = raised(rc.load)
    out["load_missing"] = {**load, "pending": int(rc._handle.serialize().numel()), "has_cache": rc.has_cache(),
                           "file_created": missing.exists(), "lock_created": Path(f"{missing}.lock").exists()}

    raw = b"not-a-runtime-cache\x00\x01\x02"
    src = work / "raw.bin"
    src.write_bytes(raw)
    loaded = RuntimeCache(path=str(src))
    load = raised(loaded.load)
    dst = work / "copy.bin"
    loaded.save(str(dst))
    out["load_raw"] = {**load, "pending": int(loaded._handle.serialize().numel()), "file_size": len(raw),
                       "has_cache": loaded.has_cache(), "saved_identical": dst.read_bytes() == raw}

    kept = work / "kept.bin"
    kept.write_bytes(b"previous")
    ino = kept.stat().st_ino
    RuntimeCache(path=str(kept)).save()
    out["save_zero_bytes"] = {"content_kept": kept.read_bytes() == b"previous", "same_inode": kept.stat().st_ino == ino,
                              "tmp_left": Path(f"{kept}.tmp").exists(), "lock_file": Path(f"{kept}.lock").exists()}

    target = work / "target.bin"
    target.write_bytes(b"old")
    ino = target.stat().st_ino
    loaded.save(str(target))
    replaced: dict[str, Any] = {"content_new": target.read_bytes() == raw, "inode_changed": target.stat().st_ino != ino,
                "tmp_left": Path(f"{target}.tmp").exists(), "lock_file": Path(f"{target}.lock").exists()}
    squat = work / "squat.bin"
    Path(f"{squat}.tmp").mkdir()
    blocked = raised(lambda: loaded.save(str(squat)))
    replaced["tmp_squatted"] = {"raised": blocked["raised"], "names_tmp": f"{squat}.tmp" in blocked["message"],
                                "target_created": squat.exists()}
    out["save_replace"] = replaced
    out["save_waits_for_lock"] = _save_under_held_lock(loaded, work / "locked.bin", raw)

    py = _RuntimeCacheHandle(path=str(src))
    initial = py._pending_warm_bytes
    py.deserialize(torch.frombuffer(bytearray(raw), dtype=torch.uint8))
    out["python_handle_pending"] = {"initial_is_none": initial is None, "type": type(py._pending_warm_bytes).__name__,
                                    "equals_input": py._pending_warm_bytes == raw,
                                    "cpp_handle_has_attr": hasattr(loaded._handle, "_pending_warm_bytes")}

    shared = work / "shared.bin"
    shared.write_bytes(raw)
    ino = shared.stat().st_ino
    mod = lazy_module()
    holder = torch.nn.Sequential(mod)
    before = mod.runtime_settings
    with tt.runtime.runtime_cache(holder, str(shared)) as handle:
        inside = {"type": type(handle).__name__, "path": handle.path == str(shared), "autosave_on_del": handle.autosave_on_del,
                  "pending": int(handle._handle.serialize().numel()), "module_settings_unchanged": mod.runtime_settings is before}
    out["cm_lazy_module"] = {**inside, "saved_on_exit": shared.stat().st_ino != ino, "content_kept": shared.read_bytes() == raw}

    fresh = lazy_module()
    from torch_tensorrt.dynamo import _defaults

    default_is_path = fresh.runtime_settings.runtime_cache == _defaults.RUNTIME_CACHE_PATH
    fresh.runtime_settings = RuntimeSettings(cuda_graph_strategy="whole_graph_capture")
    implicit = fresh._implicit_cache_handle
    out["module_default_cache"] = {"initial_is_default_path": default_is_path,
                                   "implicit_path_is_default": bool(implicit is not None
                                                                    and implicit.path == _defaults.RUNTIME_CACHE_PATH),
                                   "autosave_on_del": bool(implicit is not None and implicit.autosave_on_del),
                                   "settings_hold_handle": fresh.runtime_settings.runtime_cache is implicit}

    own = work / "own.bin"
    own.write_bytes(raw)
    fresh.runtime_settings = RuntimeSettings(runtime_cache=str(own))
    first = fresh._implicit_cache_handle
    ino = own.stat().st_ino
    fresh.runtime_settings = RuntimeSettings(runtime_cache=str(work / "other.bin"))
    out["module_path_cache"] = {"path": first.path == str(own), "pending": int(first._handle.serialize().numel()),
                                "file_size": len(raw), "swap_saved_old": own.stat().st_ino != ino,
                                "swap_new_path": fresh._implicit_cache_handle.path == str(work / "other.bin")}
    fresh.runtime_settings = RuntimeSettings(runtime_cache=None)
    return out


def _save_under_held_lock(rc: Any, target: Path, raw: bytes, hold_s: float = 0.5) -> dict[str, Any]:
    """Another holder keeps FileLock(target + '.lock') for ``hold_s``: save must wait for it, then write."""
    import threading

    from filelock import FileLock

    holder = FileLock(f"{target}.lock", thread_local=False)
    holder.acquire()
    seen_while_held: list[bool] = []

    def release() -> None:
        seen_while_held.append(target.exists())
        holder.release()

    timer = threading.Timer(hold_s, release)
    t0 = time.perf_counter()
    timer.start()
    rc.save(str(target))
    waited = time.perf_counter() - t0
    timer.join()
    return {"waited_at_least_hold": waited >= hold_s * 0.9, "file_absent_while_held": seen_while_held == [False],
            "written_after": target.read_bytes() == raw}


def check_deserialize_signature() -> dict[str, Any]:
    import tensorrt_rtx as trt

    doc = trt.IRuntimeCache.deserialize.__doc__ or ""
    line = next((ln.strip() for ln in doc.splitlines() if "deserialize(" in ln), "")
    return {"signature": line, "returns_bool": line.endswith("-> bool")}


def check_default_path() -> dict[str, Any]:
    import getpass
    import pwd

    from torch_tensorrt.dynamo import _defaults

    pw = pwd.getpwuid(os.getuid())[0]
    gp = getpass.getuser()
    tmp = tempfile.gettempdir()
    return {"path": _defaults.RUNTIME_CACHE_PATH, "pwd_user": pw, "getpass_user": gp,
            "is_pwd_form": str(Path(tmp) / f"torch_tensorrt_{pw}" / "runtime_cache.bin") == _defaults.RUNTIME_CACHE_PATH,
            "is_getpass_form": str(Path(tmp) / f"torch_tensorrt_{gp}" / "runtime_cache.bin") == _defaults.RUNTIME_CACHE_PATH}


def check_compile(tt: Any) -> dict[str, Any]:
    """``torch_tensorrt.compile`` on an ExportedProgram (the tracing step needs a GPU): once plain, once with the
    deprecated and the removed keyword arguments. The CompilationSettings each built are read from the library's
    own log record "Compilation Settings: %s" (``dynamo/_compiler.py:802``)."""

    class Small(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x) + 1

    ep = torch.export.export(Small(), (torch.randn(2, 3),))
    inputs = [tt.Input((2, 3), dtype=torch.float32)]
    base = {"ir": "dynamo", "inputs": inputs, "min_block_size": 1, "offload_module_to_cpu": True}
    plain = _compile_once(tt, ep, base)
    old = _compile_once(tt, ep, {**base, "use_python_runtime": True, "cuda_graph_strategy": "bogus",
                                 "runtime_cache_path": "/nonexistent/dir/runtime_cache.bin",
                                 "dynamic_shapes_kernel_specialization_strategy": "bogus"})
    fields = {f.name for f in dataclasses.fields(plain.pop("settings_obj"))} if plain.get("settings_obj") else set()
    old_settings = old.pop("settings_obj", None)
    old_fields = {f.name: getattr(old_settings, f.name) for f in dataclasses.fields(old_settings)} if old_settings else {}
    return {"plain": plain, "old_kwargs": old,
            "settings_equal": bool(old_settings is not None and plain.pop("settings_repr", None) == old.pop("settings_repr", None)),
            "settings_fields_named_like_old_kwargs": sorted(
                k for k in fields | set(old_fields) if k in {"use_python_runtime", "cuda_graph_strategy", "runtime_cache_path",
                                                             "dynamic_shapes_kernel_specialization_strategy", "runtime_cache"})}


def _compile_once(tt: Any, ep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    handler = _Records()
    log = logging.getLogger()  # the TensorRT logger of a conversion is "torch_tensorrt [TensorRT Conversion Context]"
    log.addHandler(handler)
    old_level, log.level = log.level, logging.DEBUG
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = raised(lambda: tt.compile(ep, **kwargs))
    log.removeHandler(handler)
    log.setLevel(old_level)
    settings = next((r.args[0] for r in handler.records
                     if r.msg == "Compilation Settings: %s\n" and isinstance(r.args, tuple) and r.args), None)
    trt_errors = [r.getMessage() for r in handler.records if r.levelno >= logging.ERROR]
    return {**outcome, "seconds": round(time.perf_counter() - t0, 3), "trt_errors": trt_errors,
            "deprecations": sorted({str(w.message)[:400] for w in caught if issubclass(w.category, DeprecationWarning)}),
            "settings_obj": settings, "settings_repr": repr(settings)}


def check_depth(tt: Any) -> dict[str, Any]:
    """How far an engine built here gets: TensorRT-RTX builds it; deserializing it and setting up the module's
    engine are the first steps that need the driver."""
    import tensorrt_rtx as trt
    from torch_tensorrt.dynamo import CompilationSettings
    from torch_tensorrt.dynamo.runtime import TorchTensorRTModule

    blob = build_engine(trt)
    errors: list[str] = []

    class Log(trt.ILogger):
        def log(self, severity: Any, msg: str) -> None:
            if severity <= trt.ILogger.Severity.ERROR:
                errors.append(msg)

    logger = Log()
    engine = trt.Runtime(logger).deserialize_cuda_engine(blob)
    settings = CompilationSettings(device=tt.Device("cuda:0"))
    setup = raised(lambda: TorchTensorRTModule(blob, ["x"], ["y"], name="depth", settings=settings))
    return {"built_bytes": len(blob), "deserialize_returned_none": engine is None, "deserialize_errors": errors,
            "module_setup": setup}


def build_engine(trt: Any) -> bytes:
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    relu = net.add_activation(x, trt.ActivationType.RELU)
    relu.get_output(0).name = "y"
    net.mark_output(relu.get_output(0))
    serialized = builder.build_serialized_network(net, builder.create_builder_config())
    if serialized is None:
        raise RuntimeError("tensorrt_rtx build_serialized_network returned None for a one-layer ReLU network")
    return bytes(serialized)


# ---------------------------------------------------------------------------------------------- main


def run(out_path: Path) -> None:
    result: dict[str, Any] = {"schema": SCHEMA, "completed": False, "checks": {},
                              "substituted": {"torch.cuda.current_device": SUBSTITUTED_DEVICE,
                                              "torch.cuda.get_device_capability": list(SUBSTITUTED_CAPABILITY)}}
    substitute_device_queries()
    t0 = time.perf_counter()
    import torch_tensorrt as tt

    result["import_seconds"] = round(time.perf_counter() - t0, 3)
    work = Path(tempfile.mkdtemp(prefix="contract-"))

    def lazy_module(requires_output_allocator: bool = False) -> Any:
        from torch_tensorrt.dynamo import CompilationSettings
        from torch_tensorrt.dynamo.runtime import TorchTensorRTModule

        return TorchTensorRTModule(None, ["x"], ["y"], name="lazy", settings=CompilationSettings(device=tt.Device("cuda:0")),
                                   requires_output_allocator=requires_output_allocator)

    checks: dict[str, Callable[[], dict[str, Any]]] = {
        "environment": lambda: check_environment(tt),
        "runtime_selected": lambda: check_runtime_selected(tt),
        "settings": lambda: check_settings(tt),
        "cudagraphs": lambda: check_cudagraphs(tt, lazy_module),
        "runtime_cache": lambda: check_runtime_cache(tt, work, lazy_module),
        "deserialize_signature": check_deserialize_signature,
        "default_path": check_default_path,
        "compile": lambda: check_compile(tt),
        "depth": lambda: check_depth(tt),
    }
    if tuple(checks) != CHECK_NAMES:
        raise RuntimeError(f"contract child: checks {tuple(checks)} differ from CHECK_NAMES {CHECK_NAMES}")
    for name, fn in checks.items():
        try:
            result["checks"][name] = {"value": fn()}
        except Exception:  # reported per check: the parent fails that check's cells with this text
            result["checks"][name] = {"error": traceback.format_exc()}
    result["calls"] = {k: dict(v) for k, v in _CALLS.items()}
    result["completed"] = True
    shutil.rmtree(work, ignore_errors=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(json.dumps(result, default=repr, indent=1))
    tmp.replace(out_path)


if __name__ == "__main__":
    run(Path(sys.argv[1]))
