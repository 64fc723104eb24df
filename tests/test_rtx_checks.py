"""The TensorRT-RTX cell checks and the native adapter's refusal rule, with negative controls.

L2 (executed on this CPU with the real tensorrt_rtx): a valid plan deserializes or is refused for this machine only
(no driver here), a corrupt plan is an engine error that fails the cell instead of skipping it. The read-back checks
are pure functions over a runner's account: each is fed the account a correct cell gives and deliberately wrong
ones (the knob ignored, the warning doubled, an extra context), and must pass the first and flag the others.
"""

from __future__ import annotations

import pytest

from harness.backends.base import BuildConfig, Built, RunSettings
from harness.errors import CapabilityMissing
from harness.expect.graphs import OUTER_CAPTURE_WARN, RTX_OVERRIDE_WARN, Cell, expect
from harness.rtx_checks import context_problems, graph_problems, kernel_problems, warning_problems
from models import get_model

trt_rtx = pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx not installed: pip install '.[rtx]'")


def _cell(**kw: str) -> Cell:
    base = dict(backend="torch_trt", version="2.14", runtime="python", cg_mode="subgraph",
                cuda_graph_strategy="disabled",
                kernel_strategy="lazy", shapes="static", stream="default", segmentation="single", form="plain")
    return Cell(**{**base, **kw})


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> bytes:
    from harness.backends.trt_rtx import TrtRtxBackend

    cfg = BuildConfig("trt_rtx", "dynconv", "static", "cuda")
    built = TrtRtxBackend(tmp_path_factory.mktemp("e")).build(get_model("dynconv"), cfg)
    return bytes(built.artifact)


def test_valid_plan_is_refused_only_for_this_machine(plan):
    from harness.backends.trt_rtx import plan_problem

    assert plan_problem(plan) == ""


@pytest.mark.parametrize("damage", ["truncated", "garbage"], ids=["truncated", "garbage"])
def test_corrupt_plan_is_an_engine_error_not_a_skip(plan, damage, tmp_path):
    from harness.backends.trt_rtx import TrtRtxBackend, plan_problem

    bad = plan[: len(plan) // 3] if damage == "truncated" else b"not an engine" * 64
    assert plan_problem(bad), "a corrupt plan passed the header check"
    built = Built(BuildConfig("trt_rtx", "dynconv", "static", "cuda"), bad, 0.0, len(bad))
    with pytest.raises(RuntimeError, match="could not deserialize the engine"):
        TrtRtxBackend(tmp_path).load_engine(built, RunSettings())


def test_valid_plan_on_a_machine_without_a_driver_skips_with_the_library_words(plan, tmp_path):
    from harness.backends.trt_rtx import TrtRtxBackend
    from harness.probe import probe_gpu

    if probe_gpu()[0] is not None:
        pytest.skip("this machine has a GPU: the refusal (if any) is its compute capability, checked on the GPU host")
    built = Built(BuildConfig("trt_rtx", "dynconv", "static", "cuda"), plan, 0.0, len(plan))
    with pytest.raises(CapabilityMissing, match="CUDA driver version is insufficient"):
        TrtRtxBackend(tmp_path).load_engine(built, RunSettings())


def test_override_warning_once_per_engine_and_nowhere_else():
    warns = expect(_cell())
    assert warns.outcome == "warns_override"
    desc = {"engines": "2"}
    assert not warning_problems(warns, [RTX_OVERRIDE_WARN + " ..."] * 2, desc)
    assert warning_problems(warns, [RTX_OVERRIDE_WARN] * 4, desc)  # counted twice (a priming load's too)
    assert warning_problems(warns, [], desc)
    quiet = expect(_cell(cuda_graph_strategy="whole_graph_capture"))
    assert not warning_problems(quiet, [], desc)
    assert warning_problems(quiet, [RTX_OVERRIDE_WARN], desc)


def test_cpp_outer_capture_warning_is_required_where_the_row_says():
    row = expect(_cell(runtime="cpp", cg_mode="whole_graph", cuda_graph_strategy="whole_graph_capture", segmentation="broken"))
    assert row.outcome == "forced_off"
    assert not warning_problems(row, ["[W] " + OUTER_CAPTURE_WARN + " on engine x"], {"engines": "1"})
    assert warning_problems(row, [], {"engines": "1"})
    plain = expect(_cell(runtime="cpp", cg_mode="standard"))
    assert warning_problems(plain, [OUTER_CAPTURE_WARN], {"engines": "1"})


def test_graph_owner_read_back():
    row = expect(_cell())  # Python SUBGRAPH + disabled: override to RTX-native, module still says disabled
    good = {"module_cuda_graph_strategy": "disabled", "module_kernel_strategy": "lazy",
            "live_cuda_graph_strategy": "whole_graph_capture", "live_kernel_strategy": "lazy",
            "module_type": "GraphModule"}
    assert not graph_problems(_cell(), row, good, [4, 4])
    for key, wrong in (("module_cuda_graph_strategy", "whole_graph_capture"), ("live_cuda_graph_strategy", "disabled"),
                       ("live_kernel_strategy", "eager"), ("module_type", "CudaGraphsTorchTensorRTModule")):
        assert graph_problems(_cell(), row, {**good, key: wrong}, [4, 4]), key
    native = Cell("trt_rtx", "n/a", "n/a", "outer_capture", "whole_graph_capture", "eager", "dynamic", "default", "n/a", "plain")
    nrow = expect(native)
    ok = {"cuda_graph_strategy": "disabled", "kernel_strategy": "eager", "captures": "3", "rtx_native": "forced_off"}
    assert not graph_problems(native, nrow, ok, [1, 8, 4])
    assert graph_problems(native, nrow, {**ok, "cuda_graph_strategy": "whole_graph_capture"}, [1, 8, 4])
    assert graph_problems(native, nrow, {**ok, "captures": "1"}, [1, 8, 4])


def test_contexts_created_lazily_once():
    row = expect(_cell())
    assert not context_problems(row, [0], [1])
    assert context_problems(row, [1], [1])  # created before the first forward
    assert context_problems(row, [0], [2])  # recreated by the override
    for rt in ("python", "cpp"):
        forced = expect(_cell(runtime=rt, cg_mode="whole_graph", cuda_graph_strategy="whole_graph_capture", segmentation="broken"))
        assert not context_problems(forced, [0], [2])
        assert context_problems(forced, [0], [1])


def test_kernel_strategy_read_back():
    assert not kernel_problems("trt_rtx", {"kernel_strategy": "eager"}, "eager")
    assert kernel_problems("trt_rtx", {"kernel_strategy": "lazy"}, "eager")  # the knob ignored
    py = {"runtime": "python", "module_kernel_strategy": "none", "live_kernel_strategy": "lazy"}
    assert kernel_problems("torch_trt", py, "none")
    cpp = {"runtime": "cpp", "module_kernel_strategy": "none"}
    assert not kernel_problems("torch_trt", cpp, "none")
    assert kernel_problems("torch_trt", cpp, "eager")


def test_native_cache_verdict_compares_the_library_with_the_disk():
    """The warm verdict compares what the library's cache holds after deserialize with the file's size read from
    disk: two observations, so a cache that took only part of the file is flagged."""
    from harness.expect.cache import trt_rtx_problems

    warm = {"load_status": "loaded", "file_bytes": 4096, "loaded_bytes": 4096, "cache_bytes_after": 4096}
    assert not trt_rtx_problems(warm, "warm")
    assert trt_rtx_problems({**warm, "loaded_bytes": 1024}, "warm")  # partly taken
    assert trt_rtx_problems({**warm, "cache_bytes_after": 8192}, "warm")  # grew: kernels compiled anew
    assert trt_rtx_problems(warm, "corrupt_cold") and trt_rtx_problems(warm, "cold")


def test_torch_trt_corrupt_cache_is_judged_by_what_the_library_kept():
    """Torch-TensorRT holds a corrupt file's bytes and drops them silently when it drains them (W14
    runtime/_runtime_cache.py:146-148): the corrupt start is the file held before the first forward and a live
    cache after it that is not the file. A verdict expecting "rejected" could never pass; this one can, and fails
    where the corrupt bytes survive."""
    from harness.expect.cache import torch_trt_problems

    corrupt = {"file_bytes": 78, "file_sha": "aa", "loaded_bytes": 78, "cache_bytes_after": 5000, "cache_sha_after": "bb"}
    assert not torch_trt_problems(corrupt, "corrupt_cold")
    assert torch_trt_problems({**corrupt, "cache_sha_after": "aa"}, "corrupt_cold")  # the corrupt bytes survived
    assert torch_trt_problems(corrupt, "warm")  # grew from 78 to 5000 bytes: not a warm start
    assert torch_trt_problems({**corrupt, "loaded_bytes": 0}, "corrupt_cold")
    cold = {"file_bytes": 0, "file_sha": "e3", "loaded_bytes": 0, "cache_bytes_after": 5000, "cache_sha_after": "bb"}
    assert not torch_trt_problems(cold, "cold") and torch_trt_problems(cold, "warm")
