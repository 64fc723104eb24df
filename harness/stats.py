"""Statistics for comparisons: the Mann-Whitney U test and step detection over a history.

Mann-Whitney U: two-sided, normal approximation with tie correction and continuity correction (the
harness compares samples of 20 and more, where the approximation holds).

Step detection: the piecewise-constant fit asv uses for its regression dates, solved exactly by dynamic
programming: minimise the squared error of a step function plus a penalty per step. The penalty is
``beta * sigma^2 * log(n)`` (beta 4) with sigma estimated robustly from successive differences, so noise alone
rarely buys a step.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass


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
