"""Distribution of the difference of two independent mixtures (RBesT's ``pmixdiff``).

``pmixdiff(mix1, mix2, q, lower_tail=True, link="identity")`` is ``P(g(x1) - g(x2) <= q)`` with
``g`` the identity (difference), ``logit`` (log odds ratio, Beta only) or ``log`` (log relative
risk / rate ratio).  It is a weighted sum over pairs of components of

    P(g(x1) - g(x2) > q) = integral f2(x) S1(h(x)) dx,     h(x) = g^-1(q + g(x)),

with ``S1`` the survival function of the first component.

Accuracy.  Normal pairs with the identity link are exact (the difference is normal).  Otherwise the
integral is computed by adaptive quadrature on pieces split at the kinks of ``S1(h(x))``
(``x = -q`` and ``x = 1 - q`` for a difference of rates), at quantiles of ``X2`` and at the points that
``h`` maps to quantiles of ``X1``, over the range outside which ``X2`` has mass below 1e-17; the densities
are evaluated in logs.  So the posteriors of large samples (5,000 per arm: densities 1e-3 wide, and
Beta functions that overflowed to NaN before, issue 23) are integrated as accurately as small ones.  Pieces
that touch 0 or 1 with a parameter below 2 carry the Beta density's endpoint singularity ``x^(a-1)`` or
``(1-x)^(b-1)`` as an exact algebraic weight (QUADPACK's QAWS), so parameters below 1 (Jeffreys priors,
Beta(0.5, 1), ...) are integrated to about 1e-10 instead of being cut off.  The tests check it against
independent 30-digit integration (mpmath) and, for large samples, exact finite sums (Cook 2005).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from scipy import integrate, special, stats

from analysis.priors.mixture import BetaMixture, GammaMixture, Mixture, NormalMixture

LINKS = ("identity", "logit", "log")
_QUAD = dict(epsabs=1e-12, epsrel=1e-10, limit=200)


#: X2's mass left out below and above the integration range (each side), far below the 1e-10 target
TAIL = 1e-17
#: quantiles of X2 and of X1 (mapped through h) where the integration range is cut: adaptive quadrature then sees
#: every peak and step, however narrow (the densities of large samples are a few 1e-3 wide)
_PROBS = (1e-12, 1e-8, 1e-4, 1e-2, 0.1, 0.5, 0.9, 0.99, 1 - 1e-4, 1 - 1e-8, 1 - 1e-12)


def _h(link: str, q: float):
    if link == "identity":
        return lambda x: x + q
    if link == "log":
        return lambda x: x * math.exp(q)
    return lambda x: special.expit(q + special.logit(x))


def _h_inv(link: str, q: float):
    """The x at which h(x) = t (h is increasing)."""
    if link == "identity":
        return lambda t: t - q
    if link == "log":
        return lambda t: t * math.exp(-q)
    return lambda t: special.expit(special.logit(t) - q)


@functools.lru_cache(maxsize=8192)
def _beta_quantiles(a: float, b: float) -> tuple[float, ...]:
    return tuple(float(special.betaincinv(a, b, p)) for p in _PROBS)


@functools.lru_cache(maxsize=8192)
def _gamma_quantiles(a: float, b: float) -> tuple[float, ...]:
    return tuple(float(special.gammaincinv(a, p)) / b for p in _PROBS)


def _integrate(s1, logf2, cdf2, cuts, left=None, right=None) -> float:
    """integral of s1(x) f2(x) over the pieces between ``cuts``.

    ``s1(x)`` (S1(h(x))) is non-increasing in x: a piece where it is 0 at the left end adds nothing, one where it
    is 1 at the right end adds X2's mass there (``cdf2``).  ``left = (alpha, g)``: the first piece starts at 0 and
    is integrated as ``g(x) x^alpha`` with the singular factor as QUADPACK's algebraic weight (QAWS); ``right``
    likewise at the last piece, ``g(x) (1 - x)^beta``.  Densities are evaluated in logs (``logf2``), so the
    parameters of large samples neither overflow nor underflow.
    """
    total = 0.0
    last = len(cuts) - 2
    for i, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
        if not hi > lo or s1(lo) == 0.0:
            continue
        if s1(hi) == 1.0:
            total += cdf2(hi) - cdf2(lo)
        elif i == 0 and left is not None:
            total += integrate.quad(left[1], lo, hi, weight="alg", wvar=(left[0], 0.0), **_QUAD)[0]
        elif i == last and right is not None:
            total += integrate.quad(right[1], lo, hi, weight="alg", wvar=(0.0, right[0]), **_QUAD)[0]
        else:
            total += integrate.quad(lambda x: s1(x) * math.exp(logf2(x)), lo, hi, **_QUAD)[0]
    return total


def _cuts(lo: float, hi: float, points, q2, left: bool, right: bool) -> list[float]:
    """The cut points in (lo, hi), and lo and hi.  Near a singular end (``left``: at 0, ``right``: at 1) no cut
    lies closer to it than a thousandth of X2's 1% (99%) quantile ``q2``, so the end piece's algebraic weight, not
    plain quadrature between cuts close to the singularity, carries it."""
    near_lo = 1e-3 * q2[_PROBS.index(1e-2)] if left else -math.inf
    near_hi = 1 - 1e-3 * (1 - q2[_PROBS.index(0.99)]) if right else math.inf
    keep = {c for c in points if math.isfinite(c) and max(lo, near_lo) < c < min(hi, near_hi)}
    return sorted({lo, hi, *keep})


def _beta_above(a1, b1, a2, b2, q, link) -> float:
    """P(g(X1) - g(X2) > q) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2)."""
    h = _h(link, q)

    def s1(x):
        t = h(x)
        if t <= 0:
            return 1.0
        if t >= 1:
            return 0.0
        return float(special.betainc(b1, a1, 1 - t)) if t > 0.5 else float(special.betaincc(a1, b1, t))

    lb = special.betaln(a2, b2)

    def logf2(x):
        return (a2 - 1) * math.log(x) + (b2 - 1) * math.log1p(-x) - lb

    def cdf2(x):
        return float(special.betainc(a2, b2, x))

    # below a = 2 (above b = 2) the density is singular or has a singular slope at 0 (at 1): integrate the first
    # (last) piece from the end point with the algebraic weight; otherwise leave out the tail of mass TAIL
    left = right = None
    if a2 < 2:
        lo = 0.0
        left = (a2 - 1, lambda x: s1(x) * math.exp((b2 - 1) * math.log1p(-x) - lb))
    else:
        lo = float(special.betaincinv(a2, b2, TAIL))
    if b2 < 2:
        hi = 1.0
        right = (b2 - 1, lambda x: s1(x) * math.exp((a2 - 1) * math.log(x) - lb))
    else:
        hi = float(special.betainccinv(a2, b2, TAIL))
    inv = _h_inv(link, q)
    q2 = _beta_quantiles(a2, b2)
    points = [0.5, *q2, *(inv(t) for t in _beta_quantiles(a1, b1) if 0 < t < 1)]
    if link == "identity":
        points += [-q, 1 - q]
    elif link == "log":
        points.append(math.exp(-q))
    return _integrate(s1, logf2, cdf2, _cuts(lo, hi, points, q2, left is not None, right is not None), left, right)


def _gamma_above(a1, b1, a2, b2, q, link) -> float:
    """P(g(X1) - g(X2) > q) for X1 ~ Gamma(a1, b1), X2 ~ Gamma(a2, b2) (rate parametrisation)."""
    if link == "logit":
        raise ValueError("the logit link needs rates in (0, 1) (Beta mixtures)")
    h = _h(link, q)

    def s1(x):
        t = h(x)
        return 1.0 if t <= 0 else float(special.gammaincc(a1, b1 * t))

    lg = a2 * math.log(b2) - special.gammaln(a2)

    def logf2(x):
        return lg + (a2 - 1) * math.log(x) - b2 * x

    def cdf2(x):
        return float(special.gammainc(a2, b2 * x))

    left = None
    if a2 < 2:
        lo = 0.0
        left = (a2 - 1, lambda x: s1(x) * math.exp(lg - b2 * x))
    else:
        lo = float(special.gammaincinv(a2, TAIL)) / b2
    hi = float(special.gammainccinv(a2, TAIL)) / b2
    inv = _h_inv(link, q)
    q2 = _gamma_quantiles(a2, b2)
    points = [*q2, *(inv(t) for t in _gamma_quantiles(a1, b1))]
    if link == "identity":
        points.append(-q)
    return _integrate(s1, logf2, cdf2, _cuts(lo, hi, points, q2, left is not None, False), left)


def _normal_above(m1, s1, m2, s2, q, link) -> float:
    if link != "identity":
        raise ValueError("normal mixtures support only the identity link (a difference of means)")
    return float(stats.norm.sf(q, m1 - m2, math.hypot(s1, s2)))


def prob_above(mix1: Mixture, mix2: Mixture, q: float, link: str = "identity") -> float:
    """P(g(x1) - g(x2) > q) for independent mixtures of the same family."""
    if link not in LINKS:
        raise ValueError(f"link must be one of {list(LINKS)}, got {link!r}")
    if type(mix1) is not type(mix2):
        raise TypeError(f"both mixtures must be of one family, got {type(mix1).__name__} and {type(mix2).__name__}")
    if link == "logit" and not isinstance(mix1, BetaMixture):
        raise ValueError("the logit link (log odds ratio) needs Beta mixtures")
    pair = {BetaMixture: _beta_above, GammaMixture: _gamma_above, NormalMixture: _normal_above}[type(mix1)]
    total = 0.0
    with warnings.catch_warnings():
        # QUADPACK warns of roundoff when a piece's integral is ~1e-13, far below the 1e-10 target
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for w1, a1, b1 in mix1.components:
            for w2, a2, b2 in mix2.components:
                total += w1 * w2 * pair(a1, b1, a2, b2, float(q), link)
    return float(min(1.0, max(0.0, total)))


def pmixdiff(mix1: Mixture, mix2: Mixture, q, lower_tail: bool = True, link: str = "identity"):
    """``P(g(x1) - g(x2) <= q)`` (or ``> q`` with ``lower_tail=False``), vectorised over ``q``.

    Parameters
    ----------
    mix1, mix2 : Mixture
        The distributions of ``x1`` and ``x2`` (independent; one family).
    q : float or array_like
        Quantiles of the difference.
    lower_tail : bool
        ``True``: ``P(... <= q)``; ``False``: ``P(... > q)``.
    link : {"identity", "logit", "log"}
        The scale ``g`` of the difference.

    Returns
    -------
    float or numpy.ndarray
        The probability, a float for a scalar ``q``.

    References
    ----------
    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """
    qs = np.atleast_1d(np.asarray(q, float))
    above = np.array([prob_above(mix1, mix2, qi, link) for qi in qs])
    out = 1 - above if lower_tail else above
    return float(out[0]) if np.ndim(q) == 0 else out
