"""Static scan of an installed ``torch_tensorrt`` package: which APIs exist, which runtime it ships.

Reading the package's source with ``ast`` answers these questions on any machine, including CI
machines where ``import torch_tensorrt`` fails for want of a GPU. Each API row cites
docs/behaviour.md#api-2140 (the 2.14.0 API and what changed since 2.11).
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
    source: str  # the spec line that says where it lives


API_REFS: tuple[ApiRef, ...] = (
    ApiRef("runtime.RuntimeSettings", "runtime/_runtime_config.py", "RuntimeSettings",
           "spec API: W14 runtime/_runtime_config.py:63-136"),
    ApiRef("runtime.runtime_config", "runtime/_runtime_config.py", "runtime_config",
           "spec API: runtime/_runtime_config.py:380"),
    ApiRef("runtime.set_dynamic_shapes_kernel_strategy", "runtime/_runtime_config.py",
           "set_dynamic_shapes_kernel_strategy", "spec API: runtime/_runtime_config.py:404"),
    ApiRef("runtime.RuntimeCache", "runtime/_runtime_cache.py", "RuntimeCache", "spec API: RuntimeCache"),
    ApiRef("runtime.runtime_cache", "runtime/_runtime_cache.py", "runtime_cache",
           "spec API: runtime/_runtime_cache.py:579"),
    ApiRef("TorchTensorRTModule.runtime_settings", "dynamo/runtime/_TorchTensorRTModule.py",
           "TorchTensorRTModule.runtime_settings", "spec API: W14 dynamo/runtime/_TorchTensorRTModule.py:339-353"),
    ApiRef("runtime.set_cudagraphs_mode", "runtime/_cudagraphs.py", "set_cudagraphs_mode", "spec API: CUDA-graph modes"),
    ApiRef("runtime.get_cudagraphs_mode", "runtime/_cudagraphs.py", "get_cudagraphs_mode", "spec API: CUDA-graph modes"),
    ApiRef("runtime.get_whole_cudagraphs_mode", "runtime/_cudagraphs.py", "get_whole_cudagraphs_mode",
           "spec API: CUDA-graph modes"),
    ApiRef("runtime.enable_cudagraphs", "runtime/_cudagraphs.py", "enable_cudagraphs", "spec API: CUDA-graph modes"),
    ApiRef("TRTEngine._is_monolithic_capturable", "dynamo/runtime/_TRTEngine.py", "TRTEngine._is_monolithic_capturable",
           "spec API: W14 dynamo/runtime/_TRTEngine.py:742"),
    ApiRef("CudaGraphsTorchTensorRTModule._check_monolithic_capturability",
           "dynamo/runtime/_CudaGraphsTorchTensorRTModule.py",
           "CudaGraphsTorchTensorRTModule._check_monolithic_capturability",
           "spec API: _CudaGraphsTorchTensorRTModule.py:130"),
    # The seed PR #4232 names: "exist in no release and on no branch" (spec, What changed 3).
    ApiRef("seed:set_external_stream", "*", "set_external_stream", "spec What changed 3 (expected absent)"),
    ApiRef("seed:clear_external_stream", "*", "clear_external_stream", "spec What changed 3 (expected absent)"),
    ApiRef("seed:get_external_stream", "*", "get_external_stream", "spec What changed 3 (expected absent)"),
    ApiRef("seed:is_external_stream_set", "*", "is_external_stream_set", "spec What changed 3 (expected absent)"),
    ApiRef("seed:set_engine_stream_passthrough", "*", "set_engine_stream_passthrough",
           "spec What changed 3 (expected absent)"),
    ApiRef("seed:get_engine_stream_passthrough", "*", "get_engine_stream_passthrough",
           "spec What changed 3 (expected absent)"),
)

# Knobs PR #4294 added to compile() and PR #4330 moved to RuntimeSettings (spec, What changed 2).
MOVED_COMPILE_KWARGS = ("cuda_graph_strategy", "runtime_cache_path", "dynamic_shapes_kernel_specialization_strategy")


@dataclass(frozen=True)
class ScanResult:
    """What the scan found. ``findings`` are facts a conformance report must surface."""

    root: str
    version: str | None
    runtime: str  # "cpp" when lib/libtorchtrt*.so ships (spec, What changed 4), else "python"
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
        "[spec What changed 2: W14 dynamo/_compiler.py:507]"
    )


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
    findings = [f for f in (_compile_kwargs_finding(root),) if f]
    present_seed = [k for k, v in apis.items() if k.startswith("seed:") and v]
    if present_seed:
        findings.append(f"seed external-stream API present, unlike every known release: {present_seed}")
    return ScanResult(str(root), version, runtime, apis, tuple(findings))
