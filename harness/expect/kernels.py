"""Dynamic-shape kernel specialization: how many graphs torch.compile must compile over a batch sweep.

``suites/kernel_strategy`` proves its sweep and specialization count on torch.compile, whose own counters say how
many graphs were compiled (``torch._dynamo.utils.counters["stats"]["unique_graphs"]``). The TensorRT-RTX
strategies that took effect are judged from the library's read-back by ``harness.rtx_checks.kernel_problems``.
"""

from __future__ import annotations

from harness.vocab import Shapes

DYNAMO_01 = "PyTorch dynamo: sizes 0 and 1 are specialized even under dynamic=True (0/1 specialization)"


def expected_graphs(shapes: Shapes, batches: list[int]) -> int:
    """The specialization oracle for torch.compile: graphs compiled over a sweep of ``batches``."""
    if shapes == "static":
        return len(set(batches))  # one graph per new shape
    return 1 + int(1 in batches and len(set(batches)) > 1)  # DYNAMO_01: size 1 apart, one symbolic graph


def specialization_problems(shapes: Shapes, batches: list[int], graphs: int) -> list[str]:
    want = expected_graphs(shapes, batches)
    return [] if graphs == want else [f"{shapes} shapes over batches {batches}: {graphs} graphs compiled, expected {want}"]
