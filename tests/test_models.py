"""Model registry: deterministic init, input specs, the accuracy rule and its negative control."""

from __future__ import annotations

import pytest
import torch

from harness.errors import BuildConfigError, UnknownChoiceError
from models import MODELS, DimRange, get_model


@pytest.mark.parametrize("name", sorted(MODELS), ids=sorted(MODELS))
def test_init_is_deterministic_and_leaves_global_rng_alone(name):
    m = get_model(name)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = m.build().state_dict(), m.build().state_dict()
    assert torch.rand(1) == before
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_dynconv_reference_passes_its_own_rule_and_a_wrong_output_fails():
    m = get_model("dynconv")
    x = m.make_input(4)
    ref = m.reference(x)
    assert m.accuracy.check(ref.clone(), ref).ok
    assert not m.accuracy.check(ref * 1.5, ref).ok  # scaled: max-abs bound
    assert not m.accuracy.check(torch.randn_like(ref), ref).ok  # unrelated: cosine
    nan = ref.clone()
    nan.view(-1)[0] = float("nan")
    assert not m.accuracy.check(nan, ref).ok
    assert not m.accuracy.check(ref[:2], ref).ok  # wrong shape


def test_batch_outside_profile_and_bad_ranges_are_rejected():
    spec = get_model("resnet18").input
    spec.check_batch("dynamic", 8)
    with pytest.raises(BuildConfigError, match=r"batch 9 .*accepts batches \[1, 2, 3, 4, 5, 6, 7, 8\]"):
        spec.check_batch("dynamic", 9)
    with pytest.raises(BuildConfigError, match=r"\[4\]"):
        spec.check_batch("static", 1)
    with pytest.raises(BuildConfigError, match="min <= opt <= max"):
        DimRange(8, 4, 1)
    with pytest.raises(UnknownChoiceError, match="resnet50"):
        get_model("resnet50")


def test_weights_hash_tracks_weights():
    m = get_model("dynconv")
    assert m.weights_hash() == m.weights_hash()
    assert m.weights_hash() != get_model("resnet18").weights_hash()
