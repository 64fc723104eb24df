"""Model registry: every model the suites run, with its input specs, input generator and accuracy rule.

Both models mirror the upstream Torch-TensorRT RTX tests: resnet18 ``weights=None`` on (4,3,224,224) with
dynamic batch 1/4/8; ConvModel ``Conv2d(3,16,3,padding=1)+ReLU`` on (1..8,3,32,32). Accuracy: the cosine
similarity of the flattened outputs and their largest absolute difference against the fp32 eager reference
(``AccuracyRule``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.errors import BuildConfigError, UnknownChoiceError
from harness.vocab import Shapes

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DimRange:
    """The batch range of a dynamic input: TensorRT optimization-profile min / opt / max."""

    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.opt <= self.max:
            raise BuildConfigError(
                "batch range",
                (self.min, self.opt, self.max),
                "needs 1 <= min <= opt <= max",
                "order the profile as (min, opt, max) with min >= 1",
            )


@dataclass(frozen=True)
class InputSpec:
    """One NCHW input: the static batch, the dynamic batch range, and the per-sample shape (C, H, W)."""

    name: str
    sample_shape: tuple[int, int, int]
    static_batch: int
    dynamic_batch: DimRange

    def shape(self, batch: int) -> tuple[int, ...]:
        return (batch, *self.sample_shape)

    def batches(self, shapes: Shapes) -> tuple[int, ...]:
        """Every batch a cell of this shape kind may be run with."""
        if shapes == "static":
            return (self.static_batch,)
        r = self.dynamic_batch
        return tuple(range(r.min, r.max + 1))

    def check_batch(self, shapes: Shapes, batch: int) -> None:
        valid = self.batches(shapes)
        if batch not in valid:
            raise BuildConfigError(
                "batch",
                batch,
                f"a {shapes}-shape build of input {self.name!r} accepts batches {list(valid)}",
                "pick a batch inside the profile, or build a profile that covers it",
            )


@dataclass(frozen=True)
class AccuracyRule:
    """Output agreement with the fp32 eager reference.

    Passes when the cosine similarity of the flattened outputs is at least ``min_cosine`` and the
    largest absolute difference is at most ``max_abs_rel`` times the largest absolute reference value.
    """

    min_cosine: float
    max_abs_rel: float
    why: str

    def check(self, out: torch.Tensor, ref: torch.Tensor) -> AccuracyResult:
        import torch

        a = out.detach().float().flatten().cpu()
        b = ref.detach().float().flatten().cpu()
        if a.shape != b.shape:
            return AccuracyResult(False, float("nan"), float("inf"), float("inf"), f"shape {a.shape} != {b.shape}")
        finite = bool(torch.isfinite(a).all())
        cos = float(torch.nn.functional.cosine_similarity(a, b, dim=0)) if finite else float("nan")
        max_abs = float((a - b).abs().max())
        bound = self.max_abs_rel * float(b.abs().max())
        ok = finite and cos >= self.min_cosine and max_abs <= bound
        why = "" if ok else (
            f"cosine {cos:.6f} (needs >= {self.min_cosine}), max |diff| {max_abs:.3g} (bound {bound:.3g})"
            + ("" if finite else ", non-finite output")
        )
        return AccuracyResult(ok, cos, max_abs, bound, why)


@dataclass(frozen=True)
class AccuracyResult:
    ok: bool
    cosine: float
    max_abs: float
    bound: float
    why: str


@dataclass(frozen=True)
class ModelEntry:
    """A model the suites run: how to build it, feed it and judge its output."""

    name: str
    description: str
    factory: Callable[[], torch.nn.Module]
    input: InputSpec
    accuracy: AccuracyRule
    seed: int = 0
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    def build(self) -> torch.nn.Module:
        """The fp32 model in eval mode, initialised deterministically from ``seed`` (global RNG untouched)."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = self.factory()
        return model.eval()

    def make_input(self, batch: int, *, seed: int = 1, device: str = "cpu") -> torch.Tensor:
        import torch

        gen = torch.Generator().manual_seed(seed * 1000 + batch)
        x = torch.randn(self.input.shape(batch), generator=gen)
        return x.to(device)

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """fp32 eager output on the CPU: the ground truth every backend is compared with."""
        import torch

        model = self._cache.get("cpu_model")
        if model is None:
            model = self.build()
            self._cache["cpu_model"] = model
        assert isinstance(model, torch.nn.Module)
        with torch.inference_mode():
            return model(x.detach().float().cpu())  # type: ignore[no-any-return]

    def weights_hash(self) -> str:
        """sha256 over the name, input spec and every parameter/buffer: keys on-disk engine caches."""
        cached = self._cache.get("hash")
        if isinstance(cached, str):
            return cached
        h = hashlib.sha256(repr((self.name, self.input, self.seed)).encode())
        for key, tensor in self.build().state_dict().items():
            h.update(key.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        digest = h.hexdigest()[:16]
        self._cache["hash"] = digest
        return digest


def _resnet18() -> torch.nn.Module:
    import torchvision

    model: torch.nn.Module = torchvision.models.resnet18(weights=None)
    return model


def _dynconv() -> torch.nn.Module:
    import torch

    return torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU())


_DYN = DimRange(1, 4, 8)

MODELS: dict[str, ModelEntry] = {
    "resnet18": ModelEntry(
        name="resnet18",
        description="torchvision resnet18, weights=None, seeded init, NCHW 224x224",
        factory=_resnet18,
        input=InputSpec("x", (3, 224, 224), static_batch=4, dynamic_batch=_DYN),
        accuracy=AccuracyRule(
            0.99,
            0.05,
            "20 conv/linear layers; TF32 or fp16-accumulating kernels lose ~1e-3 relative per layer, so "
            "the worst logit may drift a few percent of the largest one; cosine catches gross errors",
        ),
    ),
    "dynconv": ModelEntry(
        name="dynconv",
        description="Conv2d(3,16,3,padding=1)+ReLU, NCHW 32x32",
        factory=_dynconv,
        input=InputSpec("x", (3, 32, 32), static_batch=4, dynamic_batch=_DYN),
        accuracy=AccuracyRule(
            0.99,
            0.01,
            "one 27-term dot product per output; TF32 (10-bit mantissa) bounds the error near "
            "27 * 2^-11 of the largest term, well under 1% of the largest output",
        ),
    ),
}


def get_model(name: str) -> ModelEntry:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownChoiceError("model", name, MODELS) from None
