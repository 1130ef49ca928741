"""Exact test of heterogeneity of a response rate across diseases.

The Freeman-Halton extension of Fisher's exact test to a k x 2 table,
computed by enumerating every table with the observed margins (k is 3 here,
so the enumeration is tiny).  When a column margin is zero (every patient
responded, or none did) the conditional distribution has a single table: the
test carries no information, and the result says so instead of reporting a
p-value of 1.

The enumeration visits ``prod(n_i + 1)`` tables over the first ``k - 1``
groups: 3 groups of 100,000 or 10 groups of 20 would take hours.  Above
:data:`MAX_ENUMERATION` the test is computed instead by the Monte Carlo exact
test (tables drawn from the same conditional, multivariate hypergeometric
distribution, seeded; the p-value ``(1 + #{P(table) <= P(observed)}) / (B +
1)`` as R's ``fisher.test(simulate.p.value = TRUE)``), and the note says so.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

#: the most tables the exact enumeration visits (about 10 s); above it, the Monte Carlo exact test
MAX_ENUMERATION = 1_000_000
#: draws and seed of the Monte Carlo exact test
MC_DRAWS = 100_000
MC_SEED = 20240222


@dataclass(frozen=True)
class HeterogeneityResult:
    p_value: float | None
    n_tables: int
    degenerate: bool
    note: str
    #: "exact", "monte-carlo" or "degenerate"
    method: str = "exact"
    #: Monte Carlo standard error of the p-value (0 when exact)
    mcse: float = 0.0


def enumeration_size(n: list[int]) -> int:
    """How many tables the exact enumeration visits for group sizes ``n``: ``prod(n_i + 1)`` over all but the last."""
    return math.prod(m + 1 for m in n[:-1])


def _log_probs(tables, ns, total_x: int):
    """Log probabilities of many tables (rows of ``tables``) under the conditional hypergeometric distribution."""
    import numpy as np
    from scipy.special import gammaln

    x = np.asarray(tables, dtype=float)
    m = np.asarray(ns, dtype=float)
    n = m.sum()
    lp = (gammaln(m + 1) - gammaln(x + 1) - gammaln(m - x + 1)).sum(axis=1)
    return lp - (gammaln(n + 1) - gammaln(total_x + 1) - gammaln(n - total_x + 1))


def monte_carlo(events: list[int], n: list[int], draws: int = MC_DRAWS, seed: int = MC_SEED) -> tuple[float, float]:
    """The Monte Carlo exact test: p-value and its Monte Carlo standard error.

    Parameters
    ----------
    events, n : list of int
        Responders and group sizes.
    draws : int
        Tables drawn from the conditional distribution given both margins.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    tuple of float
        ``(p, mcse)`` with ``p = (1 + #{P(table) <= P(observed)}) / (draws + 1)``.

    References
    ----------
    Hope, A. C. A. (1968). A simplified Monte Carlo significance test procedure. JRSS B 30, 582-598.
    R Core Team, ``fisher.test(simulate.p.value = TRUE)``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    total_x = int(sum(events))
    observed = _log_probs([events], n, total_x)[0]
    hits = 0
    for start in range(0, draws, 10_000):  # blocks: memory stays small for many groups
        size = min(10_000, draws - start)
        tables = rng.multivariate_hypergeometric(np.asarray(n, dtype=np.int64), total_x, size=size)
        hits += int((_log_probs(tables, n, total_x) <= observed + 1e-7).sum())
    p = (1 + hits) / (draws + 1)
    return p, math.sqrt(p * (1 - p) / draws)


def _log_prob(xs: tuple[int, ...], ns: tuple[int, ...], total_x: int) -> float:
    n = sum(ns)
    lp = sum(math.lgamma(ni + 1) - math.lgamma(xi + 1) - math.lgamma(ni - xi + 1) for xi, ni in zip(xs, ns))
    return lp - (math.lgamma(n + 1) - math.lgamma(total_x + 1) - math.lgamma(n - total_x + 1))


def freeman_halton(
    events: list[int], n: list[int], max_tables: int = MAX_ENUMERATION, draws: int = MC_DRAWS, seed: int = MC_SEED
) -> HeterogeneityResult:
    """Exact conditional test of equal proportions across ``len(n)`` groups.

    Parameters
    ----------
    events, n : list of int
        Responders and group sizes.
    max_tables : int
        The most tables to enumerate; above it the seeded Monte Carlo exact test (:func:`monte_carlo`) is used
        and the note says so, with the estimate and the limit.
    draws, seed : int
        Of the Monte Carlo exact test.

    Returns
    -------
    HeterogeneityResult
        The p-value (``None`` when the margins allow one table only), how it was computed, and a note.
    """
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
            method="degenerate",
        )
    size = enumeration_size(list(n))
    if size > max_tables:
        p, mcse = monte_carlo(list(events), list(n), draws, seed)
        return HeterogeneityResult(
            p,
            draws,
            False,
            f"Monte Carlo exact test ({draws:,} tables drawn from the conditional distribution, seed {seed}; "
            f"Monte Carlo SE {mcse:.2g}): the exact enumeration would visit {size:.3g} tables, above the limit of "
            f"{max_tables:,}",
            method="monte-carlo",
            mcse=mcse,
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
