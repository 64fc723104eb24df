"""The loop a user would write, for ``python -m harness bench`` to compare the harness with. Run it as a file
(``python harness/children/reference_loop.py BATCH``), never as part of the harness: it imports nothing from the
harness and builds its own model. torchvision resnet18 (``weights=None``, seeded), ``eval()``, ``inference_mode()``, three warm-up
calls on a side stream, a ``torch.cuda.graph`` capture, 2 s of replays, then 3,000 replays each between its own pair
of CUDA events. Prints one JSON line: p10 / p50 / p90 in ms."""

from __future__ import annotations

import json
import sys
import time


def main(batch: int, replays: int = 3000) -> dict[str, float]:
    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).cuda().eval()
    x = torch.randn(batch, 3, 224, 224, device="cuda")
    with torch.inference_mode():
        side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                model(x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(x)
    end = time.perf_counter() + 2.0
    while time.perf_counter() < end:
        graph.replay()
    torch.cuda.synchronize()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))  # type: ignore[no-untyped-call]
              for _ in range(replays)]
    for start, stop in events:
        start.record()
        graph.replay()
        stop.record()
    torch.cuda.synchronize()
    ms = sorted(a.elapsed_time(b) for a, b in events)
    return {"p10": ms[replays // 10], "p50": ms[replays // 2], "p90": ms[9 * replays // 10], "n": replays}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
