"""Exact binomial-normal random-effects meta-analysis of proportions.

The model (Hamza, van Houwelingen & Stijnen 2008; Stijnen, Hamza & Ozdemir
2010, Stat Med 29:3046) is

    y_i ~ Binomial(n_i, expit(theta_i)),   theta_i ~ Normal(mu, tau^2),

fitted by maximum likelihood on the exact marginal likelihood

    L(mu, tau) = prod_i  int Binom(y_i | n_i, expit(t)) Normal(t | mu, tau) dt.

It is the model of metafor's ``rma.glmm(measure="PLO")`` (lme4's ``glmer``
with a study random intercept); statsmodels has no exact binomial GLMM.  No
continuity correction is used anywhere in the fit.

Numerics
--------
Each study's integral is computed in the standardised variable
``z = (theta - mu) / tau``, where the log integrand
``g(z) = y log expit(mu + tau z) + (n - y) log expit(-mu - tau z) - z^2 / 2``
is strictly concave (``g'' <= -1``).  Its mode is found by a bracketed Newton
iteration (the root of ``g'`` lies in ``[tau (y - n), tau y]``); on each side
of the mode, the point where ``g`` has dropped by 40 (it lies within
``sqrt(80)`` of the mode) is found by Newton steps that stay outside the root,
and each side is integrated by 32-point Gauss-Legendre quadrature.  This
mode-adaptive rule was chosen over adaptive Gauss-Hermite quadrature (lme4's
``nAGQ``), which centres one Gaussian on the mode: for ``y = n`` with large
``n`` and ``tau`` the integrand is a steep exponential edge on one side and a
unit-variance Gaussian tail on the other, and 32- to 64-point adaptive
Gauss-Hermite then errs in the third decimal of the log-likelihood (the
two-sided rule agrees with ``scipy.integrate.quad`` to 1e-10; see the tests).
It is accurate for ``y = 0`` and ``y = n`` and for ``tau -> 0``, where the
integrand tends to ``exp(-z^2 / 2)`` times the fixed-effect binomial
likelihood; ``tau = 0`` itself is evaluated exactly.

Estimation and intervals
------------------------
For fixed ``tau`` the log-likelihood is concave in ``mu`` (a convolution of
log-concave functions is log-concave), so ``mu`` is profiled out by a 1-D
bounded search; the profile in ``tau`` is maximised over ``[0, tau_max]`` by
a grid and Brent refinement, so that the boundary estimate ``tau = 0`` is
found and reported as such.  95% intervals for ``mu`` and ``tau`` are
profile-likelihood intervals with the chi-square(1) cut-off
``l_max - 1.92``.  For ``tau`` this cut-off is conservative at the boundary
(the null distribution of the likelihood-ratio statistic at ``tau = 0`` is a
50:50 mixture of chi-square(0) and chi-square(1)); when the interval reaches
``tau = 0`` the fit says so.  An upper bound at ``tau_max`` is reported as
infinite.

Monotone likelihoods
--------------------
When every study has ``y = n`` (or every study ``y = 0``) the likelihood
increases without bound towards ``mu = +inf`` (``-inf``) for every ``tau``:
there is no finite ML estimate and ``tau`` is not identified.  The fit then
returns ``mu = +inf`` (``-inf``), pooled rate 1 (0), ``tau`` undefined, and a
one-sided profile bound for ``mu``: the lower (upper) limit is where the
profile ``max_tau l(mu, tau)`` falls below ``-1.92`` (the supremum is 0).
With ``k`` such studies the profile never falls below ``-k log 2`` (a huge
``tau`` puts half of every study's effect above any threshold), so for
``k <= 2`` there is no finite bound at all and ``-inf`` is returned.

Heterogeneity
-------------
``I^2 = tau^2 / (tau^2 + s^2)`` (reported as a fraction) with ``s^2`` the
"typical" within-study variance of Higgins & Thompson (2002), exactly as in
metafor's ``rma.glmm`` (source R/rma.glmm.r, ``i2def = "1"``):
``s^2 = (k - 1) / (sum w - sum w^2 / sum w)`` with ``w = 1 / v``, ``v`` the
large-sample variances of the observed logits from ``escalc(measure="PLO")``
with its default ``add = 1/2, to = "only0"`` (0.5 added to both cells of a
study only when a cell is zero).  This correction enters ``I^2`` only, never
the fit.

The prediction interval for a new study's logit is the Wald-type interval of
metafor's ``predict()``: ``mu +/- z sqrt(se(mu)^2 + tau^2)``, with ``se(mu)``
from the observed information of ``(mu, tau)``.  With few studies it is a
rough guide only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import expit, gammaln, log_expit, logsumexp
from scipy.stats import chi2, norm

TAU_MAX = 20.0  # upper end of the search for tau (logit scale)
MU_MAX = 30.0  # |mu| beyond this counts as unbounded (expit(30) = 1 - 1e-13)
N_NODES = 32  # Gauss-Legendre nodes on each side of the mode
_FLAT = 1e-9  # log-likelihood differences below this are numerical noise
_DROP = 40.0  # integrate g down to exp(-40) of its maximum
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _nodes(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and log-weights mapped to [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    return 0.5 * (x + 1), np.log(0.5 * w)


def _log_integrand(y, n, mu, tau, z):
    theta = mu + tau * z
    return y * log_expit(theta) + (n - y) * log_expit(-theta) - 0.5 * z**2


def study_loglik(events, n, mu: float, tau: float, n_nodes: int = N_NODES) -> np.ndarray:
    """Log marginal likelihood of each study, ``log p(y_i | n_i, mu, tau)``.

    The logit-normal integral by this module's own rule, not the shared :func:`analysis.logitnormal.log_q`: the
    two differ by up to 1.6e-8 in a study's log-likelihood at large ``tau``, which would move the fitted
    estimates and profile limits by more than the 1e-9 to which the reproduction compares them.
    """
    y = np.asarray(events, float)
    n = np.asarray(n, float)
    logc = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
    if tau < 0:
        raise ValueError("tau must be >= 0")
    if tau == 0:
        return logc + y * log_expit(mu) + (n - y) * log_expit(-mu)
    # mode of the concave log integrand g in z = (theta - mu) / tau: safeguarded Newton on g' = 0,
    # whose root lies in [tau (y - n), tau y]
    lo, hi = tau * (y - n), tau * y
    z = np.clip(0.0, lo, hi)
    for _ in range(200):
        p = expit(mu + tau * z)
        g1 = tau * (y - n * p) - z
        g2 = -(tau**2) * n * p * (1 - p) - 1.0
        lo = np.where(g1 > 0, z, lo)
        hi = np.where(g1 > 0, hi, z)
        step = z - g1 / g2
        step = np.where((step <= lo) | (step >= hi), 0.5 * (lo + hi), step)
        done = np.max(np.abs(step - z)) < 1e-12
        z = step
        if done:
            break
    mode = z
    gmax = _log_integrand(y, n, mu, tau, mode)
    # On each side of the mode, the point where g has dropped by _DROP.  Since g'' <= -1 it lies
    # within sqrt(2 _DROP) of the mode; Newton from there towards the mode stays outside the root
    # (g is concave), so every iterate bounds an interval holding all but exp(-_DROP) of the mass.
    x, logw = _nodes(n_nodes)
    logs = []
    for side in (-1.0, 1.0):
        end = mode + side * math.sqrt(2 * _DROP)
        for _ in range(30):
            h = _log_integrand(y, n, mu, tau, end) - (gmax - _DROP)
            slope = tau * (y - n * expit(mu + tau * end)) - end
            new = end - h / slope
            new = mode + side * np.maximum(side * (new - mode), 0.0)
            if np.max(np.abs(new - end)) < 1e-3 * np.max(np.abs(end - mode)):
                end = new
                break
            end = new
        width = np.abs(end - mode)
        zz = mode[:, None] + side * width[:, None] * x[None, :]
        logs.append(_log_integrand(y[:, None], n[:, None], mu, tau, zz) + logw[None, :] + np.log(width)[:, None])
    return logc - _LOG_SQRT_2PI + logsumexp(np.concatenate(logs, axis=1), axis=1)


def loglik(events, n, mu: float, tau: float, n_nodes: int = N_NODES) -> float:
    """Exact (to quadrature accuracy) marginal log-likelihood of ``(mu, tau)``."""
    return float(np.sum(study_loglik(events, n, mu, tau, n_nodes)))


def typical_within_variance(events, n) -> float:
    """Higgins-Thompson typical within-study variance, as in metafor's rma.glmm (I^2)."""
    y = np.asarray(events, float)
    n = np.asarray(n, float)
    k = len(y)
    if k < 2:
        return math.nan
    add = np.where((y == 0) | (y == n), 0.5, 0.0)  # escalc(add=1/2, to="only0")
    v = 1.0 / (y + add) + 1.0 / (n - y + add)
    w = 1.0 / v
    return float((k - 1) / (w.sum() - (w**2).sum() / w.sum()))


@dataclass(frozen=True)
class BinomialNormalFit:
    """Result of :func:`fit`.  Logit scale unless the name says ``rate``."""

    k: int
    level: float
    mu: float
    tau: float
    loglik: float
    mu_lower: float
    mu_upper: float
    tau_lower: float
    tau_upper: float
    se_mu: float
    s2: float
    status: str  # "ok", "tau_boundary" (tau-hat = 0), or "monotone"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tau2(self) -> float:
        return self.tau**2

    @property
    def tau2_lower(self) -> float:
        return self.tau_lower**2

    @property
    def tau2_upper(self) -> float:
        return self.tau_upper**2

    @property
    def i2(self) -> float:
        """tau^2 / (tau^2 + s^2), a fraction (metafor prints it in percent)."""
        if not np.isfinite(self.tau) or not np.isfinite(self.s2):
            return math.nan
        return self.tau2 / (self.tau2 + self.s2)

    @property
    def rate(self) -> float:
        """expit(mu): the median study-level rate (the rate of a typical study)."""
        return float(expit(self.mu))

    @property
    def rate_lower(self) -> float:
        return float(expit(self.mu_lower))

    @property
    def rate_upper(self) -> float:
        return float(expit(self.mu_upper))

    def prediction(self) -> tuple[float, float]:
        """Wald-type prediction interval for a new study's logit (metafor's predict())."""
        if not (np.isfinite(self.mu) and np.isfinite(self.se_mu) and np.isfinite(self.tau)):
            return math.nan, math.nan
        z = norm.ppf(0.5 + self.level / 2)
        half = z * math.sqrt(self.se_mu**2 + self.tau2)
        return self.mu - half, self.mu + half

    @property
    def pred_rate(self) -> tuple[float, float]:
        lo, hi = self.prediction()
        return float(expit(lo)), float(expit(hi))


class _Problem:
    """Profile likelihoods of one data set (cached where cheap)."""

    def __init__(self, events, n, n_nodes: int, tau_max: float):
        self.y = np.asarray(events, float)
        self.n = np.asarray(n, float)
        self.n_nodes = n_nodes
        self.tau_max = tau_max
        self._cache_tau: dict[float, tuple[float, float]] = {}
        # limit of l(mu, tau) as tau -> inf (any mu): each study with y = 0 or y = n tends to
        # probability 1/2, any other study to 0; it bounds every profile from below
        extreme = (self.y == 0) | (self.y == self.n)
        self.limit_inf = -len(self.y) * math.log(2) if extreme.all() else -math.inf

    def ll(self, mu: float, tau: float) -> float:
        return loglik(self.y, self.n, mu, tau, self.n_nodes)

    def best_mu(self, tau: float) -> tuple[float, float]:
        """(argmax_mu, max_mu) of l(mu, tau); concave in mu, so a bounded search is safe."""
        if tau in self._cache_tau:
            return self._cache_tau[tau]
        r = minimize_scalar(
            lambda m: -self.ll(m, tau),
            bounds=(-MU_MAX - 10, MU_MAX + 10),
            method="bounded",
            options={"xatol": 1e-9, "maxiter": 500},
        )
        out = (float(r.x), float(-r.fun))
        self._cache_tau[tau] = out
        return out

    def profile_tau(self, tau: float) -> float:
        return self.best_mu(tau)[1]

    def best_tau(self, f, n_grid: int = 24) -> tuple[float, float]:
        """Maximise f(tau) over [0, tau_max]: grid, then Brent between the neighbours."""
        grid = np.concatenate([[0.0], np.geomspace(1e-3, self.tau_max, n_grid)])
        vals = np.array([f(t) for t in grid])
        i = int(np.argmax(vals))
        if i == 0:
            # boundary candidate: check the slope just above 0
            lo, hi = 0.0, grid[1]
        else:
            lo, hi = grid[i - 1], grid[min(i + 1, len(grid) - 1)]
        r = minimize_scalar(lambda t: -f(t), bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
        cands = [(float(grid[i]), float(vals[i])), (float(r.x), float(-r.fun)), (0.0, float(vals[0]))]
        t, v = max(cands, key=lambda c: c[1])
        if vals[0] >= v - _FLAT:
            # a gain below the quadrature noise does not move tau off the boundary
            return 0.0, float(vals[0])
        return t, v

    def profile_mu(self, mu: float) -> float:
        return max(self.best_tau(lambda t: self.ll(mu, t), n_grid=16)[1], self.limit_inf)


def _bound(f, x0: float, direction: int, cut: float, limit: float) -> float:
    """Where f crosses ``cut`` going from x0 (f(x0) >= cut) in ``direction``; +-inf if not by ``limit``."""
    step, x_in = 0.5, x0
    while True:
        x = x0 + direction * step
        if direction * (x - limit) >= 0:
            x = limit
        if f(x) < cut:
            return float(brentq(lambda u: f(u) - cut, min(x_in, x), max(x_in, x), xtol=1e-7))
        if x == limit:
            return direction * math.inf
        x_in, step = x, step * 2


def fit(events, n, level: float = 0.95, n_nodes: int = N_NODES, tau_max: float = TAU_MAX) -> BinomialNormalFit:
    """ML fit of the binomial-normal model with profile-likelihood intervals for mu and tau."""
    y = np.asarray(events, float)
    nn = np.asarray(n, float)
    k = len(y)
    if k == 0:
        raise ValueError("no studies")
    if np.any(nn <= 0) or np.any(y < 0) or np.any(y > nn):
        raise ValueError("need 0 <= events <= n and n > 0")
    cut_drop = chi2.ppf(level, 1) / 2
    prob = _Problem(y, nn, n_nodes, tau_max)
    s2 = typical_within_variance(y, nn)
    notes: list[str] = []
    if k == 1:
        notes.append("one study: tau is not identifiable")

    all_events, no_events = bool(np.all(y == nn)), bool(np.all(y == 0))
    if all_events or no_events:
        # sup of the likelihood is 1 (log 0), approached as mu -> +-inf for every tau
        sign = 1 if all_events else -1
        cut = -cut_drop

        # on the scale m = sign * mu the profile increases towards +inf; find where it crosses the cut
        def prof(m):
            return prob.profile_mu(sign * m)

        if prob.limit_inf >= cut:
            far = -math.inf  # k <= 2: a huge tau keeps the profile above the cut-off for every mu
        elif prof(0.0) >= cut:
            far = _bound(prof, 0.0, -1, cut, -MU_MAX)
        else:
            far = float(brentq(lambda m: prof(m) - cut, 0.0, MU_MAX, xtol=1e-7))
        bound = sign * far
        lower, upper = (bound, math.inf) if all_events else (-math.inf, bound)
        which = "100%" if all_events else "0%"
        notes.append(
            f"every study has {which} events: the likelihood is monotone, mu-hat = {'+' if sign > 0 else '-'}inf "
            "(no finite ML estimate), tau is not identified; one-sided profile-likelihood bound for mu only"
        )
        if not np.isfinite(bound):
            notes.append(
                f"with {k} such studies the profile likelihood never drops by {cut_drop:.2f} "
                f"(it stays above -k log 2 = {-k * math.log(2):.2f} as tau -> inf): no finite bound"
            )
        return BinomialNormalFit(
            k=k,
            level=level,
            mu=sign * math.inf,
            tau=math.nan,
            loglik=0.0,
            mu_lower=lower,
            mu_upper=upper,
            tau_lower=0.0,
            tau_upper=math.inf,
            se_mu=math.nan,
            s2=s2,
            status="monotone",
            notes=tuple(notes),
        )

    tau_hat, lmax = prob.best_tau(prob.profile_tau)
    mu_hat = prob.best_mu(tau_hat)[0]
    cut = lmax - cut_drop
    status = "ok"
    if tau_hat == 0.0:
        status = "tau_boundary"
        notes.append("tau-hat = 0 (boundary): the ML fit is the fixed-effect binomial fit")
    if tau_hat >= tau_max * 0.999:
        notes.append(f"tau-hat at the search limit {tau_max:g}: heterogeneity not bounded by the data")

    # profile-likelihood interval for tau
    if tau_hat == 0.0 or prob.profile_tau(0.0) >= cut:
        tau_lo = 0.0
        notes.append("the profile interval for tau reaches the boundary tau = 0")
    else:
        tau_lo = float(brentq(lambda t: prob.profile_tau(t) - cut, 0.0, tau_hat, xtol=1e-7))
    if max(prob.profile_tau(tau_max), prob.limit_inf) >= cut:
        tau_hi = math.inf
        notes.append(f"the profile likelihood for tau stays above the cut-off up to tau = {tau_max:g}: no upper bound")
    else:
        tau_hi = float(brentq(lambda t: prob.profile_tau(t) - cut, tau_hat, tau_max, xtol=1e-7))

    # profile-likelihood interval for mu (tau maximised out at every mu)
    mu_lo = _bound(prob.profile_mu, mu_hat, -1, cut, mu_hat - MU_MAX)
    mu_hi = _bound(prob.profile_mu, mu_hat, +1, cut, mu_hat + MU_MAX)
    if not (np.isfinite(mu_lo) and np.isfinite(mu_hi)):
        notes.append("the profile likelihood for mu does not drop below the cut-off on one side: unbounded interval")

    se_mu = _se_mu(prob, mu_hat, tau_hat)
    if k < 5:
        notes.append(f"only {k} studies: tau is poorly estimated")
    return BinomialNormalFit(
        k=k,
        level=level,
        mu=mu_hat,
        tau=tau_hat,
        loglik=lmax,
        mu_lower=mu_lo,
        mu_upper=mu_hi,
        tau_lower=tau_lo,
        tau_upper=tau_hi,
        se_mu=se_mu,
        s2=s2,
        status=status,
        notes=tuple(notes),
    )


def _se_mu(prob: _Problem, mu: float, tau: float, h: float = 1e-3) -> float:
    """se of mu-hat from the observed information of (mu, tau); of mu alone at tau = 0."""

    def f(m, t):
        return prob.ll(m, t)

    hmm = (f(mu + h, tau) - 2 * f(mu, tau) + f(mu - h, tau)) / h**2
    if tau <= 2 * h:
        return math.sqrt(-1 / hmm) if hmm < 0 else math.nan
    htt = (f(mu, tau + h) - 2 * f(mu, tau) + f(mu, tau - h)) / h**2
    hmt = (f(mu + h, tau + h) - f(mu + h, tau - h) - f(mu - h, tau + h) + f(mu - h, tau - h)) / (4 * h**2)
    info = -np.array([[hmm, hmt], [hmt, htt]])
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return math.nan
    return math.sqrt(cov[0, 0]) if cov[0, 0] > 0 else math.nan
