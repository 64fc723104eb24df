"""Backend configs are validated before any build; builds are shared; PyTorch backends run on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends.base import Backend, BuildCache, BuildConfig, Built, Runner, RunSettings
from harness.backends.torch_backends import CompileBackend, CudaGraphBackend, EagerBackend
from harness.errors import BuildConfigError, UnknownChoiceError
from models import get_model


def test_unknown_strategy_names_the_valid_values():
    with pytest.raises(UnknownChoiceError, match=r"'whole_graph'.*\['disabled', 'whole_graph_capture'\]"):
        RunSettings(cuda_graph_strategy="whole_graph")
    with pytest.raises(UnknownChoiceError, match=r"\['eager', 'lazy', 'none'\]"):
        RunSettings(kernel_strategy="greedy")


def test_bad_build_configs_rejected_before_build():
    with pytest.raises(UnknownChoiceError, match="shapes"):
        BuildConfig("eager", "dynconv", "ragged", "cpu")  # type: ignore[arg-type]
    with pytest.raises(UnknownChoiceError, match="model"):
        BuildConfig("eager", "vgg", "static", "cpu")
    with pytest.raises(UnknownChoiceError, match=r"compile_mode.*'max-autotune'.*reduce-overhead"):
        CompileBackend().validate(BuildConfig("compile", "dynconv", "static", "cpu", (("compile_mode", "max-autotune"),)),
                                  RunSettings())
    with pytest.raises(UnknownChoiceError, match="capture"):
        CudaGraphBackend().validate(BuildConfig("cudagraph", "dynconv", "static", "cuda", (("capture", "side-ish"),)),
                                    RunSettings())
    with pytest.raises(BuildConfigError, match="no TensorRT-RTX runtime knobs"):
        EagerBackend().validate(BuildConfig("eager", "dynconv", "static", "cpu"),
                                RunSettings(cuda_graph_strategy="whole_graph_capture"))


def test_trt_rtx_rejects_bad_options_before_build(tmp_path):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx not installed: pip install '.[rtx]'")
    from harness.backends.trt_rtx import TrtRtxBackend

    b = TrtRtxBackend(tmp_path)
    with pytest.raises(UnknownChoiceError, match=r"'sm90'.*sm120"):
        b.validate(BuildConfig("trt_rtx", "dynconv", "static", "cuda", (("compute_capability", "sm90"),)), RunSettings())
    with pytest.raises(UnknownChoiceError, match="device"):
        b.validate(BuildConfig("trt_rtx", "dynconv", "static", "cpu"), RunSettings())
    assert not list(tmp_path.iterdir())  # nothing was built


def test_build_cache_builds_each_config_once_and_remembers_failures():
    cache = BuildCache()
    cfg = BuildConfig("eager", "dynconv", "static", "cpu")
    calls = []

    def build():
        calls.append(1)
        return Built(cfg, object(), 0.1)

    a, b = cache.get(cfg, build), cache.get(BuildConfig("eager", "dynconv", "static", "cpu"), build)
    assert a is b and len(calls) == 1 and cache.builds == 1
    bad = BuildConfig("eager", "dynconv", "dynamic", "cpu")

    def fail():
        calls.append(1)
        raise RuntimeError("boom")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="boom"):
            cache.get(bad, fail)
    assert len(calls) == 2  # the failing build ran once


def test_options_order_does_not_split_builds():
    a = BuildConfig("compile", "dynconv", "static", "cpu", (("variant", "plain"), ("compile_mode", "default")))
    b = BuildConfig("compile", "dynconv", "static", "cpu", (("compile_mode", "default"), ("variant", "plain")))
    assert a == b and a.key == b.key


@pytest.mark.parametrize("shapes", ["static", "dynamic"], ids=["static", "dynamic"])
def test_eager_backend_runs_dynconv_on_cpu_accurately(shapes):
    backend: Backend = EagerBackend()
    model = get_model("dynconv")
    cfg = BuildConfig("eager", "dynconv", shapes, "cpu")
    backend.validate(cfg, RunSettings())
    runner = backend.load(backend.build(model, cfg), RunSettings())
    assert isinstance(runner, Runner)
    for batch in model.input.batches(shapes):
        x = model.make_input(batch)
        assert model.accuracy.check(runner(x), model.reference(x)).ok
    assert runner.describe()["runtime"] == "pytorch-eager"


def test_trt_rtx_engine_disk_cache(tmp_path: Path):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx not installed: pip install '.[rtx]'")
    from harness.backends.trt_rtx import TrtRtxBackend

    model = get_model("dynconv")
    cfg = BuildConfig("trt_rtx", "dynconv", "dynamic", "cuda")
    first = TrtRtxBackend(tmp_path).build(model, cfg)
    again = TrtRtxBackend(tmp_path).build(model, cfg)  # a fresh backend: comes from disk
    assert not first.from_disk_cache and again.from_disk_cache
    assert first.artifact == again.artifact and first.size_bytes and first.size_bytes > 100_000
    other = TrtRtxBackend(tmp_path).build(model, BuildConfig("trt_rtx", "dynconv", "static", "cuda"))
    assert not other.from_disk_cache  # static and dynamic profiles are different engines


def test_registry_makes_every_backend_and_builds_cuda_only_backends_for_cuda(tmp_path):
    """The registry (harness.backends.registry) names each backend it makes; the variants whose backend needs CUDA
    build for cuda on a CPU run, the others for the run's device; unknown names are refused with the valid ones."""
    from harness.backends.registry import make_backend, variant_config
    from harness.config import VARIANTS
    from harness.vocab import BACKENDS, CUDA_ONLY_BACKENDS

    assert [make_backend(name, tmp_path).name for name in BACKENDS] == list(BACKENDS)
    devices = {v: variant_config(v, "dynconv", "static", "cpu").device for v in VARIANTS}
    assert devices == {"eager": "cpu", "cudagraph": "cuda", "compile": "cpu", "compile-ro": "cpu", "trt_rtx": "cuda",
                       "torch_trt": "cuda"}
    assert {VARIANTS[v][0] for v, d in devices.items() if d == "cuda"} == set(CUDA_ONLY_BACKENDS)
    ro = variant_config("compile-ro", "dynconv", "static", "cuda", (("form", "plain"),))
    assert ro.backend == "compile" and dict(ro.options) == {"compile_mode": "reduce-overhead", "form": "plain"}
    with pytest.raises(UnknownChoiceError, match=r"'tensorrt'.*trt_rtx"):
        make_backend("tensorrt", tmp_path)
    with pytest.raises(UnknownChoiceError, match=r"backend variant 'tensorrt'.*compile-ro"):
        variant_config("tensorrt", "dynconv", "static", "cpu")
