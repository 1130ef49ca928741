"""Calibrate a one-sample Beta design's threshold to a type I error (Kopp-Schneider et al. 2020).

The design succeeds when ``P(p > p0 | y of n) > c``.  For a Beta-mixture prior the posterior
probability ``q(y)`` increases with the responders ``y``, so every threshold ``c`` gives a rule
"succeed iff ``y >= k``", and its type I error at ``p0`` is ``P(Y >= k | p0)``, the same for every
prior.  Calibrating ``c`` so that the type I error at ``p0`` is at most ``alpha`` therefore picks the
same boundary

    k_alpha = min{k : P(Y >= k | n, p0) <= alpha}

for every prior (the exact binomial test's), only the threshold differs:
``c`` in ``[q(k_alpha - 1), q(k_alpha))``.  This is Kopp-Schneider, Calderazzo & Wiesenfarth (2020,
Biometrical Journal 62:361-374): with the type I error controlled at the null, borrowing from a
prior cannot raise the power of a one-arm binomial test (the uniformly most powerful test).

Exact and deterministic: ``n + 1`` posterior probabilities and binomial tails; no search over ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.priors.decision1S import decision1S
from analysis.priors.mixture import BetaMixture
from analysis.priors.oc1S import oc1S


@dataclass(frozen=True)
class Calibrated:
    """A threshold ``c`` (the smallest that works; any ``c`` in ``[c, c_upper)`` gives the same rule)."""

    c: float
    c_upper: float
    boundary: int  # fewest responders of n that succeed
    type1: float  # exact P(Y >= boundary | p0)
    alpha: float


def calibrate1S(prior: BetaMixture, n: int, p0: float, alpha: float) -> Calibrated:
    """The threshold ``c`` of ``P(p > p0 | data) > c`` giving the largest type I error <= ``alpha`` at ``p0``."""
    if not isinstance(prior, BetaMixture):
        raise TypeError("calibrate1S is for Beta-mixture priors (binomial data)")
    if not 0 < p0 < 1 or not 0 < alpha < 1:
        raise ValueError(f"need 0 < p0 < 1 and 0 < alpha < 1, got p0={p0}, alpha={alpha}")
    y = np.arange(n + 1)
    tail = stats.binom.sf(y - 1, n, p0)  # P(Y >= k)
    ok = np.nonzero(tail <= alpha)[0]
    if ok.size == 0:
        raise ValueError(f"no boundary of n = {n} has type I error <= {alpha} at p0 = {p0}")
    k = int(ok[0])
    q = np.asarray(prior.post_sf(p0, y.astype(float), n), float)
    c = float(q[k - 1]) if k > 0 else 0.0
    c_upper = float(q[k])
    if not c < c_upper:
        raise ValueError(f"P(p > p0 | y) does not increase at y = {k} (prior too concentrated): no threshold")
    if c <= 0:
        c = float(np.nextafter(0.0, 1.0))
    # the rule as the rest of the toolkit evaluates it must be the one calibrated
    oc = oc1S(prior, n, decision1S(c, p0, lower_tail=False))
    got = int(oc.boundary) + 1
    if got != k:  # q(k - 1) > c fails by rounding: step up to the next representable threshold
        c = float(np.nextafter(c, 1.0))
        got = int(oc1S(prior, n, decision1S(c, p0, lower_tail=False)).boundary) + 1
    if got != k:
        raise ArithmeticError(f"calibrated threshold {c!r} gives boundary {got}, expected {k}")
    return Calibrated(c=c, c_upper=c_upper, boundary=k, type1=float(tail[k]), alpha=float(alpha))
