"""A plain-text summary of a results file: ``python -m reports.summarize_run RESULTS``.

Cell outcomes per suite and per worker/GPU, cache cold/warm first calls, warm speed-ups, specialization counts
(graphs compiled), lost updates, the most frequent skip reasons, the failed cells and the findings: what a CI log
should show without opening the report.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from harness.results import Results, read_results


def _suite(nodeid: str) -> str:
    parts = nodeid.split("::")[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def summary(res: Results) -> list[str]:
    out = [*res.status_lines(),
           f"run {res.meta.get('run_id')}: {len(res.cells)} cells {dict(Counter(c['outcome'] for c in res.cells))}"]
    by_suite: dict[str, Counter[str]] = {}
    for c in res.cells:
        by_suite.setdefault(_suite(c["nodeid"]), Counter())[c["outcome"]] += 1
    out += [f"  {s:32} {dict(n)}" for s, n in sorted(by_suite.items())]
    workers = Counter((c.get("worker", "?"), c.get("gpu", "?")) for c in res.cells)
    out.append("workers (worker, gpu): " + ", ".join(f"{w}@{g}={n}" for (w, g), n in sorted(workers.items())))
    for r in res.records:
        if r["metric"] == "first_call_ms" and r.get("start"):
            out.append(f"  cache {r['start']:8} {r['case_id']}: first call {r['value']:.1f} ms, process {r.get('process_s')} s")
        elif r["metric"] in ("warm_speedup", "graphs_compiled", "lost_updates"):
            out.append(f"  {r['metric']} {r['case_id']}: {r['value']:.2f} {r['unit']}")
    skips = Counter(c["reason"][:140] for c in res.cells if c["outcome"] == "skipped")
    out.append("skip reasons:")
    out += [f"  {n:5} {why}" for why, n in skips.most_common(12)]
    fails = [c for c in res.cells if c["outcome"] == "failed"]
    out += [f"FAILED {c['nodeid']}: {c['reason'][:300]}" for c in fails]
    out += [f"finding [{f['case_id']}] {f['text'][:300]}" for f in res.findings]
    return out


if __name__ == "__main__":
    print("\n".join(summary(read_results(Path(sys.argv[1])))))
