"""The fresh-process latency child: real numbers come back from a real child; a bad spec comes back as an error."""

from __future__ import annotations

from dataclasses import asdict

from harness.children.latency_child import LatencyRun, run_fresh
from harness.timing import Measurement, TimingSpec

QUICK = asdict(TimingSpec(warmup_s=0.0, min_samples=5, max_samples=5, max_time_s=0.5))


def test_child_times_each_batch_after_checking_it(tmp_path):
    out = run_fresh(LatencyRun("dynconv", "eager", "dynamic", (1, 3), QUICK, str(tmp_path), device="cpu"), timeout_s=300)
    assert "error" not in out, out
    assert [r["batch"] for r in out["rows"]] == [1, 3] and all(r["ok"] for r in out["rows"])
    m = Measurement.from_dict(out["rows"][1]["measurement"])
    assert m.clock == "host" and m.n == 5 and all(s > 0 for s in m.samples_ms)
    assert out["ran"]["runtime"] == "pytorch-eager" and out["process_s"] > 0


def test_child_failure_is_reported_not_lost(tmp_path):
    out = run_fresh(LatencyRun("dynconv", "no-such-variant", "static", (2,), QUICK, str(tmp_path), device="cpu"))
    assert "error" in out and "no-such-variant" in out["error"], out

