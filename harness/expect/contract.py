"""What the released Torch-TensorRT-RTX 2.14.0 Python layer does on a machine without a GPU, as data.

Each :class:`Expectation` is one statement in plain words, the wheel lines that say it (``torch_tensorrt/<file>:
<first>-<last>`` inside the 2.14.0 wheel, with an ``anchor``: text those lines contain, so a citation that drifts
fails a test), the child check and key path whose value it judges, the expected values, and a deliberately wrong
expectation (``wrong``: the harness's earlier belief where it had one) that a negative-control test feeds to
:func:`judge` to show the check can fail. The child (``contract_child``) executes the library with only the two
device queries substituted (see its docstring); every expectation here is proven at level L2 when its cell passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LEVEL = "L2"
WHEEL = "torch-tensorrt-rtx==2.14.0"
TENSORRT_RTX = "tensorrt_rtx==1.6.1.120"
SUBSTITUTED = {"torch.cuda.current_device": 0, "torch.cuda.get_device_capability": [12, 0]}
SUBSTITUTION_TEXT = (
    "substituted in the child, nothing else: torch.cuda.current_device() answers 0 and "
    "torch.cuda.get_device_capability() answers (12, 0); import torch_tensorrt evaluates both at import time "
    "(W14 _utils.py:95, dynamo/_defaults.py:111, _Device.py:148) and they raise without a GPU. The child sees no "
    "GPU (CUDA_VISIBLE_DEVICES empty), torch.cuda.is_available() stays False and every other CUDA call is real."
)


@dataclass(frozen=True)
class Contains:
    """Expected value: a string containing ``text``."""

    text: str


@dataclass(frozen=True)
class AnyOf:
    """Expected value: matches at least one of ``options``."""

    options: tuple[Any, ...]


@dataclass(frozen=True)
class First:
    """Expected value: a non-empty list whose first item matches ``want``."""

    want: Any


@dataclass(frozen=True)
class Exactly:
    """Expected value: equal to ``value`` as a whole (a mapping is otherwise matched key by key, as a subset)."""

    value: Any


@dataclass(frozen=True)
class AtLeast:
    """Expected value: a number no smaller than ``least``."""

    least: float


# The child hides every GPU: without a driver torch and the CUDA runtime say the first, with a driver and no
# visible device the second (a GPU host).
_NO_CUDA = AnyOf((Contains("Found no NVIDIA driver on your system"), Contains("No CUDA GPUs are available")))
_CUDA_ERR = AnyOf((Contains("cudaError 35: CUDA driver version is insufficient for CUDA runtime version"),
                   Contains("cudaError 100: no CUDA-capable device is detected")))


@dataclass(frozen=True)
class Expectation:
    id: str
    statement: str
    citation: str  # torch_tensorrt/<file>:<first>-<last>, inside the 2.14.0 wheel
    anchor: str  # text that the cited lines contain
    check: str  # the child's check whose value is judged
    path: tuple[str, ...]  # keys into that check's value
    expected: Mapping[str, Any]
    wrong: Mapping[str, Any]  # a wrong expectation: judging the real observation with it must fail
    settles: str = ""  # the issue item this expectation settles (defect number or missing expectation)
    level: str = LEVEL
    tags: tuple[str, ...] = field(default=())


def _e(id: str, statement: str, citation: str, anchor: str, check: str, path: str, expected: Mapping[str, Any],
       wrong: Mapping[str, Any], settles: str = "") -> Expectation:
    return Expectation(id, statement, citation, anchor, check, tuple(p for p in path.split(".") if p), expected, wrong,
                       settles)


_VALID = "['dynamic_shapes_kernel_specialization_strategy', 'cuda_graph_strategy', 'runtime_cache']"
_STD, _SUB, _WHOLE = [False, False, 0], [True, False, 1], [False, True, 2]

EXPECTATIONS: tuple[Expectation, ...] = (
    _e("env.released_pair",
       "The child imports torch_tensorrt 2.14.0 and tensorrt_rtx 1.6.1.120 from the contract environment, on a machine "
       "where torch.cuda.is_available() is False.",
       "torch_tensorrt/_features.py:49-49", "_package_name", "environment", "",
       {"torch_tensorrt": "2.14.0", "tensorrt_rtx": "1.6.1.120", "cuda_available": False},
       {"tensorrt_rtx": "1.7.1.116"}),
    _e("env.substitution_only_device_queries",
       "Only the two device queries are substituted, and the library calls them only from its device helpers: "
       "at import, get_device_capability once from _utils.is_tegra_platform, current_device from "
       "_defaults.default_device (CompilationSettings() default arguments) and Device._current_device.",
       "torch_tensorrt/_utils.py:94-97", "get_device_capability", "environment", "",
       {"substituted": Exactly(SUBSTITUTED),
        "calls": Exactly({"torch.cuda.current_device": {"dynamo/_defaults.py:111": 10, "_Device.py:148": 3},
                          "torch.cuda.get_device_capability": {"_utils.py:95": 1}})},
       {"calls": Exactly({"torch.cuda.get_device_capability": {"_utils.py:95": 1}})}),
    _e("runtime.cpp_selected",
       "The wheel ships libtorchtrt_runtime.so, so the C++ runtime is selected: the torchbind Engine class is "
       "registered and a RuntimeCache wraps the C++ handle. use_python_runtime cannot select the Python runtime.",
       "torch_tensorrt/_features.py:49-51", "_TORCHTRT_RT_AVAIL", "runtime_selected", "",
       {"torch_tensorrt_runtime": True, "tensorrt_rtx": True, "libtorchtrt_runtime_so": True,
        "engine_class_registered": True, "cache_handle_is_cpp": True},
       {"cache_handle_is_cpp": False}, settles="defect 2"),
    _e("settings.defaults",
       "RuntimeSettings() defaults to lazy kernels, CUDA graph strategy disabled, and the per-user default cache path "
       "(not None): leaving runtime_cache out attaches the default cache.",
       "torch_tensorrt/runtime/_runtime_config.py:92-98", "RUNTIME_CACHE_PATH", "settings", "defaults",
       {"dynamic_shapes_kernel_specialization_strategy": "lazy", "cuda_graph_strategy": "disabled",
        "runtime_cache_is_default_path": True, "runtime_cache_is_none": False},
       {"runtime_cache_is_none": True}, settles="defect 3"),
    _e("settings.no_warning_on_rtx",
       "On the TensorRT-RTX build, constructing RuntimeSettings emits no warning (the 'only honored on TRT-RTX "
       "builds' warning is for regular TensorRT).",
       "torch_tensorrt/runtime/_runtime_config.py:119-125", "only honored on TRT-RTX", "settings", "",
       {"construct_warnings": []},
       {"construct_warnings": ["UserWarning: RuntimeSettings is only honored on TRT-RTX builds; constructing it on "
                               "regular TensorRT has no effect."]}),
    _e("settings.invalid_cuda_graph_strategy",
       "Torch-TensorRT itself rejects an unknown cuda_graph_strategy with ValueError naming the value and the valid set.",
       "torch_tensorrt/runtime/_runtime_config.py:110-114", "Invalid cuda_graph_strategy", "settings",
       "invalid_cuda_graph_strategy",
       {"raised": "ValueError",
        "message": "Invalid cuda_graph_strategy: 'bogus'. Expected one of ['disabled', 'whole_graph_capture']."},
       {"raised": None}, settles="missing: Torch-TensorRT's own ValueError"),
    _e("settings.invalid_kernel_strategy",
       "An unknown dynamic_shapes_kernel_specialization_strategy raises ValueError naming the value and the valid set.",
       "torch_tensorrt/runtime/_runtime_config.py:101-109", "Invalid dynamic_shapes_kernel_specialization_strategy",
       "settings", "invalid_kernel_strategy",
       {"raised": "ValueError",
        "message": "Invalid dynamic_shapes_kernel_specialization_strategy: 'bogus'. Expected one of ['lazy', 'eager', 'none']."},
       {"raised": None}, settles="missing: Torch-TensorRT's own ValueError"),
    _e("settings.merge_unknown_key",
       "RuntimeSettings.merge with an unknown field raises TypeError listing the valid fields; a known field returns a "
       "new object and leaves the original unchanged.",
       "torch_tensorrt/runtime/_runtime_config.py:127-135", "Unknown RuntimeSettings field(s)", "settings", "",
       {"merge_unknown_key": {"raised": "TypeError", "at": "runtime/_runtime_config.py:131",
                              "message": f"Unknown RuntimeSettings field(s): ['bogus']. Valid fields: {_VALID}."},
        "merge_known_key": "whole_graph_capture", "merge_leaves_original": "disabled"},
       {"merge_leaves_original": "whole_graph_capture"}, settles="missing: TypeError for unknown RuntimeSettings keys"),
    _e("settings.frozen",
       "RuntimeSettings is a frozen dataclass: assigning a field raises FrozenInstanceError.",
       "torch_tensorrt/runtime/_runtime_config.py:62-63", "frozen=True", "settings", "frozen",
       {"is_frozen_instance_error": True}, {"raised": None}),
    _e("runtime_config.unknown_key",
       "runtime_config(target, **overrides) raises TypeError for an unknown key when it is called, before any with.",
       "torch_tensorrt/runtime/_runtime_config.py:336-344", "typo => raise here", "settings", "runtime_config_unknown_key",
       {"raised": "TypeError", "at": "runtime/_runtime_config.py:341",
        "message": "Unknown RuntimeSettings field(s): ['bogus']. Valid fields: "
                   "['cuda_graph_strategy', 'dynamic_shapes_kernel_specialization_strategy', 'runtime_cache']."},
       {"raised": None}, settles="missing: TypeError for unknown runtime_config kwargs"),
    _e("cudagraphs.mode_round_trip",
       "set_cudagraphs_mode(True/False) switches between STANDARD and SUBGRAPH in Python and in the C++ runtime's "
       "global (torch.ops.tensorrt.get_cudagraphs_mode); get_whole_cudagraphs_mode stays False.",
       "torch_tensorrt/runtime/_cudagraphs.py:29-58", "SUBGRAPH_CUDAGRAPHS if mode else CudaGraphsMode.STANDARD", "cudagraphs", "",
       {"initial": _STD, "after_set_true": _SUB, "after_set_false": _STD},
       {"after_set_true": _STD}),
    _e("cudagraphs.enable_returns_context_manager",
       "enable_cudagraphs(module) returns a context manager with __enter__/__exit__ only: not a module, not callable; "
       "calling it raises TypeError.",
       "torch_tensorrt/runtime/_cudagraphs.py:165-189", "return _CudagraphsContextManager(", "cudagraphs", "enable_returns",
       {"type": "_CudagraphsContextManager", "callable": False, "has_enter": True, "has_exit": True, "is_module": False,
        "call": {"raised": "TypeError", "message": "'_CudagraphsContextManager' object is not callable"}},
       {"callable": True}, settles="defect 1"),
    _e("cudagraphs.enable_no_graph_break",
       "Without PyTorch submodules, entering enable_cudagraphs yields the same module and sets SUBGRAPH mode; "
       "leaving restores STANDARD.",
       "torch_tensorrt/runtime/_cudagraphs.py:153-162", "set_cudagraphs_mode(True)", "cudagraphs", "",
       {"no_break_inside": {"same_object": True, "modes": _SUB}, "no_break_after": _STD},
       {"no_break_inside": {"same_object": False}}),
    _e("cudagraphs.enable_graph_break",
       "With a PyTorch submodule (_run_on_gpu_*), entering sets WHOLE_GRAPH mode before building the wrapper; on CPU "
       "the wrapper stops at torch.cuda.default_stream, and the mode stays WHOLE_GRAPH because __exit__ never runs.",
       "torch_tensorrt/runtime/_cudagraphs.py:142-152", "WHOLE_GRAPH_CUDAGRAPHS", "cudagraphs", "break_enter",
       {"raised": "RuntimeError", "message": _NO_CUDA,
        "at": "dynamo/runtime/_CudaGraphsTorchTensorRTModule.py:83", "modes_after": _WHOLE},
       {"modes_after": _STD}),
    _e("cudagraphs.output_allocator",
       "CUDA graphs with a submodule that requires the output allocator raise RuntimeError on enter.",
       "torch_tensorrt/runtime/_cudagraphs.py:129-136", "requires_output_allocator", "cudagraphs", "output_allocator",
       {"raised": "RuntimeError", "at": "runtime/_cudagraphs.py:134",
        "message": "The model contains submodules that require a dynamic output allocator at runtime, which is "
                   "incompatible with CUDA Graphs. Please disable CUDA Graphs."},
       {"raised": None}, settles="missing: CUDA graphs with the output allocator raise RuntimeError"),
    _e("cudagraphs.strategy_needs_engine",
       "enable_cudagraphs(..., cuda_graph_strategy=...) applies the strategy only to modules whose engine is set up: "
       "a module with engine None keeps its settings, and an invalid strategy is not even validated.",
       "torch_tensorrt/runtime/_runtime_config.py:362-372", "mod.engine is not None", "cudagraphs",
       "strategy_kwarg_without_engine",
       {"before": "disabled", "inside": "disabled", "engine_is_none": True, "bogus_strategy": {"raised": None}},
       {"inside": "whole_graph_capture"}),
    _e("cache.cm_requires_trt_module",
       "runtime_cache(targets) with no TorchTensorRTModule under the targets raises RuntimeError on enter.",
       "torch_tensorrt/runtime/_runtime_cache.py:532-545", "requires at least one TorchTensorRTModule", "runtime_cache",
       "cm_without_trt_module",
       {"raised": "RuntimeError", "at": "runtime/_runtime_cache.py:542",
        "message": "runtime_cache() requires at least one TorchTensorRTModule under the target(s)."},
       {"raised": None}, settles="missing: runtime_cache() empty target raises RuntimeError"),
    _e("cache.load_missing_is_noop",
       "RuntimeCache.load of a missing file returns silently: nothing pending, no file, no lock file.",
       "torch_tensorrt/runtime/_runtime_cache.py:329-330", "first run; nothing to load", "runtime_cache", "load_missing",
       {"raised": None, "pending": 0, "has_cache": False, "file_created": False, "lock_created": False},
       {"raised": "FileNotFoundError"}),
    _e("cache.load_keeps_raw_bytes",
       "RuntimeCache.load does not validate: any file's bytes become the pending bytes as they are (C++ handle: "
       "serialize() before materialization returns them), and saving writes them back unchanged.",
       "torch_tensorrt/runtime/_runtime_cache.py:333-335", "self.load_from_stream(f)", "runtime_cache", "load_raw",
       {"raised": None, "pending": 22, "file_size": 22, "has_cache": False, "saved_identical": True},
       {"raised": "RuntimeError"}, settles="defect 7 (pending bytes are the raw file)"),
    _e("cache.save_zero_bytes_keeps_file",
       "RuntimeCache.save with nothing to serialize takes the lock, drops its temporary file and leaves the existing "
       "cache file untouched (same content, same inode).",
       "torch_tensorrt/runtime/_runtime_cache.py:353-365", "drop the empty tmp file", "runtime_cache", "save_zero_bytes",
       {"content_kept": True, "same_inode": True, "tmp_left": False, "lock_file": True},
       {"content_kept": False}),
    _e("cache.save_tmp_then_replace",
       "RuntimeCache.save writes path + '.tmp' under FileLock(path + '.lock') and moves it over the file (a new inode); "
       "a directory squatting at path + '.tmp' makes save fail naming it.",
       "torch_tensorrt/runtime/_runtime_cache.py:353-360", "shutil.move(tmp, target)", "runtime_cache", "save_replace",
       {"content_new": True, "inode_changed": True, "tmp_left": False, "lock_file": True,
        "tmp_squatted": {"raised": "IsADirectoryError", "names_tmp": True, "target_created": False}},
       {"inode_changed": False}),
    _e("cache.save_waits_for_file_lock",
       "RuntimeCache.save takes FileLock(path + '.lock') (10 s timeout): while another holder has it, save waits and "
       "writes nothing, and writes once the holder releases.",
       "torch_tensorrt/runtime/_runtime_cache.py:354-356", "FileLock(target + \".lock\").acquire(timeout=_FILELOCK_TIMEOUT_S)",
       "runtime_cache", "save_waits_for_lock",
       {"waited_at_least_hold": True, "file_absent_while_held": True, "written_after": True},
       {"waited_at_least_hold": False}),
    _e("cache.python_pending_is_bytes",
       "The Python handle's _pending_warm_bytes is None until a deserialize, then bytes; the C++ handle (the one the "
       "wheel uses) has no such attribute.",
       "torch_tensorrt/runtime/_runtime_cache.py:103-103", "_pending_warm_bytes: Optional[bytes]", "runtime_cache",
       "python_handle_pending",
       {"initial_is_none": True, "type": "bytes", "equals_input": True, "cpp_handle_has_attr": False},
       {"type": "int"}, settles="defect 6"),
    _e("cache.deserialize_result_dropped",
       "tensorrt_rtx 1.6 IRuntimeCache.deserialize returns a bool (False for a blob it rejects); the wheel's Python "
       "handle drops it when draining pending bytes, so a corrupt cache is a silent cold start (the drain itself needs "
       "an engine, which does not deserialize on CPU).",
       "torch_tensorrt/runtime/_runtime_cache.py:146-148", "self._cache.deserialize(self._pending_warm_bytes)",
       "deserialize_signature", "",
       {"returns_bool": True}, {"returns_bool": False}, settles="defect 7 (corrupt cache ignored silently)"),
    _e("cache.runtime_cache_cm_lazy_module",
       "runtime_cache(module, path) loads the file into a fresh handle (autosave_on_del False), yields it, and saves on "
       "exit (the file is replaced); a module whose engine is not set up keeps its own settings inside the block.",
       "torch_tensorrt/runtime/_runtime_cache.py:558-576", "self._save_from(self.handle)", "runtime_cache", "cm_lazy_module",
       {"type": "RuntimeCache", "path": True, "autosave_on_del": False, "pending": 22, "module_settings_unchanged": True,
        "saved_on_exit": True, "content_kept": True},
       {"saved_on_exit": False}, settles="missing: runtime_cache() autosave, single save"),
    _e("cache.module_default_attaches",
       "A TorchTensorRTModule starts with RuntimeSettings() (the default cache path); assigning settings that leave "
       "runtime_cache out builds an implicit RuntimeCache at the per-user default path that autosaves on delete.",
       "torch_tensorrt/dynamo/runtime/_TorchTensorRTModule.py:388-402", "RuntimeCache(path=rc, autosave_on_del=True)",
       "runtime_cache", "module_default_cache",
       {"initial_is_default_path": True, "implicit_path_is_default": True, "autosave_on_del": True,
        "settings_hold_handle": True},
       {"implicit_path_is_default": False}, settles="defect 3"),
    _e("cache.module_path_loads_and_swaps",
       "Assigning runtime_cache=<path> loads the file into pending bytes before any engine exists; assigning another "
       "path saves the displaced handle (its file is replaced).",
       "torch_tensorrt/dynamo/runtime/_TorchTensorRTModule.py:404-418", "old.save()", "runtime_cache", "module_path_cache",
       {"path": True, "pending": 22, "file_size": 22, "swap_saved_old": True, "swap_new_path": True},
       {"swap_saved_old": False}, settles="missing: save on swap"),
    _e("cache.default_path_pwd",
       "The default cache path is <tempdir>/torch_tensorrt_<user>/runtime_cache.bin with the user from "
       "pwd.getpwuid(os.getuid()) on Linux, not getpass.getuser() (which reads LOGNAME/USER first).",
       "torch_tensorrt/dynamo/_defaults.py:83-90", "pwd.getpwuid(os.getuid())", "default_path", "",
       {"is_pwd_form": True, "is_getpass_form": False},
       {"is_getpass_form": True}, settles="defect 11"),
    _e("compile.use_python_runtime_deprecated",
       "compile(..., use_python_runtime=True) emits a DeprecationWarning saying it has no effect, and the "
       "CompilationSettings it builds equal those of a call without it.",
       "torch_tensorrt/dynamo/_compiler.py:632-640", "`use_python_runtime` is deprecated and has no effect", "compile", "",
       {"old_kwargs": {"deprecations": ["`use_python_runtime` is deprecated and has no effect. The Python and C++ runtimes "
                                        "have been merged; the runtime is now selected automatically based on whether the "
                                        "C++ Torch-TensorRT runtime is available. This argument will be removed in a "
                                        "future release."]},
        "plain": {"deprecations": []}, "settings_equal": True},
       {"settings_equal": False}, settles="defect 2"),
    _e("compile.old_kwargs_swallowed",
       "compile() accepts cuda_graph_strategy, runtime_cache_path and dynamic_shapes_kernel_specialization_strategy "
       "into **kwargs without error even with invalid values; no CompilationSettings field carries them and the "
       "compile reaches the same point as without them.",
       "torch_tensorrt/dynamo/_compiler.py:507-507", "**kwargs: Any", "compile", "",
       {"settings_fields_named_like_old_kwargs": [], "settings_equal": True,
        "old_kwargs": {"raised": "AssertionError", "at": "dynamo/conversion/_TRTInterpreter.py:495"}},
       {"old_kwargs": {"raised": "TypeError"}}),
    _e("depth.compile_builds_engine",
       "On CPU, compile() of an ExportedProgram lowers, partitions, converts and builds the TensorRT-RTX engine; it "
       "stops at deserializing it (cudaError 35 logged, then AssertionError).",
       "torch_tensorrt/dynamo/conversion/_TRTInterpreter.py:480-495", "runtime.deserialize_cuda_engine", "compile", "plain",
       {"raised": "AssertionError", "at": "dynamo/conversion/_TRTInterpreter.py:495", "trt_errors": First(_CUDA_ERR)},
       {"raised": None}),
    _e("depth.engine_setup_needs_driver",
       "tensorrt_rtx 1.6 builds an engine on CPU; deserializing it fails with cudaError 35, and TorchTensorRTModule "
       "stops before torch.classes.tensorrt.Engine, at torch.cuda.get_device_properties while packing the device.",
       "torch_tensorrt/dynamo/runtime/_TorchTensorRTModule.py:257-261", "_to_serialized_rt_device()", "depth", "",
       {"built_bytes": AtLeast(1), "deserialize_returned_none": True, "deserialize_errors": First(_CUDA_ERR),
        "module_setup": {"raised": "RuntimeError", "at": "_Device.py:174", "message": _NO_CUDA}},
       {"deserialize_returned_none": False}),
)


class ContractChildError(Exception):
    """The child failed in a way no expectation describes: its own text, for the cell to fail with."""


BY_ID: dict[str, Expectation] = {e.id: e for e in EXPECTATIONS}
if len(BY_ID) != len(EXPECTATIONS):
    raise ValueError("harness.expect.contract: two expectations share an id; every id must be unique")


def observed(exp: Expectation, observation: Mapping[str, Any]) -> Any:
    """The value ``exp`` judges: its check's value at its key path. A check that raised in the child, or is missing,
    raises :class:`ContractChildError` with the child's text."""
    checks = observation.get("checks", {})
    if exp.check not in checks:
        raise ContractChildError(f"the contract child reported no check {exp.check!r} (it reported {sorted(checks)})")
    entry = checks[exp.check]
    if "error" in entry:
        raise ContractChildError(f"check {exp.check!r} failed in the contract child:\n{entry['error']}")
    value = entry.get("value")
    for key in exp.path:
        if not isinstance(value, Mapping) or key not in value:
            raise ContractChildError(f"check {exp.check!r} has no key {'.'.join(exp.path)!r}: {value!r}")
        value = value[key]
    return value


def judge(exp: Expectation, observation: Mapping[str, Any], expected: Mapping[str, Any] | None = None) -> list[str]:
    """Disagreements between the observation and ``expected`` (default: ``exp.expected``); empty when they agree."""
    return _compare(expected if expected is not None else exp.expected, observed(exp, observation), "")


def _compare(want: Mapping[str, Any], got: Any, prefix: str) -> list[str]:
    if not isinstance(got, Mapping):
        return [f"{prefix or 'value'}: observed {got!r}, expected a mapping with keys {sorted(want)}"]
    out: list[str] = []
    for key, w in want.items():
        where = f"{prefix}{key}"
        if key not in got:
            out.append(f"{where}: not observed (observed keys {sorted(got)})")
        elif isinstance(w, Mapping):
            out.extend(_compare(w, got[key], where + "."))
        elif not matches(w, got[key]):
            out.append(f"{where}: observed {got[key]!r}, expected {_show(w)}")
    return out


def matches(want: Any, got: Any) -> bool:
    if isinstance(want, Contains):
        return isinstance(got, str) and want.text in got
    if isinstance(want, First):
        return isinstance(got, list) and bool(got) and matches(want.want, got[0])
    if isinstance(want, AnyOf):
        return any(matches(w, got) for w in want.options)
    if isinstance(want, Exactly):
        return bool(got == want.value)
    if isinstance(want, AtLeast):
        return isinstance(got, (int, float)) and not isinstance(got, bool) and got >= want.least
    return bool(type(got) is type(want) and got == want) or (want is None and got is None)


def _show(want: Any) -> str:
    if isinstance(want, Contains):
        return f"a string containing {want.text!r}"
    if isinstance(want, First):
        return f"a non-empty list whose first item is {_show(want.want)}"
    if isinstance(want, AnyOf):
        return " or ".join(_show(w) for w in want.options)
    if isinstance(want, Exactly):
        return f"exactly {want.value!r}"
    if isinstance(want, AtLeast):
        return f"a number >= {want.least}"
    return repr(want)


def cited_lines(exp: Expectation, package_root: str) -> str:
    """The text of ``exp.citation``'s lines in the unpacked package whose ``torch_tensorrt/`` lies under
    ``package_root``."""
    from pathlib import Path

    rel, _, span = exp.citation.rpartition(":")
    first, _, last = span.partition("-")
    lines = (Path(package_root) / rel).read_text().splitlines()
    return "\n".join(lines[int(first) - 1:int(last or first)])
