"""Exact test of heterogeneity of a response rate across diseases.

The Freeman-Halton extension of Fisher's exact test to a k x 2 table,
computed by enumerating every table with the observed margins (k is 3 here,
so the enumeration is tiny).  When a column margin is zero (every patient
responded, or none did) the conditional distribution has a single table: the
test carries no information, and the result says so instead of reporting a
p-value of 1.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class HeterogeneityResult:
    p_value: float | None
    n_tables: int
    degenerate: bool
    note: str


def _log_prob(xs: tuple[int, ...], ns: tuple[int, ...], total_x: int) -> float:
    n = sum(ns)
    lp = sum(math.lgamma(ni + 1) - math.lgamma(xi + 1) - math.lgamma(ni - xi + 1) for xi, ni in zip(xs, ns))
    return lp - (math.lgamma(n + 1) - math.lgamma(total_x + 1) - math.lgamma(n - total_x + 1))


def freeman_halton(events: list[int], n: list[int]) -> HeterogeneityResult:
    """Exact conditional test of equal proportions across ``len(n)`` groups."""
    if len(events) != len(n) or len(n) < 2:
        raise ValueError("need events and n of equal length >= 2")
    if any(not 0 <= x <= m for x, m in zip(events, n)):
        raise ValueError(f"need 0 <= events <= n, got events={events}, n={n}")
    total_x, total_n = sum(events), sum(n)
    if total_x in (0, total_n):
        what = "responded" if total_x == total_n else "failed to respond"
        return HeterogeneityResult(
            None,
            1,
            True,
            f"not testable: every patient {what}, so the table with these margins is unique "
            "and the data carry no information on heterogeneity",
        )
    ns = tuple(n)
    observed = _log_prob(tuple(events), ns, total_x)
    p, count = 0.0, 0
    for xs in itertools.product(*(range(m + 1) for m in ns[:-1])):
        last = total_x - sum(xs)
        if not 0 <= last <= ns[-1]:
            continue
        count += 1
        lp = _log_prob((*xs, last), ns, total_x)
        if lp <= observed + 1e-9:
            p += math.exp(lp)
    return HeterogeneityResult(min(p, 1.0), count, False, "Freeman-Halton exact test")
