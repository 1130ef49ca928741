"""Exact and approximate intervals for a binomial proportion.

Clopper-Pearson (Clopper & Pearson 1934), Wilson (Wilson 1927) and Jeffreys
(Brown, Cai & DasGupta 2001) intervals, computed with statsmodels.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

#: Contract names of the interval methods -> statsmodels method names.
METHODS = {"clopper-pearson": "beta", "wilson": "wilson", "jeffreys": "jeffreys"}


def interval(events: int, n: int, method: str, level: float = 0.95) -> tuple[float, float]:
    """Two-sided interval for ``events`` successes out of ``n``.

    For Jeffreys, the boundary modification of Brown et al. (2001, sec. 4.1.2)
    is applied: the upper limit is 1 when ``events == n`` and the lower limit
    is 0 when ``events == 0`` (statsmodels returns the plain Beta quantiles).
    """
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}; expected one of {list(METHODS)}")
    if not 0 <= events <= n or n <= 0:
        raise ValueError(f"need 0 <= events <= n and n > 0, got events={events}, n={n}")
    lo, hi = proportion_confint(events, n, alpha=1 - level, method=METHODS[method])
    if method == "jeffreys":
        lo = 0.0 if events == 0 else lo
        hi = 1.0 if events == n else hi
    if method == "wilson":
        # the Wilson limits are exactly 0 (no events) and 1 (all events); statsmodels returns them with
        # round-off (0.9999999999999999), which would put the observed proportion outside its interval
        lo = 0.0 if events == 0 else lo
        hi = 1.0 if events == n else hi
    return float(lo), float(hi)


def upper_bound(events: int, n: int, level: float = 0.95) -> float:
    """One-sided exact (Clopper-Pearson) upper confidence bound.

    For ``events == 0`` this is ``1 - (1 - level)**(1/n)``, the exact form of
    the 'rule of three'.
    """
    if events >= n:
        return 1.0
    return float(stats.beta.ppf(level, events + 1, n - events))


def lower_bound(events: int, n: int, level: float = 0.95) -> float:
    """One-sided exact (Clopper-Pearson) lower confidence bound.

    The smallest rate not rejected by the one-sided exact binomial test at
    ``1 - level``: every benchmark below it would be rejected, so it replaces
    a grid of tests against assumed benchmarks.  For ``events == n`` this is
    ``(1 - level)**(1/n)`` (e.g. 0.05^(1/3) = 0.368 for 3 of 3).
    """
    if events <= 0:
        return 0.0
    return float(stats.beta.ppf(1 - level, events, n - events + 1))


def interval_table(counts: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Every interval method for every row of ``counts`` (endpoint, group, n, events).

    Zero-event rows get, in addition, a one-sided upper bound
    (method ``clopper-pearson-upper``; ``lower`` is 0 by construction), and
    rows with events a one-sided lower bound (method ``clopper-pearson-lower``;
    ``upper`` is 1 by construction).
    """
    rows = []
    for rec in counts.itertuples(index=False):
        base = dict(
            analysis="frequentist",
            endpoint=rec.endpoint,
            group=rec.group,
            n=rec.n,
            events=rec.events,
            estimate=rec.events / rec.n,
            level=level,
        )
        for method in METHODS:
            lo, hi = interval(rec.events, rec.n, method, level)
            rows.append({**base, "method": method, "lower": lo, "upper": hi, "interval": "two-sided"})
        if rec.events > 0:
            lo = lower_bound(rec.events, rec.n, level)
            rows.append(
                {
                    **base,
                    "method": "clopper-pearson-lower",
                    "lower": lo,
                    "upper": 1.0,
                    "interval": "one-sided lower bound",
                }
            )
        if rec.events == 0:
            hi = upper_bound(rec.events, rec.n, level)
            rows.append(
                {
                    **base,
                    "method": "clopper-pearson-upper",
                    "lower": 0.0,
                    "upper": hi,
                    "interval": "one-sided upper bound",
                }
            )
    return pd.DataFrame(rows)
