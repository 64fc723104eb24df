"""Latency plots (matplotlib, Agg): one figure per model, device and stream; a bar per variant/shapes and batch at
its p50, with a p10–p90 error bar."""

from __future__ import annotations

import io

import pandas as pd


def latency_plots(latency: pd.DataFrame) -> dict[str, bytes]:
    """{file name: PNG bytes}, one figure per (model, device, stream)."""
    if latency.empty:
        return {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    for (model, device, stream), df in latency.groupby(["model", "device", "stream"], sort=True):
        df = df.assign(label=df["variant"].astype(str) + "/" + df["shapes"].astype(str))
        labels = sorted(df["label"].unique())
        batches = sorted(df["batch"].unique())
        fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(batches) * max(1, len(labels)) / 2), 4), dpi=110)
        width = 0.8 / max(1, len(labels))
        for i, label in enumerate(labels):
            sub = df[df["label"] == label].set_index("batch")
            xs = [b + (i - (len(labels) - 1) / 2) * width for b in batches if b in sub.index]
            p50 = [float(sub.loc[b, "p50_ms"]) for b in batches if b in sub.index]
            lo = [p - float(sub.loc[b, "p10_ms"]) for b, p in zip([b for b in batches if b in sub.index], p50, strict=True)]
            hi = [float(sub.loc[b, "p90_ms"]) - p for b, p in zip([b for b in batches if b in sub.index], p50, strict=True)]
            ax.bar(xs, p50, width=width, yerr=[lo, hi], capsize=2, label=label)
        ax.set_xticks(batches)
        ax.set_xlabel("batch")
        ax.set_ylabel("latency p50 (ms), bar = p10–p90")
        ax.set_title(f"{model} on {device}, stream={stream}")
        ax.legend(fontsize=7)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        out[f"latency-{model}-{device}-{stream}.png"] = buf.getvalue()
    return out
