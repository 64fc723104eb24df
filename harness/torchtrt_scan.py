"""Static scan of an installed ``torch_tensorrt`` package: which APIs exist, which runtime it ships.

Reading the package's source with ``ast`` answers these questions on any machine, including CI
machines where ``import torch_tensorrt`` fails for want of a GPU. Each API row cites the released 2.14.0 wheel
(W14 ``file:line``; docs/behaviour.md says what each one does).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ApiRef:
    """An API the harness looks for: a module-level name or ``Class.method`` in a module of the package."""

    label: str
    module: str  # path relative to the package root, e.g. "runtime/_runtime_config.py"; "*" = anywhere
    qualname: str
    source: str  # the wheel line (or docs section) that says where it lives


API_REFS: tuple[ApiRef, ...] = (
    ApiRef("runtime.RuntimeSettings", "runtime/_runtime_config.py", "RuntimeSettings",
           "W14 runtime/_runtime_config.py:62-136"),
    ApiRef("runtime.runtime_config", "runtime/_runtime_config.py", "runtime_config",
           "W14 runtime/_runtime_config.py:380"),
    ApiRef("runtime.set_dynamic_shapes_kernel_strategy", "runtime/_runtime_config.py",
           "set_dynamic_shapes_kernel_strategy", "W14 runtime/_runtime_config.py:404"),
    ApiRef("runtime.RuntimeCache", "runtime/_runtime_cache.py", "RuntimeCache", "W14 runtime/_runtime_cache.py:193"),
    ApiRef("runtime.runtime_cache", "runtime/_runtime_cache.py", "runtime_cache",
           "W14 runtime/_runtime_cache.py:579"),
    ApiRef("TorchTensorRTModule.runtime_settings", "dynamo/runtime/_TorchTensorRTModule.py",
           "TorchTensorRTModule.runtime_settings", "W14 dynamo/runtime/_TorchTensorRTModule.py:339-353"),
    ApiRef("runtime.set_cudagraphs_mode", "runtime/_cudagraphs.py", "set_cudagraphs_mode", "W14 runtime/_cudagraphs.py:29"),
    ApiRef("runtime.get_cudagraphs_mode", "runtime/_cudagraphs.py", "get_cudagraphs_mode", "W14 runtime/_cudagraphs.py:52"),
    ApiRef("runtime.get_whole_cudagraphs_mode", "runtime/_cudagraphs.py", "get_whole_cudagraphs_mode",
           "W14 runtime/_cudagraphs.py:43"),
    ApiRef("runtime.enable_cudagraphs", "runtime/_cudagraphs.py", "enable_cudagraphs", "W14 runtime/_cudagraphs.py:165"),
    ApiRef("TRTEngine._is_monolithic_capturable", "dynamo/runtime/_TRTEngine.py", "TRTEngine._is_monolithic_capturable",
           "W14 dynamo/runtime/_TRTEngine.py:742"),
    ApiRef("CudaGraphsTorchTensorRTModule._check_monolithic_capturability",
           "dynamo/runtime/_CudaGraphsTorchTensorRTModule.py",
           "CudaGraphsTorchTensorRTModule._check_monolithic_capturability",
           "W14 dynamo/runtime/_CudaGraphsTorchTensorRTModule.py:130"),
    # An external-stream API proposed upstream and never merged: absent from every release (a caller's non-default
    # stream is honoured instead: docs/behaviour.md#streams).
    ApiRef("proposed:set_external_stream", "*", "set_external_stream", "docs/behaviour.md#streams (expected absent)"),
    ApiRef("proposed:clear_external_stream", "*", "clear_external_stream", "docs/behaviour.md#streams (expected absent)"),
    ApiRef("proposed:get_external_stream", "*", "get_external_stream", "docs/behaviour.md#streams (expected absent)"),
    ApiRef("proposed:is_external_stream_set", "*", "is_external_stream_set", "docs/behaviour.md#streams (expected absent)"),
    ApiRef("proposed:set_engine_stream_passthrough", "*", "set_engine_stream_passthrough",
           "docs/behaviour.md#streams (expected absent)"),
    ApiRef("proposed:get_engine_stream_passthrough", "*", "get_engine_stream_passthrough",
           "docs/behaviour.md#streams (expected absent)"),
)

# Knobs that compile() once took and that moved to RuntimeSettings (docs/behaviour.md#runtime).
MOVED_COMPILE_KWARGS = ("cuda_graph_strategy", "runtime_cache_path", "dynamic_shapes_kernel_specialization_strategy")


@dataclass(frozen=True)
class ScanResult:
    """What the scan found. ``findings`` are facts a conformance report must surface."""

    root: str
    version: str | None
    runtime: str  # "cpp" when lib/libtorchtrt*.so ships (W14 _features.py:50-51), else "python"
    apis: dict[str, bool]
    findings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "version": self.version, "runtime": self.runtime,
                "apis": dict(self.apis), "findings": list(self.findings)}


def _names_in(tree: ast.Module) -> set[str]:
    """Module-level defs, classes, assignments and imported names, plus ``Class.member`` defs."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}.{item.name}")
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _all_defs(tree: ast.Module) -> set[str]:
    """Every function or method name defined anywhere in a module (for names expected nowhere)."""
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None


def _find_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def _compile_kwargs_finding(root: Path) -> str | None:
    tree = _parse(root / "dynamo" / "_compiler.py")
    fn = _find_function(tree, "compile") if tree else None
    if fn is None or fn.args.kwarg is None:
        return None
    explicit = {a.arg for a in (*fn.args.args, *fn.args.kwonlyargs)}
    swallowed = [k for k in MOVED_COMPILE_KWARGS if k not in explicit]
    if not swallowed:
        return None
    return (
        f"dynamo/_compiler.py:{fn.args.kwarg.lineno}: compile() takes **{fn.args.kwarg.arg} and no explicit "
        f"{swallowed}: passing them is accepted silently and applies nothing (use RuntimeSettings) "
        "[docs/behaviour.md#runtime]"
    )


def _deprecated_runtime_flag_finding(root: Path) -> str | None:
    """``compile(use_python_runtime=True)`` only warns when the runtimes are merged (W14 dynamo/_compiler.py:632-640)."""
    tree = _parse(root / "dynamo" / "_compiler.py")
    fn = _find_function(tree, "compile") if tree else None
    if fn is None:
        return None
    for node in ast.walk(fn):
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "use_python_runtime"
                and "DeprecationWarning" in ast.unparse(node)):
            return (f"dynamo/_compiler.py:{node.lineno}: use_python_runtime only emits a DeprecationWarning: the "
                    "runtime is the one the package selects, so cells ask for none and report the one that ran "
                    "[docs/behaviour.md#runtime]")
    return None


def _enable_cudagraphs_returns_cm(root: Path) -> str | None:
    tree = _parse(root / "runtime" / "_cudagraphs.py")
    fn = _find_function(tree, "enable_cudagraphs") if tree else None
    if fn is None or fn.returns is None or "ContextManager" not in ast.unparse(fn.returns):
        return None
    return (f"runtime/_cudagraphs.py:{fn.lineno}: enable_cudagraphs returns {ast.unparse(fn.returns)}, a context "
            "manager to enter, not the module to call [docs/behaviour.md#cuda-graph-modes]")


def _enable_cudagraphs_kwarg(root: Path) -> bool:
    tree = _parse(root / "runtime" / "_cudagraphs.py")
    fn = _find_function(tree, "enable_cudagraphs") if tree else None
    return fn is not None and any(a.arg == "cuda_graph_strategy" for a in fn.args.kwonlyargs)


def scan_torch_tensorrt(package_dir: str, version: str | None) -> ScanResult:
    root = Path(package_dir)
    trees: dict[str, ast.Module] = {}
    for path in root.rglob("*.py"):
        tree = _parse(path)
        if tree is not None:
            trees[path.relative_to(root).as_posix()] = tree
    anywhere: set[str] = set()
    for tree in trees.values():
        anywhere |= _all_defs(tree)
    apis: dict[str, bool] = {}
    for ref in API_REFS:
        if ref.module == "*":
            apis[ref.label] = ref.qualname in anywhere
        else:
            tree = trees.get(ref.module)
            apis[ref.label] = tree is not None and ref.qualname in _names_in(tree)
    apis["enable_cudagraphs(cuda_graph_strategy=)"] = _enable_cudagraphs_kwarg(root)
    runtime = "cpp" if any((root / "lib").glob("libtorchtrt*.so")) else "python"
    findings = [f for f in (_compile_kwargs_finding(root), _deprecated_runtime_flag_finding(root),
                            _enable_cudagraphs_returns_cm(root)) if f]
    present_proposed = [k for k, v in apis.items() if k.startswith("proposed:") and v]
    if present_proposed:
        findings.append("proposed external-stream API (pytorch/TensorRT PR #4232) present, unlike every known release: "
                        f"{present_proposed}")
    return ScanResult(str(root), version, runtime, apis, tuple(findings))
