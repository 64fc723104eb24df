"""Thin helpers over the ``tensorrt_rtx`` Python API, imported only when a cell needs TensorRT-RTX."""

from __future__ import annotations

import threading
from typing import Any


def _trt() -> Any:
    import tensorrt_rtx

    return tensorrt_rtx


class CapturingLogger:
    """An ``ILogger`` that keeps every message at WARNING or above, so a refusal keeps the library's words."""

    def __new__(cls) -> Any:
        trt = _trt()

        base: Any = trt.ILogger

        class _Logger(base):  # type: ignore[misc]
            def __init__(self) -> None:
                trt.ILogger.__init__(self)
                self.messages: list[tuple[str, str]] = []
                self._lock = threading.Lock()

            def log(self, severity: Any, msg: str) -> None:
                if severity <= trt.ILogger.Severity.WARNING:
                    with self._lock:
                        self.messages.append((str(severity).rsplit(".", 1)[-1], msg))

            def errors(self) -> list[str]:
                return [m for s, m in self.messages if s in ("ERROR", "INTERNAL_ERROR")]

            def clear(self) -> None:
                with self._lock:
                    self.messages.clear()

        return _Logger()


# The refusals that mean "this machine cannot run TensorRT-RTX engines", each as the library words it (seen in
# tensorrt_rtx 1.7.1: the H100/H200 refusal, and cudaError 35 on a machine with no driver). Anything else a
# deserialize reports (a serialization mismatch, a corrupt plan) is a defect of the engine and fails the cell.
KNOWN_REFUSALS = (
    "cannot run on this GPU, which has compute capability",
    "CUDA driver version is insufficient",
    "no CUDA-capable device is detected",
)


def known_refusal(text: str) -> bool:
    return any(k in text for k in KNOWN_REFUSALS)


def refusal_text(errors: list[str]) -> str:
    """The library's own reason: its first error (the root cause; later ones repeat it), whitespace folded."""
    if not errors:
        return "deserialize_cuda_engine returned None and logged nothing"
    return " ".join(errors[0].split())


def tiny_engine_roundtrip() -> tuple[int, str]:
    """Build a one-ReLU engine, try to deserialize it. Returns (engine bytes, refusal text or "")."""
    trt = _trt()
    logger = CapturingLogger()
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (1, 8))
    net.mark_output(net.add_activation(x, trt.ActivationType.RELU).get_output(0))
    plan = builder.build_serialized_network(net, builder.create_builder_config())
    if plan is None:
        raise RuntimeError("; ".join(logger.errors()) or "build_serialized_network returned None")
    size = int(plan.nbytes)
    logger.clear()
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    if engine is None:
        return size, refusal_text(logger.errors())
    del engine
    return size, ""
