"""Exact one-sided binomial tests of a response rate against benchmark rates."""

from __future__ import annotations

import pandas as pd
from statsmodels.stats.proportion import binom_test


def benchmark_tests(counts: pd.DataFrame, benchmarks: tuple[float, ...], alpha: float = 0.05) -> pd.DataFrame:
    """H0: p <= p0 against H1: p > p0, exact binomial, for each benchmark p0.

    The p-value is P(X >= events | n, p0).  ``reject`` says whether H0 is
    rejected at one-sided level ``alpha``.
    """
    rows = []
    for rec in counts.itertuples(index=False):
        for p0 in benchmarks:
            pvalue = float(binom_test(int(rec.events), int(rec.n), p0, alternative="larger"))
            rows.append(
                dict(
                    test="binomial-exact-one-sided",
                    endpoint=rec.endpoint,
                    group=rec.group,
                    n=rec.n,
                    events=rec.events,
                    benchmark=p0,
                    statistic=rec.events,
                    p_value=pvalue,
                    reject=bool(pvalue < alpha),
                    alpha=alpha,
                    note=f"H0: p <= {p0:g}; H1: p > {p0:g}",
                )
            )
    return pd.DataFrame(rows)
