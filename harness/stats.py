"""Sample statistics: one home for the numbers the timing engine, reports, history, gate and calibration show.

``Samples``: a frozen set of latency samples, sorted once on construction. Its quantiles interpolate linearly
between the closest ranks (position q x (n - 1) in the sorted samples: numpy's "linear", Python's
``statistics.quantiles(method="inclusive")``); mean, sample standard deviation, CV (std / mean), relative
standard error of the mean (RSE, std / sqrt(n) / mean), IQR, min and max. ``rse`` is the same RSE of a plain
list (the stop rule of the timing loop asks it of a list that grows every round).

Pooled standard deviation of several groups (each around its own mean): the regression gate's between-run spread of
log round p50s.

Mann-Whitney U: two-sided, normal approximation with tie correction and continuity correction (the
harness compares samples of 20 and more, where the approximation holds).

Step detection: the piecewise-constant fit asv uses for its regression dates, solved exactly by dynamic
programming: minimise the squared error of a step function plus a penalty per step. The penalty is
``beta * sigma^2 * log(n)`` (beta 4) with sigma estimated robustly from successive differences, so noise alone
rarely buys a step.

Welch's t test: the comparison of two small sets of run-level values (one p50 per round), with the
Student t distribution evaluated through the regularized incomplete beta function.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.errors import UsageError


@dataclass(frozen=True, init=False)
class Samples:
    """Samples (any order in, ascending kept): sorted once here, so no statistic sorts again. Empty: NaN
    statistics (RSE infinite)."""

    values: tuple[float, ...]  # ascending

    def __init__(self, values: Iterable[float]) -> None:
        object.__setattr__(self, "values", tuple(sorted(values)))

    @property
    def n(self) -> int:
        return len(self.values)

    def quantile(self, q: float) -> float:
        """Linear interpolation between the closest ranks: position ``q * (n - 1)`` of the sorted samples."""
        if not 0.0 <= q <= 1.0:
            raise UsageError("quantile", q, "needs 0 <= q <= 1", "pass a fraction, e.g. 0.5 for the median")
        s = self.values
        if not s:
            return math.nan
        pos = q * (len(s) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    @property
    def p50(self) -> float:
        return self.quantile(0.5)

    @property
    def iqr(self) -> float:
        return self.quantile(0.75) - self.quantile(0.25)

    @property
    def min(self) -> float:
        return self.values[0] if self.values else math.nan

    @property
    def max(self) -> float:
        return self.values[-1] if self.values else math.nan

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def stdev(self) -> float:
        """Sample standard deviation (n - 1); NaN under 2 samples."""
        return statistics.stdev(self.values) if self.n >= 2 else math.nan

    @property
    def cv(self) -> float:
        """Coefficient of variation, std / mean; NaN under 2 samples or at a zero mean."""
        return self.stdev / self.mean if self.n >= 2 and self.mean != 0 else math.nan

    @property
    def rse(self) -> float:
        return rse(self.values)

    def summary(self) -> dict[str, float]:
        """p10, p50, p90, p95, p99, mean, min, max, cv, iqr and n, the keys a latency record's ``stats`` starts with."""
        return {"p10": self.quantile(0.10), "p50": self.quantile(0.50), "p90": self.quantile(0.90),
                "p95": self.quantile(0.95), "p99": self.quantile(0.99), "mean": self.mean, "min": self.min,
                "max": self.max, "cv": self.cv, "iqr": self.iqr, "n": float(self.n)}


def rse(samples: Sequence[float]) -> float:
    """Relative standard error of the mean, std / sqrt(n) / mean; infinite under 2 samples or at a mean <= 0."""
    if len(samples) < 2:
        return math.inf
    mean = statistics.fmean(samples)
    return statistics.stdev(samples) / math.sqrt(len(samples)) / mean if mean > 0 else math.inf


def pooled_sd(groups: Iterable[Sequence[float]]) -> float:
    """sqrt(sum of squared deviations of each group around its own mean / sum of (n - 1)); groups of one value add
    nothing; NaN when no group has two values."""
    ss, df = 0.0, 0
    for g in groups:
        if len(g) > 1:
            m = statistics.fmean(g)
            ss += sum((x - m) ** 2 for x in g)
            df += len(g) - 1
    return math.sqrt(ss / df) if df else math.nan


def _ranks(values: list[float]) -> tuple[list[float], float]:
    """Average ranks (1-based) and the tie term sum(t^3 - t)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    return ranks, ties


def mann_whitney_u(a: list[float], b: list[float]) -> tuple[float, float]:
    """(U of ``a``, two-sided p-value)."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    ranks, ties = _ranks([*a, *b])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    mu = n1 * n2 / 2
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return u1, 1.0
    z = (abs(u1 - mu) - 0.5) / math.sqrt(var)
    return u1, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        for num in (even, odd):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b), 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(ln) * _betacf(a, b, x) / a
    return 1.0 - math.exp(ln) * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    if math.isnan(t) or df <= 0:
        return math.nan
    if math.isinf(t):
        return 0.0
    return betainc(df / 2, 0.5, df / (df + t * t))


def welch_t(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """(t, degrees of freedom, two-sided p) of mean(b) - mean(a); NaNs when a side has fewer than 2 values."""
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, math.nan
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff = statistics.fmean(b) - statistics.fmean(a)
    se2 = va + vb
    if se2 == 0:
        return (0.0, math.inf, 1.0) if diff == 0 else (math.copysign(math.inf, diff), math.inf, 0.0)
    denom = va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)
    df = se2**2 / denom if denom > 0 and se2**2 > 0 else float(len(a) + len(b) - 2)  # underflow: pooled df
    t = diff / math.sqrt(se2)
    return t, df, t_two_sided_p(t, df)


@dataclass(frozen=True)
class Step:
    index: int  # first point of the new level
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after / self.before - 1 if self.before else math.inf


def robust_sigma(y: list[float]) -> float:
    """Noise level from successive differences (MAD-based, immune to the steps themselves)."""
    if len(y) < 3:
        return 0.0
    d = [b - a for a, b in itertools.pairwise(y)]
    med = statistics.median(d)
    mad = statistics.median(abs(x - med) for x in d)
    return 1.4826 * mad / math.sqrt(2)


def detect_steps(y: list[float], beta: float = 4.0, min_rel: float = 0.0) -> list[Step]:
    """Optimal step function by DP; steps smaller than ``min_rel`` (relative) are merged away."""
    n = len(y)
    if n < 2:
        return []
    sigma = robust_sigma(y)
    scale = max(sigma, 1e-3 * (abs(statistics.fmean(y)) or 1.0))
    penalty = beta * scale**2 * math.log(n)
    prefix, prefix2 = [0.0], [0.0]
    for v in y:
        prefix.append(prefix[-1] + v)
        prefix2.append(prefix2[-1] + v * v)

    def cost(i: int, j: int) -> float:  # squared error of y[i:j] around its mean
        s, s2, m = prefix[j] - prefix[i], prefix2[j] - prefix2[i], j - i
        return s2 - s * s / m

    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            c = best[i] + cost(i, j) + (penalty if i > 0 else 0.0)
            if c < best[j]:
                best[j], back[j] = c, i
    cuts, j = [], n
    while j > 0:
        cuts.append(back[j])
        j = back[j]
    bounds = sorted(set(cuts) | {n})
    levels = [(a, b, statistics.fmean(y[a:b])) for a, b in itertools.pairwise(bounds)]
    steps = [Step(b0, m0, m1) for (_, b0, m0), (_, _, m1) in itertools.pairwise(levels)]
    return [s for s in steps if abs(s.change) >= min_rel]
