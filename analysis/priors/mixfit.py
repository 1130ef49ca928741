"""Fit a mixture to draws by expectation-maximisation (RBesT's ``mixfit``/``automixfit``).

Families: Beta (draws in (0, 1)), Normal (reference scale ``sigma`` attached to the result) and
Gamma (draws > 0, ``likelihood`` attached).  The EM is vectorised over draws and components: one
iteration is a few (N x K) array operations; the log densities are a matrix product of the
sufficient statistics (``log x``, ``log(1 - x)`` for Beta; ``x``, ``x^2`` for Normal; ``x``,
``log x`` for Gamma) with the component parameters.

M-steps.  Normal: closed form.  Beta: the weighted Beta MLE solves
``digamma(a) - digamma(a + b) = mean log x`` and ``digamma(b) - digamma(a + b) = mean log(1 - x)``;
it is solved by a few projected Newton steps warm-started at the previous parameters (a
generalised EM), with both parameters constrained to be > 1 as RBesT's ``constrain_gt1 = TRUE``, so
that the ELIR ESS of the result is finite; parameters that end within 1e-3 of 1 are set to exactly
1.  Gamma: ``log a - digamma(a) = log(mean x) - mean log x`` by Newton steps, ``b = a / mean x``.

:func:`automixfit` fits 1 to 4 components and keeps the lowest ``-2 loglik + penalty * parameters``.
The default penalty is RBesT's ``k = 6`` (Collet 2003 suggests 2 to 6; 2 is the classical AIC and
tends to add spurious components on large MCMC samples); ``criterion="bic"`` uses ``log(N)``.

Deterministic: starting values come from quantile blocks of the sorted draws.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betaln, digamma, gammaln, polygamma

from analysis.priors.mixture import BetaMixture, GammaMixture, Mixture, NormalMixture

EPS = 1e-10
SNAP = 1e-3
#: RBesT's default AIC penalty per parameter in automixfit
PENALTY = 6.0


def _lse_cols(logp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-sum-exp over components of a (K, N) array and the responsibilities (K, N).

    Components are the leading axis so that every reduction runs over K contiguous rows.
    """
    m = logp.max(axis=0)
    e = np.exp(logp - m)
    s = e.sum(axis=0)
    e /= s
    return m + np.log(s), e


def _beta_newton(s1, s2, a, b, iters: int):
    lo = 1 + 1e-6
    for _ in range(iters):
        ab = a + b
        dab = digamma(ab)
        g1 = digamma(a) - dab - s1
        g2 = digamma(b) - dab - s2
        t_ab = polygamma(1, ab)
        h11, h22, h12 = polygamma(1, a) - t_ab, polygamma(1, b) - t_ab, -t_ab
        det = h11 * h22 - h12**2
        da = (h22 * g1 - h12 * g2) / det
        db = (h11 * g2 - h12 * g1) / det
        a_new = np.maximum(a - da, np.maximum(lo, a / 4))
        b_new = np.maximum(b - db, np.maximum(lo, b / 4))
        done = np.max(np.abs(a_new - a) / a + np.abs(b_new - b) / b) < 1e-10
        a, b = a_new, b_new
        if done:
            break
    return a, b


def _gamma_shape(target, a, iters: int):
    """Solve log a - digamma(a) = target (> 0) by Newton steps from a."""
    for _ in range(iters):
        f = np.log(a) - digamma(a) - target
        df = 1 / a - polygamma(1, a)
        a_new = np.maximum(a - f / df, a / 4)
        if np.max(np.abs(a_new - a) / a) < 1e-12:
            return a_new
        a = a_new
    return a


def _start(x: np.ndarray, k: int, family: str):
    blocks = np.array_split(np.sort(x), k)
    m = np.array([bk.mean() for bk in blocks])
    v = np.array([max(bk.var(), 1e-8 * max(1.0, bk.mean() ** 2)) for bk in blocks])
    if family == "beta":
        v = np.maximum(v, 1e-8)
        kk = np.maximum(m * (1 - m) / v - 1, 2.5)
        return np.maximum(m * kk, 1.05), np.maximum((1 - m) * kk, 1.05)
    if family == "normal":
        return m, np.sqrt(v)
    return m**2 / v, m / v  # gamma shape, rate


#: above this many draws, EM starts from a fit to an evenly thinned subsample of this size
SUBSAMPLE = 10_000


def fit_mixture(
    draws, k: int, family: str = "beta", max_iter: int = 500, tol: float = 1e-7, **settings
) -> tuple[Mixture, float]:
    """EM fit of a ``k``-component mixture of ``family``; returns (mixture, log-likelihood).

    ``settings``: ``sigma=`` for Normal, ``likelihood=`` for Gamma (attached to the result).
    Convergence: the log-likelihood per draw changes by less than ``tol``.  With more than
    ``SUBSAMPLE`` draws the EM starts from the fit to an evenly thinned subsample (every m-th sorted
    draw), so that the expensive full-data iterations only polish a converged solution.
    """
    x = np.asarray(draws, float).ravel()
    if x.size < 10 * k:
        raise ValueError(f"need at least {10 * k} draws to fit {k} components, got {x.size}")
    if family == "beta":
        x = np.clip(x, EPS, 1 - EPS)
        T = np.c_[np.log(x), np.log1p(-x)]  # sufficient statistics
    elif family == "normal":
        T = np.c_[x, x * x]
    elif family == "gamma":
        if np.any(x <= 0):
            raise ValueError("Gamma mixtures need draws > 0")
        x = np.maximum(x, 1e-300)
        T = np.c_[x, np.log(x)]
    else:
        raise ValueError(f"family must be 'beta', 'normal' or 'gamma', got {family!r}")
    T = np.ascontiguousarray(T)
    TT = np.ascontiguousarray(T.T)
    if x.size > 2 * SUBSAMPLE and k > 1:
        xs = np.sort(x)[:: x.size // SUBSAMPLE]
        sub, _ = fit_mixture(xs, k, family, max_iter, tol, **settings)
        w, p1, p2 = sub.weights, sub._p1.copy(), sub._p2.copy()
        if family == "beta":
            p1, p2 = np.maximum(p1, 1 + 1e-6), np.maximum(p2, 1 + 1e-6)
    else:
        p1, p2 = _start(x, k, family)
        w = np.full(k, 1.0 / k)
    n = x.size
    prev = -np.inf
    for _ in range(max_iter):
        # E-step: log w + log density = const + T @ coefficients
        if family == "beta":
            coef = np.vstack([p1 - 1, p2 - 1])
            const = np.log(w) - betaln(p1, p2)
        elif family == "normal":
            coef = np.vstack([p1 / p2**2, -0.5 / p2**2])
            const = np.log(w) - 0.5 * p1**2 / p2**2 - np.log(p2) - 0.5 * math.log(2 * math.pi)
        else:
            coef = np.vstack([-p2, p1 - 1])
            const = np.log(w) + p1 * np.log(p2) - gammaln(p1)
        ll_cols, resp = _lse_cols(coef.T @ TT + const[:, None])
        ll = float(ll_cols.sum())
        nk = resp.sum(axis=1) + 1e-300
        w = nk / n
        S = (resp @ T).T / nk  # weighted means of the sufficient statistics, (2, K)
        if family == "beta":
            p1, p2 = _beta_newton(S[0], S[1], p1, p2, iters=4)
        elif family == "normal":
            p1 = S[0]
            p2 = np.sqrt(np.maximum(S[1] - S[0] ** 2, 1e-12 * max(1.0, float(np.max(S[0] ** 2)))))
        else:
            mean = S[0]
            target = np.maximum(np.log(mean) - S[1], 1e-12)
            p1 = _gamma_shape(target, p1, iters=8)
            p2 = p1 / mean
        if abs(ll - prev) < tol * n:
            break
        prev = ll
    if family == "beta":
        # a parameter pressed against the constraint is set to exactly 1: Beta(a, 1) has a finite density
        # at x = 1, while 1 + 1e-6 makes the ELIR integrand singular there (and fits no better)
        p1, p2 = _beta_newton(S[0], S[1], p1, p2, iters=50)
        p1 = np.where(p1 < 1 + SNAP, 1.0, p1)
        p2 = np.where(p2 < 1 + SNAP, 1.0, p2)
    w = np.maximum(w, 1e-12)
    w = w / w.sum()
    order = np.argsort(-w)
    comps = list(zip(w[order], p1[order], p2[order]))
    if family == "beta":
        mix: Mixture = BetaMixture(comps)
    elif family == "normal":
        mix = NormalMixture(comps, sigma=settings.get("sigma"))
    else:
        mix = GammaMixture(comps, likelihood=settings.get("likelihood", "poisson"))
    ll = float(np.sum(mix.logpdf(x)))
    return mix, ll


def automixfit(
    draws,
    max_components: int = 4,
    criterion: str = "aic",
    penalty: float = PENALTY,
    family: str = "beta",
    **settings,
) -> tuple[Mixture, list[dict]]:
    """Fit 1..max_components components; keep the lowest ``-2 loglik + penalty * parameters`` (RBesT's
    ``automixfit``, default penalty k = 6) or, with ``criterion="bic"``, the lowest BIC.

    Returns (mixture, table of fits); the table's ``aic`` column uses ``penalty``.
    """
    if criterion not in ("aic", "bic"):
        raise ValueError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    if not penalty > 0:
        raise ValueError(f"penalty must be > 0, got {penalty}")
    x = np.asarray(draws, float).ravel()
    fits = []
    for k in range(1, max_components + 1):
        mix, ll = fit_mixture(x, k, family, **settings)
        n_par = 3 * k - 1
        fits.append(
            {
                "k": k,
                "loglik": ll,
                "aic": -2 * ll + penalty * n_par,
                "bic": -2 * ll + np.log(x.size) * n_par,
                "penalty": penalty,
                "mixture": mix,
            }
        )
    best = min(fits, key=lambda f: f[criterion])
    table = [{kk: (repr(v) if kk == "mixture" else v) for kk, v in f.items()} for f in fits]
    for row in table:
        row["chosen"] = row["k"] == best["k"]
    return best["mixture"], table
