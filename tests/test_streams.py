"""Stream-mode parsing and the validation that needs no GPU."""

from __future__ import annotations

import pytest

from harness.errors import UnknownChoiceError, UsageError
from harness.streams import StreamMode, check_external_handle, check_stream_device


@pytest.mark.parametrize(("text", "kind", "sms"), [("default", "default", None), ("caller", "caller", None),
                                                   ("external", "external", None), ("green16", "green", 16),
                                                   ("torchgreen32", "torchgreen", 32)],
                         ids=["default", "caller", "external", "green16", "torchgreen32"])
def test_parse(text, kind, sms):
    m = StreamMode.parse(text)
    assert (m.kind, m.sms, m.name) == (kind, sms, text)


@pytest.mark.parametrize("text", ["green", "greenx", "blue", "green-4", ""],
                         ids=["no-sms", "not-a-number", "unknown", "negative", "empty"])
def test_unknown_modes(text):
    with pytest.raises(UnknownChoiceError, match="green<N>"):
        StreamMode.parse(text)


@pytest.mark.parametrize(("handle", "name"), [(1, "cudaStreamLegacy"), (2, "cudaStreamPerThread"), (0, "legacy default")],
                         ids=["legacy", "per-thread", "null"])
def test_magic_handles_rejected(handle, name):
    with pytest.raises(UsageError, match=name):
        check_external_handle(handle)
    assert check_external_handle(0x7F001234) == 0x7F001234


def test_stream_of_another_device():
    """``check_stream_device`` reads only ``stream.device.index``, as a ``torch.cuda.Stream`` has it: a stand-in stream
    of cuda:1 proves the rule on every machine (no second GPU needed)."""

    class Dev:
        index = 1

    class S:
        device = Dev()

    check_stream_device(S(), 1)
    with pytest.raises(UsageError, match="must run on a stream of cuda:0"):
        check_stream_device(S(), 0)


def test_nvtx_range_text_reads_well_and_parses_back():
    from harness.nvtx_ranges import EXPECT, range_text

    text = range_text("replay", "resnet18-sta-eager-stream=green32", "green32", 32)
    assert text == "replay resnet18-sta-eager-stream=green32 [expect green32 sms=32]"
    m = EXPECT.search(text)
    assert m and m.group("mode") == "green32" and m.group("sms") == "32"
    assert range_text("timed", "dynconv-dyn-eager-stream=default") == "timed dynconv-dyn-eager-stream=default"
    with pytest.raises(ValueError, match="replay"):
        range_text("replays", "x")
