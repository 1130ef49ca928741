"""Fit a mixture to draws by expectation-maximisation (RBesT's ``mixfit``/``automixfit``).

Families: Beta (draws in [0, 1]), Normal (reference scale ``sigma`` attached to the result) and
Gamma (draws > 0, ``likelihood`` attached).  The EM is vectorised over draws and components: one
iteration is a few (K x N) array operations; the log densities are a matrix product of the
sufficient statistics (``log x``, ``log(1 - x)`` for Beta; ``x``, ``x^2`` for Normal; ``x``,
``log x`` for Gamma) with the component parameters.

Starting values are data-driven, on the scale where the family is roughly normal (logit for Beta,
log for Gamma, identity for Normal): quantile blocks of the sorted draws, one-dimensional k-means
from the block centres, ``restarts`` k-means++ seeds (seeded by ``seed``), and, in
:func:`automixfit`, the (k - 1)-component fit with its widest component split in two (so that the
k-component log-likelihood is never below the (k - 1)-component one).  Every start is iterated
``SCREEN`` times; the best continues to convergence.

M-steps.  Normal: closed form.  Beta: the weighted Beta MLE maximises the concave
``(a - 1) mean log x + (b - 1) mean log(1 - x) - log B(a, b)``; it is solved by Newton steps with
an active set on the bounds and step halving, so that every M-step increases the expected
complete-data log-likelihood (a generalised EM: the log-likelihood never decreases).  With
``constrain_gt1=True`` (RBesT's default ``constrain_gt1 = TRUE``, so that the ELIR ESS is finite)
the bounds are a, b >= 1 and a parameter at its bound is exactly 1; with ``False`` they are
a, b > 0.  Gamma: ``log a - digamma(a) = log(mean x) - mean log x`` by Newton steps, ``b = a / mean x``.

:func:`automixfit` fits 1 to 4 components and keeps the lowest ``-2 loglik + penalty * parameters``.
The default penalty is RBesT's ``k = 6`` (Collet 2003 suggests 2 to 6; 2 is the classical AIC and
tends to add spurious components on large MCMC samples); ``criterion="bic"`` uses ``log(N)``.

References
----------
RBesT, ``R/EM_bmm_ab.R`` (EM for Beta mixtures, ``constrain_gt1``), ``R/automixfit.R``.
Dempster, Laird & Rubin (1977) JRSS B 39:1-38 (generalised EM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, polygamma

from analysis.priors.mixture import BetaMixture, GammaMixture, Mixture, NormalMixture

#: exact 0 and 1 draws are moved this far inside (RBesT moves them to the machine epsilon)
EPS = float(np.finfo(float).eps)
#: RBesT's default AIC penalty per parameter in automixfit
PENALTY = 6.0
#: EM iterations every start gets before the best one is iterated to convergence
SCREEN = 100
#: k-means++ restarts (in addition to the quantile and k-means-from-quantile starts)
RESTARTS = 3
#: above this many draws, EM starts from a fit to an evenly thinned subsample of this size
SUBSAMPLE = 10_000
#: largest Beta parameter (a component collapsing onto a point is stopped here)
AB_MAX = 1e7


class MixFitError(ValueError):
    """The draws cannot be fitted (wrong range, too few, all equal)."""


@dataclass(frozen=True)
class EMFit:
    """One EM fit: the mixture, its log-likelihood, and how it was reached.

    ``start`` is the starting mixture's ``repr`` and ``start_loglik`` its log-likelihood;
    ``iterations`` counts EM iterations (screening included); ``converged`` says whether the
    log-likelihood per draw changed by less than ``tol`` before ``max_iter``.
    """

    mixture: Mixture
    loglik: float
    iterations: int
    converged: bool
    start: str
    start_name: str
    start_loglik: float
    trace: tuple[float, ...] = ()


# -- input ---------------------------------------------------------------------------------------
def _check_draws(draws, family: str) -> np.ndarray:
    x = np.asarray(draws, float).ravel()
    if family not in ("beta", "normal", "gamma"):
        raise ValueError(f"family must be 'beta', 'normal' or 'gamma', got {family!r}")
    if x.size == 0:
        raise MixFitError("draws: empty; expected a sample to fit")
    bad = ~np.isfinite(x)
    if bad.any():
        raise MixFitError(f"draws: {int(bad.sum())} value(s) not finite (first at index {int(np.argmax(bad))})")
    if family == "beta":
        out = (x < 0) | (x > 1)
        if out.any():
            i = int(np.argmax(out))
            raise MixFitError(f"draws: a Beta mixture needs draws in [0, 1]; draw {i} is {x[i]:g}")
        # as RBesT: exact 0 and 1 are moved to eps and 1 - eps
        x = np.clip(x, EPS, 1 - EPS)
    elif family == "gamma" and np.any(x <= 0):
        i = int(np.argmax(x <= 0))
        raise MixFitError(f"draws: a Gamma mixture needs draws > 0; draw {i} is {x[i]:g}")
    if np.ptp(x) == 0:
        raise MixFitError(f"draws: all {x.size} draws equal {x[0]:g}; a mixture needs a spread")
    return x


def _transform(x: np.ndarray, family: str) -> np.ndarray:
    if family == "beta":
        return np.log(x) - np.log1p(-x)
    if family == "gamma":
        return np.log(x)
    return x


# -- M-steps -------------------------------------------------------------------------------------
def _beta_objective(s1, s2, a, b):
    return (a - 1) * s1 + (b - 1) * s2 - betaln(a, b)


def _beta_mstep(s1, s2, a, b, lo: float, iters: int, tol: float = 1e-12):
    """Maximise ``(a-1) s1 + (b-1) s2 - log B(a, b)`` over a, b >= lo (vectorised over components).

    Newton steps on the free coordinates (a coordinate at its bound whose gradient points out of the
    feasible set is held there), halved until the objective does not decrease.  Concave objective:
    every accepted step is an ascent step, so the EM built on it is a generalised EM.
    """
    a, b = np.asarray(a, float).copy(), np.asarray(b, float).copy()
    for _ in range(iters):
        ab = a + b
        dab, tab = digamma(ab), polygamma(1, ab)
        ga = s1 - digamma(a) + dab
        gb = s2 - digamma(b) + dab
        m11, m22, m12 = polygamma(1, a) - tab, polygamma(1, b) - tab, -tab  # -Hessian, positive definite
        fix_a = (a <= lo) & (ga <= 0)
        fix_b = (b <= lo) & (gb <= 0)
        det = m11 * m22 - m12**2
        da = np.where(fix_b, ga / m11, (m22 * ga - m12 * gb) / det)
        db = np.where(fix_a, gb / m22, (m11 * gb - m12 * ga) / det)
        da = np.where(fix_a, 0.0, da)
        db = np.where(fix_a & fix_b, 0.0, db)
        f0 = _beta_objective(s1, s2, a, b)
        t = np.ones_like(a)
        for _ in range(40):
            na = np.clip(a + t * da, lo, AB_MAX)
            nb = np.clip(b + t * db, lo, AB_MAX)
            worse = _beta_objective(s1, s2, na, nb) < f0 - 1e-13 * np.abs(f0)
            if not worse.any():
                break
            t = np.where(worse, t / 2, t)
        na = np.where(worse, a, na)
        nb = np.where(worse, b, nb)
        step = np.max(np.abs(na - a) / np.maximum(a, 1) + np.abs(nb - b) / np.maximum(b, 1))
        a, b = na, nb
        if step < tol:
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


# -- starting values -----------------------------------------------------------------------------
def _moment_start(x: np.ndarray, labels: np.ndarray, k: int, family: str, lo: float):
    """Component parameters matched to the draws' clusters (``labels`` in 0..k-1)."""
    w, m, v = np.empty(k), np.empty(k), np.empty(k)
    overall_var = float(x.var())
    for j in range(k):
        xj = x[labels == j]
        w[j] = max(xj.size, 1) / x.size
        if xj.size >= 2:
            m[j], v[j] = xj.mean(), xj.var()
        else:
            m[j], v[j] = (xj[0] if xj.size else x.mean()), overall_var
        v[j] = max(v[j], 1e-6 * overall_var, 1e-300)
    w /= w.sum()
    if family == "beta":
        n = np.clip(m * (1 - m) / np.minimum(v, m * (1 - m) * 0.999) - 1, 1e-3, AB_MAX / 2)
        return w, np.clip(m * n, lo + 1e-3, AB_MAX), np.clip((1 - m) * n, lo + 1e-3, AB_MAX)
    if family == "normal":
        return w, m, np.sqrt(v)
    return w, m**2 / v, m / v  # gamma shape, rate


def _kmeans_1d(z: np.ndarray, centres: np.ndarray, iters: int = 50) -> np.ndarray:
    """Lloyd's algorithm in one dimension; returns the labels (empty clusters keep their centre)."""
    c = np.sort(np.asarray(centres, float))
    labels = np.zeros(z.size, int)
    for _ in range(iters):
        cut = (c[1:] + c[:-1]) / 2
        new = np.searchsorted(cut, z)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for j in range(c.size):
            zj = z[labels == j]
            if zj.size:
                c[j] = zj.mean()
    return labels


def _kmeanspp(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    c = [z[rng.integers(z.size)]]
    for _ in range(k - 1):
        d2 = np.min((z[:, None] - np.array(c)[None, :]) ** 2, axis=1)
        c.append(z[rng.choice(z.size, p=d2 / d2.sum())] if d2.sum() > 0 else z[rng.integers(z.size)])
    return np.array(c)


def _starts(x: np.ndarray, k: int, family: str, lo: float, restarts: int, seed: int) -> list[tuple[str, tuple]]:
    """Quantile blocks and k-means clusters, on the fitting scale (logit, log) and on the draws' own
    scale, then ``restarts`` k-means++ clusterings on the fitting scale."""
    out = []
    scales = [("", _transform(x, family))] + ([("raw-", x)] if family != "normal" else [])
    for tag, z in scales:
        order = np.argsort(z, kind="stable")
        blocks = np.empty(x.size, int)
        for j, idx in enumerate(np.array_split(order, k)):
            blocks[idx] = j
        out.append((f"{tag}quantile", _moment_start(x, blocks, k, family, lo)))
        if k == 1:
            return out
        centres = np.array([z[blocks == j].mean() for j in range(k)])
        out.append((f"{tag}kmeans", _moment_start(x, _kmeans_1d(z, centres), k, family, lo)))
    z = scales[0][1]
    rng = np.random.default_rng([seed, k])
    for r in range(restarts):
        out.append((f"kmeans++{r + 1}", _moment_start(x, _kmeans_1d(z, _kmeanspp(z, k, rng)), k, family, lo)))
    return out


def _split_start(prev: Mixture, x: np.ndarray, family: str, lo: float) -> tuple[str, tuple]:
    """The (k - 1)-component fit with its widest component replaced by two halves: the draws within
    four standard deviations of its mean, split at the mean and moment-matched."""
    w, p1, p2 = prev.weights, prev._p1.copy(), prev._p2.copy()
    m, v = prev._comp_mean_var(p1, p2)
    j = int(np.argmax(w * v))
    centre, sd = float(m[j]), math.sqrt(float(v[j]))
    sub = x[np.abs(x - centre) < 4 * sd]
    if sub.size < 4:
        sub = x
    lab = (sub > centre).astype(int)
    if lab.min() == lab.max():
        lab = (sub > np.median(sub)).astype(int)
    _, q1, q2 = _moment_start(sub, lab, 2, family, lo)
    nw = np.r_[np.delete(w, j), w[j] / 2, w[j] / 2]
    return "split", (nw / nw.sum(), np.r_[np.delete(p1, j), q1], np.r_[np.delete(p2, j), q2])


# -- EM ------------------------------------------------------------------------------------------
class _EM:
    """The sufficient statistics of the draws and one EM iteration for a family."""

    def __init__(self, x: np.ndarray, family: str, lo: float):
        self.x, self.family, self.lo, self.n = x, family, lo, x.size
        if family == "beta":
            T = np.c_[np.log(x), np.log1p(-x)]
        elif family == "normal":
            T = np.c_[x, x * x]
        else:
            T = np.c_[x, np.log(x)]
        self.T = np.ascontiguousarray(T)
        self.TT = np.ascontiguousarray(T.T)

    def loglik_resp(self, w, p1, p2):
        if self.family == "beta":
            coef = np.vstack([p1 - 1, p2 - 1])
            const = np.log(w) - betaln(p1, p2)
        elif self.family == "normal":
            coef = np.vstack([p1 / p2**2, -0.5 / p2**2])
            const = np.log(w) - 0.5 * p1**2 / p2**2 - np.log(p2) - 0.5 * math.log(2 * math.pi)
        else:
            coef = np.vstack([-p2, p1 - 1])
            const = np.log(w) + p1 * np.log(p2) - gammaln(p1)
        logp = coef.T @ self.TT + const[:, None]  # (K, N)
        mx = logp.max(axis=0)
        e = np.exp(logp - mx)
        s = e.sum(axis=0)
        e /= s
        return float(np.sum(mx + np.log(s))), e

    def mstep(self, resp, p1, p2, newton: int):
        nk = resp.sum(axis=1) + 1e-300
        w = np.maximum(nk / self.n, 1e-300)
        S = (resp @ self.T).T / nk  # weighted means of the sufficient statistics, (2, K)
        if self.family == "beta":
            p1, p2 = _beta_mstep(S[0], S[1], p1, p2, self.lo, iters=newton)
        elif self.family == "normal":
            scale = max(1.0, float(np.max(S[0] ** 2)))
            p1 = S[0]
            p2 = np.sqrt(np.maximum(S[1] - S[0] ** 2, 1e-12 * scale))
        else:
            mean = S[0]
            target = np.maximum(np.log(mean) - S[1], 1e-12)
            p1 = _gamma_shape(target, p1, iters=8)
            p2 = p1 / mean
        return w / w.sum(), p1, p2, S

    def run(self, w, p1, p2, iters: int, tol: float, trace: list[float]):
        """``iters`` EM iterations (fewer when converged); returns (w, p1, p2, loglik, converged)."""
        prev = -np.inf
        ll = -np.inf
        for _ in range(iters):
            ll, resp = self.loglik_resp(w, p1, p2)
            trace.append(ll)
            if abs(ll - prev) < tol * self.n:
                return w, p1, p2, ll, True
            prev = ll
            w, p1, p2, _ = self.mstep(resp, p1, p2, newton=6)
        ll, _ = self.loglik_resp(w, p1, p2)
        trace.append(ll)
        return w, p1, p2, ll, abs(ll - prev) < tol * self.n


def _make(family: str, w, p1, p2, settings: dict) -> Mixture:
    order = np.argsort(-w, kind="stable")
    comps = list(zip(w[order], p1[order], p2[order]))
    if family == "beta":
        return BetaMixture(comps)
    if family == "normal":
        return NormalMixture(comps, sigma=settings.get("sigma"))
    return GammaMixture(comps, likelihood=settings.get("likelihood", "poisson"))


def em_fit(
    draws,
    k: int,
    family: str = "beta",
    *,
    constrain_gt1: bool = True,
    restarts: int = RESTARTS,
    seed: int = 0,
    max_iter: int = 2000,
    tol: float = 1e-7,
    init: Mixture | None = None,
    **settings,
) -> EMFit:
    """EM fit of a ``k``-component mixture of ``family`` to ``draws`` from data-driven starts.

    Parameters
    ----------
    draws
        The sample (Beta: in [0, 1], exact 0 and 1 moved inside as RBesT does; Gamma: > 0).
    k
        Number of components.
    family
        ``'beta'``, ``'normal'`` or ``'gamma'``.
    constrain_gt1
        Beta only: constrain a, b >= 1 (RBesT's ``constrain_gt1``, default ``TRUE``) so that the
        ELIR ESS of the fit is finite; ``False`` allows a, b > 0.
    restarts
        k-means++ starts in addition to the quantile and k-means starts (seeded by ``seed``).
    seed
        Seed of the k-means++ starts; the fit is a deterministic function of the draws and the seed.
    max_iter, tol
        The best start is iterated until the log-likelihood per draw changes by less than ``tol``
        or ``max_iter`` iterations.
    init
        An extra starting mixture (e.g. a (k - 1)-component fit split in two, from :func:`automixfit`).
    **settings
        ``sigma=`` for Normal, ``likelihood=`` for Gamma (attached to the result).

    Returns
    -------
    EMFit
        The fit, its log-likelihood, iterations, convergence and the start it came from.

    References
    ----------
    RBesT ``R/EM_bmm_ab.R``, ``R/mixfit.R``; Dempster, Laird & Rubin (1977).
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k}")
    x = _check_draws(draws, family)
    if x.size < 10 * k:
        raise MixFitError(f"draws: need at least {10 * k} draws to fit {k} components, got {x.size}")
    lo = (1.0 if constrain_gt1 else 1e-8) if family == "beta" else 0.0
    starts = _starts(x, k, family, lo, restarts if k > 1 else 0, seed)
    if init is not None:
        if len(init) != k:
            starts.append(_split_start(init, x, family, lo))
        else:
            starts.append(("init", (init.weights, init._p1.copy(), init._p2.copy())))
    if x.size > 2 * SUBSAMPLE and k > 1:
        # screen the starts on an evenly thinned subsample, then polish on all draws
        xs = np.sort(x)[:: x.size // SUBSAMPLE]
        em_s = _EM(xs, family, lo)
        starts = [(nm, em_s.run(*p, SCREEN, 0.0, [])[:3]) for nm, p in starts]
    em = _EM(x, family, lo)
    best = None
    for name, (w, p1, p2) in starts:
        trace: list[float] = []
        start_ll = em.loglik_resp(w, p1, p2)[0]
        res = em.run(w, p1, p2, SCREEN, tol, trace)
        if best is None or res[3] > best[1][3]:
            best = (name, res, trace, (w, p1, p2), start_ll)
    name, (w, p1, p2, ll, converged), trace, start, start_ll = best
    if not converged:
        w, p1, p2, ll, converged = em.run(w, p1, p2, max_iter - SCREEN, tol, trace)
    if family == "beta":
        # polish the last M-step to full precision (bounds exactly 1 where the constraint is active)
        _, resp = em.loglik_resp(w, p1, p2)
        w, p1, p2, _ = em.mstep(resp, p1, p2, newton=100)
    w = np.maximum(w, 1e-12)
    w = w / w.sum()
    mix = _make(family, w, p1, p2, settings)
    ll = float(np.sum(mix.logpdf(x)))
    start_mix = _make(family, np.asarray(start[0]), np.asarray(start[1]), np.asarray(start[2]), settings)
    return EMFit(mix, ll, len(trace) - 1, bool(converged), repr(start_mix), name, float(start_ll), tuple(trace))


def fit_mixture(draws, k: int, family: str = "beta", **kwargs) -> tuple[Mixture, float]:
    """EM fit of a ``k``-component mixture; returns (mixture, log-likelihood).  See :func:`em_fit`.

    Parameters
    ----------
    draws, k, family, **kwargs
        As :func:`em_fit` (the draws, the number of components, ``"beta"``, ``"normal"`` or ``"gamma"``).

    Returns
    -------
    (Mixture, float)
        The fitted mixture and its log-likelihood on ``draws``.
    """
    fit = em_fit(draws, k, family, **kwargs)
    return fit.mixture, fit.loglik


def automixfit(
    draws,
    max_components: int = 4,
    criterion: str = "aic",
    penalty: float = PENALTY,
    family: str = "beta",
    **kwargs,
) -> tuple[Mixture, list[dict]]:
    """Fit 1..max_components components; keep the lowest ``-2 loglik + penalty * parameters`` (RBesT's
    ``automixfit``, default penalty k = 6) or, with ``criterion="bic"``, the lowest BIC.

    The k-component fit also starts from the (k - 1)-component fit with a component split, so its
    log-likelihood is at least the (k - 1)-component one.  ``kwargs`` go to :func:`em_fit`
    (``constrain_gt1``, ``restarts``, ``seed``, ``sigma``, ``likelihood``, ...).

    Parameters
    ----------
    draws, family, **kwargs
        As :func:`em_fit`.
    max_components : int
        The most components tried.
    criterion : {"aic", "bic"}
        ``"aic"``: ``-2 loglik + penalty * parameters``; ``"bic"``: the BIC.
    penalty : float
        The penalty per parameter of ``"aic"`` (RBesT's k = 6).

    Returns
    -------
    (Mixture, list of dict)
        The chosen mixture and a table of fits: ``k``, ``loglik``, ``aic`` (with ``penalty``),
        ``bic``, ``mixture`` (repr), ``components`` ([w, p1, p2] rows), ``start`` (repr of the start the fit came from), ``start_name``,
        ``start_loglik``, ``iterations``, ``converged``, ``chosen``.
    """
    if criterion not in ("aic", "bic"):
        raise ValueError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    if not (isinstance(penalty, int | float) and math.isfinite(penalty) and penalty > 0):
        raise ValueError(f"penalty must be a finite number > 0, got {penalty}")
    x = np.asarray(draws, float).ravel()
    fits: list[dict] = []
    prev = None
    for k in range(1, max_components + 1):
        fit = em_fit(x, k, family, init=prev, **kwargs)
        prev = fit.mixture
        n_par = 3 * k - 1
        fits.append(
            {
                "k": k,
                "loglik": fit.loglik,
                "aic": -2 * fit.loglik + penalty * n_par,
                "bic": -2 * fit.loglik + np.log(x.size) * n_par,
                "penalty": penalty,
                "mixture": fit.mixture,
                "components": [list(c) for c in fit.mixture.components],
                "start": fit.start,
                "start_name": fit.start_name,
                "start_loglik": fit.start_loglik,
                "iterations": fit.iterations,
                "converged": fit.converged,
            }
        )
    best = min(fits, key=lambda f: f[criterion])
    table = [{kk: (repr(v) if kk == "mixture" else v) for kk, v in f.items()} for f in fits]
    for row in table:
        row["chosen"] = row["k"] == best["k"]
    return best["mixture"], table
