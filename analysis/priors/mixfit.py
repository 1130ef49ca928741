"""Fit a Beta mixture to draws by expectation-maximisation (RBesT's ``mixfit``/``automixfit``).

The M-step maximises each component's weighted Beta log-likelihood, which
depends on the draws only through the weighted means of ``log x`` and
``log(1 - x)``; it is solved by Newton's method with both parameters constrained
to be > 1 (as RBesT's ``constrain_gt1 = TRUE``), so that the ELIR effective
sample size of the result is finite.  :func:`automixfit` fits 1 to 4
components and keeps the one with the lowest AIC (RBesT's default), or BIC.

Parameters that end within 1e-3 of the constraint are set to exactly 1.

Deterministic: the starting values come from quantile blocks of the sorted
draws, so the same draws give the same mixture.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import betaln, digamma, logsumexp, polygamma

from analysis.priors.mixture import BetaMixture

EPS = 1e-10
SNAP = 1e-3


def _moment_beta(x: np.ndarray) -> tuple[float, float]:
    m, v = x.mean(), max(x.var(), 1e-8)
    k = max(m * (1 - m) / v - 1, 2.5)
    return max(m * k, 1.05), max((1 - m) * k, 1.05)


def _mstep(s1: np.ndarray, s2: np.ndarray, a: np.ndarray, b: np.ndarray, iters: int = 50):
    """Weighted Beta MLE for every component at once, constrained to a, b >= 1 + 1e-6.

    Solves digamma(a) - digamma(a + b) = s1 and digamma(b) - digamma(a + b) = s2
    (s1, s2: weighted means of log x and log(1 - x)) by projected Newton steps.
    """
    lo = 1 + 1e-6
    for _ in range(iters):
        ab = a + b
        g1 = digamma(a) - digamma(ab) - s1
        g2 = digamma(b) - digamma(ab) - s2
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


def fit_mixture(draws, k: int, max_iter: int = 500, tol: float = 1e-7) -> tuple[BetaMixture, float]:
    """EM fit of a ``k``-component Beta mixture; returns (mixture, log-likelihood)."""
    x = np.clip(np.asarray(draws, float).ravel(), EPS, 1 - EPS)
    if x.size < 10 * k:
        raise ValueError(f"need at least {10 * k} draws to fit {k} components, got {x.size}")
    lx, l1x = np.log(x), np.log1p(-x)
    blocks = np.array_split(np.sort(x), k)
    a = np.array([_moment_beta(bk)[0] for bk in blocks])
    b = np.array([_moment_beta(bk)[1] for bk in blocks])
    w = np.full(k, 1.0 / k)
    prev = -np.inf
    for _ in range(max_iter):
        logp = np.log(w) + (a - 1) * lx[:, None] + (b - 1) * l1x[:, None] - betaln(a, b)
        ll = float(logsumexp(logp, axis=1).sum())
        resp = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
        nk = resp.sum(0) + 1e-300
        w = nk / nk.sum()
        a, b = _mstep(lx @ resp / nk, l1x @ resp / nk, a, b)
        if abs(ll - prev) < tol * abs(ll):
            break
        prev = ll
    # a parameter pressed against the constraint is set to exactly 1: Beta(a, 1) has a finite density
    # at x = 1, while 1 + 1e-6 makes the ELIR integrand singular there (and fits no better)
    a = np.where(a < 1 + SNAP, 1.0, a)
    b = np.where(b < 1 + SNAP, 1.0, b)
    w = np.maximum(w, 1e-12)
    w = w / w.sum()
    ll = float(logsumexp(np.log(w) + stats.beta.logpdf(x[:, None], a, b), axis=1).sum())
    order = np.argsort(-w)
    return BetaMixture(list(zip(w[order], a[order], b[order]))), ll


def automixfit(draws, max_components: int = 4, criterion: str = "aic") -> tuple[BetaMixture, list[dict]]:
    """Fit 1..max_components components; keep the best by AIC or BIC.  Returns (mixture, table of fits)."""
    if criterion not in ("aic", "bic"):
        raise ValueError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    x = np.asarray(draws, float).ravel()
    fits = []
    for k in range(1, max_components + 1):
        mix, ll = fit_mixture(x, k)
        n_par = 3 * k - 1
        fits.append(
            {"k": k, "loglik": ll, "aic": -2 * ll + 2 * n_par, "bic": -2 * ll + np.log(x.size) * n_par, "mixture": mix}
        )
    best = min(fits, key=lambda f: f[criterion])
    table = [{kk: (repr(v) if kk == "mixture" else v) for kk, v in f.items()} for f in fits]
    for row in table:
        row["chosen"] = row["k"] == best["k"]
    return best["mixture"], table
