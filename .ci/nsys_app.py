"""A user's own program, for ``.ci/gpu-nsys-app``: ranges named by the application, not by the harness.

Two threads, four steps each. The ``encoder`` thread runs a small MLP on a stream of a 16-SM green context
(``torch.cuda.green_contexts``) inside ``encoder`` ranges of the ``app`` domain (the nvtx package registers the
string: ``textId`` in the export); the ``decoder`` thread runs another MLP on a stream of the primary context
inside ``decoder`` ranges (``torch.cuda.nvtx``: inline text, default domain). Each thread's ranges nest in a
``step <n>`` range. Exit 0 when both threads' outputs are finite.
"""

from __future__ import annotations

import threading

import nvtx
import torch

STEPS = 4


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256)).cuda().eval()


def green_stream(sms: int) -> tuple[object, torch.cuda.Stream]:
    from torch.cuda.green_contexts import GreenContext

    ctx = GreenContext.create(num_sms=sms, device_id=0)
    return ctx, ctx.Stream()


@torch.no_grad()
def encoder(model: torch.nn.Module, stream: torch.cuda.Stream, out: list[torch.Tensor]) -> None:
    x = torch.randn(64, 256, device="cuda")
    torch.cuda.synchronize()
    for i in range(STEPS):
        with nvtx.annotate(f"step {i}", domain="app"), nvtx.annotate("encoder", domain="app"), torch.cuda.stream(stream):
            y = model(x)
        stream.synchronize()
    out.append(y)


@torch.no_grad()
def decoder(model: torch.nn.Module, stream: torch.cuda.Stream, out: list[torch.Tensor]) -> None:
    x = torch.randn(64, 256, device="cuda")
    torch.cuda.synchronize()
    for i in range(STEPS):
        torch.cuda.nvtx.range_push(f"step {i}")
        torch.cuda.nvtx.range_push("decoder")
        with torch.cuda.stream(stream):
            y = model(x)
        torch.cuda.nvtx.range_pop()
        torch.cuda.nvtx.range_pop()
        stream.synchronize()
    out.append(y)


def main() -> int:
    torch.zeros(1, device="cuda")  # the primary context first, as torch's green contexts expect
    enc, dec = mlp(), mlp()
    _ctx, enc_stream = green_stream(16)
    dec_stream = torch.cuda.Stream()
    with torch.no_grad():
        for m, s in ((enc, enc_stream), (dec, dec_stream)):  # warm-up (cuBLAS handles), outside every range
            with torch.cuda.stream(s):
                m(torch.randn(64, 256, device="cuda"))
        torch.cuda.synchronize()
        outs: list[torch.Tensor] = []
        threads = [threading.Thread(target=encoder, args=(enc, enc_stream, outs), name="encoder"),
                   threading.Thread(target=decoder, args=(dec, dec_stream, outs), name="decoder")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ok = len(outs) == 2 and all(bool(torch.isfinite(o).all()) for o in outs)
    print(f"nsys_app: {len(outs)} threads finished, outputs finite: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
