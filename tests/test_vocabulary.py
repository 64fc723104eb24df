"""Each word of the matrix is defined once, in ``harness/vocab.py``, and every other module uses it from there.

Read from the source with ``ast`` (nothing is imported but the vocabulary and the dataclasses whose fields name
dimensions). Two rules, each with a negative control on a synthetic module:

- no module of the scope defines a tuple / list / set / ``Literal`` of two or more words of one vocabulary
  dimension at module or class level (a call's arguments, such as an oracle row's conditions, are places to look,
  not definitions); a suite may select words to run with if it types the selection with the vocabulary's
  ``Literal`` (``RTX_CACHE: tuple[CacheState, ...] = ("off", "warm")``), and then every member must be one;
- every string compared with, or passed as, a dimension (``case.variant == "trt_rtx"``, ``kernel_strategy="lazy"``,
  the build option ``("seg", "broken")``, ``Case(model, "torch_trt", ...)``) is a word of that dimension.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, get_args, get_origin

from harness import config, vocab
from harness.backends.base import BuildConfig, RunSettings
from harness.cases import Case
from harness.expect.graphs import Cell

ROOT = Path(__file__).resolve().parents[1]
# The modules that hold or use matrix words (a named one that is gone fails the scan: a move updates this list).
NAMED = ("harness/cases.py", "harness/config.py", "harness/streams.py", "harness/coverage.py", "harness/rtx_checks.py",
         "harness/runtime_cache.py", "reports/matrix.py", "models/__init__.py")
GLOBS = ("harness/expect/*.py", "harness/backends/*.py", "harness/children/*.py", "suites/**/*.py")

LITERALS: dict[str, frozenset[str]] = {name: frozenset(get_args(value)) for name, value in vars(vocab).items()
                                       if get_origin(value) is Literal}
# Dataclasses whose positional fields are dimensions: Case("m", "trt_rtx", "static") names a variant and shapes.
CONSTRUCTORS = {cls.__name__: tuple(f.name for f in dataclasses.fields(cls)) for cls in (Case, Cell, BuildConfig, RunSettings)}


def scope() -> list[Path]:
    gone = [n for n in NAMED if not (ROOT / n).is_file()]
    assert not gone, f"modules named in NAMED are gone: {gone}"
    return sorted({ROOT / n for n in NAMED} | {p for g in GLOBS for p in ROOT.glob(g)})


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Subscript) and (
        (isinstance(node.value, ast.Name) and node.value.id == "Literal")
        or (isinstance(node.value, ast.Attribute) and node.value.attr == "Literal"))


def _collections(node: ast.AST) -> Iterator[ast.AST]:
    """Tuple / list / set displays and ``Literal[...]`` in an expression, not looking inside calls."""
    if isinstance(node, ast.Call):
        return
    if _is_literal(node):
        yield node
        return
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _collections(child)


def _members(node: ast.AST) -> list[str]:
    return _strings(node.slice) if isinstance(node, ast.Subscript) else _strings(node)


def _definitions(tree: ast.Module) -> Iterator[tuple[ast.stmt, str | None]]:
    """Module- and class-level assignments, with the vocabulary ``Literal`` their annotation names (if any)."""
    bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for body in bodies:
        for stmt in body:
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                typed = next((n.id for n in ast.walk(stmt.annotation) if isinstance(n, ast.Name) and n.id in LITERALS),
                             None)
                yield stmt, typed
            elif isinstance(stmt, ast.Assign):
                yield stmt, None


def redefinitions(source: str, where: str, selections: bool) -> list[str]:
    """Rule 1: collections of two or more words of one vocabulary dimension defined outside the vocabulary."""
    problems = []
    for stmt, typed in _definitions(ast.parse(source)):
        value = stmt.value
        assert value is not None
        for node in _collections(value):
            words = set(_members(node))
            if selections and typed is not None:  # a suite's selection of words, typed with the vocabulary
                problems += [f"{where}:{node.lineno}: {w!r} is not a word of vocab.{typed}"
                             for w in sorted(words - LITERALS[typed])]
                continue
            dims = sorted(name for name, members in LITERALS.items() if len(words & members) >= 2)
            if dims:
                problems.append(f"{where}:{node.lineno}: {sorted(words)} redefines words of vocab.{dims[0]}: import a "
                            "harness.vocab tuple (or, in a suite, type the selection with its Literal)")
    return problems


def _dimension(node: ast.AST) -> str | None:
    """The dimension an expression reads: ``x.variant``, ``variant``, ``d.get("variant")``, ``d["variant"]``."""
    name = None
    if isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
        name = next(iter(_strings(node.args[0])), None)
    elif isinstance(node, ast.Subscript):
        name = next(iter(_strings(node.slice)), None)
    return name if name in vocab.DIMENSIONS else None


def _valid(dimension: str, word: str) -> bool:
    return word == vocab.NA or word in vocab.DIMENSIONS[dimension] or (dimension == "stream" and vocab.is_stream_mode(word))


def _uses(tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, dimension, word) for every string compared with or passed as a dimension."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for a, b in itertools.pairwise(sides):
                for dim_side, value_side in ((a, b), (b, a)):
                    dim = _dimension(dim_side)
                    if dim:
                        yield from ((node.lineno, dim, w) for w in _strings(value_side))
        elif isinstance(node, ast.keyword) and node.arg in vocab.DIMENSIONS:
            yield from ((node.value.lineno, node.arg, w) for w in _strings(node.value))
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2:
            key, value = (_strings(e) if isinstance(e, ast.Constant) else [] for e in node.elts)
            if key and value and key[0] in vocab.DIMENSIONS:  # a build option pair ("seg", "broken")
                yield node.lineno, key[0], value[0]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CONSTRUCTORS:
            for field, arg in zip(CONSTRUCTORS[node.func.id], node.args, strict=False):
                if field in vocab.DIMENSIONS and isinstance(arg, ast.Constant):
                    yield from ((arg.lineno, field, w) for w in _strings(arg))


def stray_words(source: str, where: str) -> list[str]:
    """Rule 2: strings used as a dimension's value that are not words of that dimension."""
    return [f"{where}:{line}: {word!r} is not a vocab word of {dim!r} ({list(vocab.DIMENSIONS[dim])})"
            for line, dim, word in _uses(ast.parse(source)) if not _valid(dim, word)]


def _check(path: Path) -> list[str]:
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    source = path.read_text()
    return redefinitions(source, rel, selections=rel.startswith("suites/")) + stray_words(source, rel)


def test_scope_is_the_matrix_code():
    names = {str(p.relative_to(ROOT)) for p in scope()}
    assert {"harness/expect/graphs.py", "harness/cases.py", "harness/backends/base.py",
            "suites/cudagraphs/conftest.py", "suites/streams/conftest.py"} <= names, sorted(names)


def test_no_module_defines_or_misspells_matrix_words():
    problems = [p for path in scope() for p in _check(path)]
    assert not problems, "\n".join(problems)
    uses = [u for path in scope() for u in _uses(ast.parse(path.read_text()))]
    assert len(uses) > 200 and {d for _, d, _ in uses} >= {"variant", "backend", "cg_mode", "cuda_graph_strategy",
                                                            "kernel_strategy", "stream", "shapes", "cache", "form"}


def test_every_word_has_a_one_line_definition():
    for name, words in vocab.GLOSSARY.items():
        assert name in LITERALS, f"GLOSSARY names {name!r}, which is no Literal of harness.vocab"
        assert tuple(words) == get_args(getattr(vocab, name)), f"GLOSSARY[{name!r}] differs from vocab.{name}"
        for word, text in words.items():
            assert text.strip() and "\n" not in text, f"{name} {word!r}: one line of definition, please"
    for name, members in LITERALS.items():
        home = [d for d in vocab.GLOSSARY if members <= LITERALS[d]]
        assert home, f"vocab.{name} {sorted(members)} is no subset of a dimension with definitions (GLOSSARY)"


def test_tuples_dimensions_and_config_agree_with_the_literals():
    tuples = {n: v for n, v in vars(vocab).items() if n.isupper() and isinstance(v, tuple)}
    for values in tuples.values():
        assert any(frozenset(values) == members for members in LITERALS.values()), values
    assert all(any(v is t for t in tuples.values()) for v in vocab.DIMENSIONS.values())
    assert tuple(config.VARIANTS) == vocab.VARIANTS
    assert {backend for backend, _ in config.VARIANTS.values()} == set(vocab.BACKENDS)
    for profile in config.PROFILES.values():
        assert set(profile.cpu_variants) | set(profile.cuda_variants) <= set(vocab.VARIANTS), profile.name


SYNTHETIC = '''
from typing import Literal
CG_MODES = ("standard", "subgraph")
class Knobs:
    KERNELS: list[str] = ["lazy", "eager"]
Capture = Literal["side", "current"]
def cells(case, cell, g):
    if case.variant == "trt-rtx":
        g(kernel_strategy="lazzy")
    rows = [Case("m", "tensorrt", "static"), (("seg", "borken"),)]
    return cell.stream in ("default", "green16", "greeen")
'''
CLEAN = '''
from harness.vocab import BOUND_STREAM_MODES, CG_MODES, CacheState
POSITIVE = (*BOUND_STREAM_MODES, "green16", "torchgreen32")
RTX_CACHE: tuple[CacheState, ...] = ("off", "warm")
ROW = dict(cg_mode=("subgraph", "whole_graph"))
def cells(case, cell, g):
    if case.variant == "trt_rtx" and cell.stream in ("default", "green16", "n/a"):
        g(kernel_strategy="lazy", extra=(("seg", "broken"),))
    return [Case("m", "torch_trt", "static") for m in CG_MODES]
'''


def test_the_checks_flag_a_module_that_defines_or_misspells_words(tmp_path):
    """Negative control: a synthetic module that redefines CG_MODES (and more) is flagged at every bad line."""
    bad = tmp_path / "bad_suite.py"
    bad.write_text(SYNTHETIC)
    problems = _check(bad)
    flagged = {int(p.split(":")[1]) for p in problems}
    assert flagged == {3, 5, 6, 8, 9, 10, 11}, "\n".join(problems)
    assert any("redefines words of vocab.CgMode" in p or "vocab.NativeCgMode" in p or "vocab.TorchTrtCgMode" in p
               for p in problems if ":3:" in p), problems
    assert sum("'tensorrt' is not a vocab word of 'variant'" in p for p in problems) == 1
    assert sum("'greeen'" in p for p in problems) == 1 and not any("'green16'" in p for p in problems)
    # the same selection, untyped, in a suite is a redefinition; typed with the vocabulary it is a selection
    assert redefinitions('RTX_CACHE = ("off", "warm")\n', "suites/x.py", selections=True)
    assert not redefinitions('RTX_CACHE: tuple[CacheState, ...] = ("off", "warm")\n', "suites/x.py", selections=True)
    assert redefinitions('RTX_CACHE: tuple[CacheState, ...] = ("off", "warm")\n', "harness/x.py", selections=False)
    assert redefinitions('RTX_CACHE: tuple[CacheState, ...] = ("off", "hot")\n', "suites/x.py", selections=True) == [
        "suites/x.py:1: 'hot' is not a word of vocab.CacheState"]
    assert stray_words('Case("m", "eager", "static", cache="hot")\n', "suites/x.py") == [
        f"suites/x.py:1: 'hot' is not a vocab word of 'cache' ({list(vocab.CACHE_STATES)})"]


# The definitions the vocabulary replaced, as they stood in the backends and the oracle: each must be flagged again.
FORMER = ('CG_MODES = ("standard", "subgraph", "whole_graph", "outer_capture")',
          'CG_MODES = ("standard", "outer_capture")  # RunSettings.cg_mode for the native adapter',
          'CG_MODES = ("standard", "subgraph", "whole_graph")  # RunSettings.cg_mode',
          'STREAM_MODES = ("default", "caller", "external", "green")',
          '_TRT_COMMON = {"strategy": ("disabled", "whole_graph_capture"), "kernel": ("lazy", "eager", "none")}',
          'RTX_VARIANTS = ("trt_rtx", "torch_trt")',
          'CACHE_BACKENDS = ("compile", "trt_rtx", "torch_trt")')


def test_the_former_local_definitions_are_flagged():
    for path in ("harness/backends/base.py", "harness/expect/graphs.py", "suites/streams/conftest.py"):
        source = (ROOT / path).read_text()
        assert redefinitions(source, path, selections=path.startswith("suites/")) == []
        for line in FORMER:
            assert redefinitions(source + "\n" + line + "\n", path, selections=path.startswith("suites/")), (path, line)


def test_the_checks_pass_a_module_that_uses_the_vocabulary():
    assert redefinitions(CLEAN, "suites/good_suite.py", selections=True) == []
    assert stray_words(CLEAN, "suites/good_suite.py") == []
