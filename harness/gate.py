"""The regression gate: classify every case of HEAD against BASE on run-level evidence.

Within one run, iterations are not independent samples of the code's speed: clocks, memory placement,
neighbours and host load change from run to run by more than the spread inside a run, so a test over
iterations finds any two runs "significantly" different. The gate therefore decides only on run-level
variation, from one or both of:

* rounds: each case measured in several rounds, each in a fresh process (the ``nightly`` profile). Rounds
  disturbed far above their side's fastest round (``disturbed``) are left out; with at least
  ``min_rounds`` rounds left on both sides, Welch's t test on the log of the round p50s gives a p-value,
  and the pooled round-to-round spread is the case's between-run CV.
* history: at least ``min_history`` earlier runs of the case on the same machine and GPU. The robust
  run-to-run spread of their log p50 (successive differences, immune to real steps) is the between-run CV,
  and ``log(head / base) / (CV * sqrt 2)`` against Student's t (runs - 1 degrees of freedom) a p-value.

Both sources, where present, must agree (the larger p-value counts). A case is "slower" (or "faster") only
when its change exceeds max(``min_change``, ``cv_factor`` x between-run CV) and p < ``alpha``; "same" when
the change is within that threshold; "insufficient evidence", with the reason, when neither source is there
or the change is over the threshold without p < alpha. When base and head are the same code on the same
machine and GPU, the comparison measures noise: it says so, and a statistically flagged case is reported
as "insufficient evidence" (its evidence did not cover the noise), never as "slower". A case only HEAD has is
"new", one only BASE has "gone" (``gate_exit`` refuses a HEAD that lacks cases of BASE unless allowed).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from harness.errors import UsageError
from harness.history import RunSummary, between_run_sigma, case_rounds, same_hardware
from harness.stats import pooled_sd, t_two_sided_p, welch_t

VERDICTS = ("slower", "faster", "same", "insufficient evidence", "new", "gone")
INSUFFICIENT = "insufficient evidence"


@dataclass(frozen=True)
class Thresholds:
    """What counts as a change. Validated on construction (flag names in the messages)."""

    min_change: float = 0.05
    cv_factor: float = 3.0
    alpha: float = 0.01
    min_rounds: int = 3
    min_history: int = 5

    def __post_init__(self) -> None:
        rules = (("--min-change", self.min_change, 0 <= self.min_change < 1, "needs 0 <= min change < 1",
                  "pass a fraction, e.g. 0.05 for 5 %"),
                 ("--cv-factor", self.cv_factor, 0 <= self.cv_factor < math.inf, "needs a finite cv factor >= 0",
                  "pass e.g. 3"),
                 ("--alpha", self.alpha, 0 < self.alpha < 1, "needs 0 < alpha < 1", "pass a significance level, e.g. 0.01"),
                 ("--min-rounds", self.min_rounds, isinstance(self.min_rounds, int) and self.min_rounds >= 2,
                  "needs an integer >= 2 (a spread needs two rounds)", "pass e.g. 3"),
                 ("--min-history", self.min_history, isinstance(self.min_history, int) and self.min_history >= 3,
                  "needs an integer >= 3 (a robust spread needs three runs)", "pass e.g. 5"))
        for flag, value, ok, rule, fix in rules:
            if not ok:  # NaN fails every comparison, so it lands here too
                raise UsageError(flag, value, rule, fix)


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class CaseComparison:
    key: str
    base_p50: float
    head_p50: float
    change: float  # head / base - 1 (each p50 the median of the rounds left after ``disturbed``)
    p_value: float
    threshold: float
    between_cv: float
    verdict: str  # one of VERDICTS
    evidence: str = ""  # what the decision rests on, e.g. "rounds 5+5, history 12"
    reason: str = ""  # why "insufficient evidence" (or why a noise check overruled the statistics)
    statistical: str = ""  # the verdict of the evidence alone, before the same-code rule


@dataclass(frozen=True)
class Comparison:
    base: RunSummary
    head: RunSummary
    rows: tuple[CaseComparison, ...]
    noise_check: str = ""  # non-empty: base and head are the same code on the same hardware
    missing: tuple[str, ...] = field(default=())  # cases of BASE that HEAD lacks

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.rows)


def _log_rounds(case: dict[str, object]) -> list[float]:
    return [math.log(x) for x in case_rounds(case) if x > 0]


OUTLIER_SIGMAS = 5.0  # a round this many core sigmas above its side's fastest round was disturbed
OUTLIER_FLOOR = 0.05  # ... and never less than 5 x 0.05 (log scale: 28 %) above it: gross disturbances only


def _core_sd(a: list[float], b: list[float]) -> float:
    """Pooled standard deviation of the fastest half (rounded up) of each side's rounds: the spread of
    undisturbed rounds, even when up to half of a side's rounds were disturbed; 0 when no half has two rounds."""
    sd = pooled_sd([sorted(side)[: (len(side) + 1) // 2] for side in (a, b)])
    return 0.0 if math.isnan(sd) else sd


def disturbed(a: list[float], b: list[float]) -> tuple[list[float], list[float]]:
    """Both sides (log round p50s) without their disturbed rounds. Disturbance only adds time (host load, a
    neighbour's burst, a CPU thread pool descheduled, which can slow a round a hundredfold), so a round is
    disturbed when it lies more than OUTLIER_SIGMAS x max(core sd, OUTLIER_FLOOR) above its side's fastest
    round (``_core_sd``). When most rounds of a side are disturbed, the few left are too few to decide on."""
    cut = OUTLIER_SIGMAS * max(_core_sd(a, b), OUTLIER_FLOOR)
    lo_a, lo_b = min(a), min(b)
    return [x for x in a if x - lo_a <= cut], [x for x in b if x - lo_b <= cut]


def _evidence(kb: list[float], kh: list[float], dropped: int, hist_sigma: float, n_hist: int,
              t: Thresholds) -> tuple[list[str], list[float], list[float]]:
    """(labels, p-values, between-run CVs) of each source of run-level evidence present, on the kept rounds."""
    labels, ps, cvs = [], [], []
    if len(kb) >= t.min_rounds and len(kh) >= t.min_rounds:
        labels.append(f"rounds {len(kb)}+{len(kh)}" + (f" ({dropped} disturbed left out)" if dropped else ""))
        ps.append(welch_t(kb, kh)[2])
        cvs.append(pooled_sd((kb, kh)))
    if n_hist >= t.min_history and not math.isnan(hist_sigma):
        sigma = max(hist_sigma, 1e-6)
        diff = statistics.median(kh) - statistics.median(kb)
        labels.append(f"history {n_hist}")
        ps.append(t_two_sided_p(diff / (sigma * math.sqrt(2)), n_hist - 1))
        cvs.append(sigma)
    return labels, ps, cvs


def compare_case(key: str, b: dict[str, object], h: dict[str, object], t: Thresholds,
                 history: list[RunSummary]) -> CaseComparison:
    """One case; p50s and change from the rounds left after ``disturbed``."""
    lb, lh = _log_rounds(b), _log_rounds(h)
    kb, kh = disturbed(lb, lh) if lb and lh else (lb, lh)
    dropped = len(lb) + len(lh) - len(kb) - len(kh)
    bp, hp = (math.exp(statistics.median(k)) if k else math.nan for k in (kb, kh))
    change = hp / bp - 1
    hist_sigma, n_hist = between_run_sigma(history, key)
    labels, ps, cvs = _evidence(kb, kh, dropped, hist_sigma, n_hist, t)
    if not labels:
        why = (f"{len(kb)} base and {len(kh)} head round(s) (needs {t.min_rounds} each: run the nightly profile"
               + (f"; {dropped} disturbed round(s) left out of {len(lb)}+{len(lh)}" if dropped else "") + ") "
               f"and {n_hist} run(s) of this case on this machine and GPU in the history (needs {t.min_history})")
        return CaseComparison(key, bp, hp, change, math.nan, t.min_change, math.nan, INSUFFICIENT, "none", why, INSUFFICIENT)
    p, cv = max(ps), max(cvs)
    threshold = max(t.min_change, t.cv_factor * cv)
    evidence = ", ".join(labels)
    if abs(change) <= threshold:
        verdict, why = "same", ""
    elif not p < t.alpha:
        verdict, why = INSUFFICIENT, f"change {change * 100:+.1f}% is over the threshold but p = {p:.2g} >= alpha {t.alpha}"
    else:
        verdict, why = ("slower" if change > 0 else "faster"), ""
    return CaseComparison(key, bp, hp, change, p, threshold, cv, verdict, evidence, why, verdict)


def compare(base: RunSummary, head: RunSummary, t: Thresholds = DEFAULT_THRESHOLDS,
            history: list[RunSummary] | None = None) -> Comparison:
    """Every case of BASE and HEAD, classified. ``history``: earlier runs; only those on HEAD's machine and GPU
    (and neither BASE nor HEAD themselves) count."""
    if base.gpu != head.gpu:
        raise UsageError("base/head GPUs", (base.gpu, head.gpu), "latency is not comparable across GPUs",
                         "compare two runs of the same GPU model")
    same_hw = same_hardware(history or [], head.machine, head.gpu)
    hist = [r for r in same_hw if r.identity not in (base.identity, head.identity)]
    noise = base.same_code(head) and base.machine == head.machine
    rows = []
    for key in sorted(set(base.cases) | set(head.cases)):
        b, h = base.cases.get(key), head.cases.get(key)
        if b is None or h is None:
            v = "new" if b is None else "gone"
            rows.append(CaseComparison(key, b["p50"] if b else math.nan, h["p50"] if h else math.nan, math.nan,
                                       math.nan, math.nan, math.nan, v, statistical=v))
            continue
        row = compare_case(key, b, h, t, hist)
        if noise and row.verdict in ("slower", "faster"):
            row = CaseComparison(row.key, row.base_p50, row.head_p50, row.change, row.p_value, row.threshold,
                                 row.between_cv, INSUFFICIENT, row.evidence,
                                 f"same code on the same machine: this {row.verdict} {row.change * 100:+.1f}% "
                                 "is noise the run-level evidence did not cover", row.statistical)
        rows.append(row)
    flag = (f"base and head are the same code (commit {base.commit[:12]}, same packages) on the same machine "
            f"({head.machine}, {head.gpu}): this comparison measures noise") if noise else ""
    missing = tuple(r.key for r in rows if r.verdict == "gone")
    return Comparison(base, head, tuple(rows), flag, missing)


def gate_exit(c: Comparison, allow_missing: bool = False) -> tuple[int, str]:
    """(exit code, message): 2 when HEAD is empty or lacks cases of BASE (unless ``allow_missing``),
    1 when a case is slower, else 0."""
    if not allow_missing and not c.head.cases:
        return 2, (f"error: head {c.head.run_id!r} holds no latency case (an empty or failed run): the gate has no data. "
                   f"Fix: compare a run that measured latency, or pass --allow-missing")
    if not allow_missing and c.missing:
        listed = "\n".join(f"  {k}" for k in c.missing)
        return 2, (f"error: head {c.head.run_id!r} lacks {len(c.missing)} case(s) of base {c.base.run_id!r}:\n{listed}\n"
                   "Fix: run the same selection in head, or pass --allow-missing")
    if c.count("slower"):
        return 1, f"gate: {c.count('slower')} case(s) slower"
    return 0, "gate: no case slower"


def render_comparison(c: Comparison) -> str:
    b, h = c.base, c.head
    lines = [f"base {b.run_id} ({b.started}, {b.machine}, {b.gpu})  ->  head {h.run_id} ({h.started}, {h.machine}, {h.gpu})"]
    if c.noise_check:
        lines.append(f"NOISE CHECK: {c.noise_check}")
    lines += ["", f"{'case':<56} {'base p50':>10} {'head p50':>10} {'change':>8} {'p':>9} {'thresh':>7}  "
                  f"{'evidence':<22} verdict"]
    for r in c.rows:
        tail = f"{r.verdict} ({r.reason})" if r.reason else r.verdict
        lines.append(f"{r.key:<56} {r.base_p50:>10.4f} {r.head_p50:>10.4f} {r.change * 100:>7.2f}% {r.p_value:>9.2g} "
                     f"{r.threshold * 100:>6.1f}%  {r.evidence:<22} {tail}")
    lines += ["", "  ".join(f"{v}: {c.count(v)}" for v in VERDICTS),
              "Units: p50 in milliseconds per forward call (the median of a run's round p50s, disturbed rounds left "
              "out); change = head "
              "p50 / base p50 - 1; p = Welch t on the log round p50s and/or Student t against the history's run-to-run "
              "spread (the larger counts); thresh = max(min change, cv factor x between-run CV)."]
    return "\n".join(lines)
