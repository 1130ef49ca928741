"""The exact MAP prior of a binomial MAP model by quadrature, and its ESS without a mixture fit.

The MAP prior is the predictive distribution of a new study's rate, ``p = expit(x)`` with
``x = mu + tau e``, ``e ~ N(0, 1)``, under the posterior of ``(mu, tau)`` given the historical
studies (:mod:`analysis.priors.gmap`).  Here its density is computed deterministically, with no
MCMC and no Beta-mixture approximation:

- the posterior of ``(mu, tau)`` on a grid (a fine uniform grid in ``mu``, a midpoint grid in ``tau``
  up to 8 prior scales), each study's logit integrated out by Gauss-Hermite quadrature as in
  ``tests/bayes/quadrature.py``;
- the density of ``x`` is ``g(x) = sum_tau w(tau) (post(. | tau) * N(0, tau))(x)``, a Gaussian
  smoothing of the conditional posterior of ``mu`` on the same grid;
- ``p``-scale summaries by the change of variables ``f(p) = g(x) / (p (1 - p))``.

ESS of the exact density (the definitions of :mod:`analysis.priors.ess`):

- moment: ``m (1 - m) / v - 1``;
- ELIR: ``E[-(log f)''(p) p (1 - p)]``, which in ``x`` is
  ``E_g[(-h'' + (h' - (1 - 2p))(1 - 2p)) / (p (1 - p))] - 2`` with ``h = log g``;
- Morita: the curvature of ``f`` at its mode plus the vague baseline, over the expected information
  (as :func:`analysis.priors.ess.ess_morita`).

This is the reference against which the mixture approximation's ESS is judged
(``python -m analysis priors`` reports both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import expit, gammaln, log_expit

from analysis.bayes.prior import Prior
from analysis.priors.gmap import MAP_PRIORS


@dataclass(frozen=True)
class ExactMAP:
    """The MAP prior's logit density ``g`` on a uniform grid ``x`` (step ``dx``)."""

    x: np.ndarray
    g: np.ndarray
    dx: float

    def _e(self, values: np.ndarray) -> float:
        return float(np.sum(values * self.g) * self.dx)

    def mean(self) -> float:
        return self._e(expit(self.x))

    def var(self) -> float:
        m = self.mean()
        return self._e((expit(self.x) - m) ** 2)

    def quantile(self, q) -> np.ndarray:
        cdf = np.cumsum(self.g) * self.dx
        return expit(np.interp(np.atleast_1d(q), cdf / cdf[-1], self.x))

    def share(self, lo: float, hi: float = 1.0) -> float:
        """P(lo < p <= hi)."""
        p = expit(self.x)
        return self._e(((p > lo) & (p <= hi)).astype(float))

    def robustify(self, weight: float, a: float = 1.0, b: float = 1.0) -> ExactMAP:
        """``(1 - weight)`` times this prior plus ``weight`` times Beta(a, b) (RBesT's default Beta(1, 1))."""
        from scipy.special import betaln

        log_beta_x = a * log_expit(self.x) + b * log_expit(-self.x) - betaln(a, b)  # Beta(a, b) density in x
        return ExactMAP(self.x, (1 - weight) * self.g + weight * np.exp(log_beta_x), self.dx)

    def _logs(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log(self.g)
        ok = np.isfinite(h) & (self.g > 1e-250)
        h1 = np.gradient(h, self.dx)
        h2 = np.gradient(h1, self.dx)
        return h, h1, h2, ok

    def elir_integrand(self) -> np.ndarray:
        """The ELIR integrand on the grid, in x (its sum times dx is the ELIR ESS)."""
        _, h1, h2, ok = self._logs()
        p = expit(self.x)
        s = 1 - 2 * p
        inv_j = 2 + np.exp(self.x) + np.exp(-self.x)
        val = ((-h2 + (h1 - s) * s) * inv_j - 2) * self.g
        return np.where(ok, val, 0.0)

    def elir_share(self, lo: float) -> float:
        """The part of the ELIR ESS that comes from rates above ``lo``."""
        return float(np.sum(self.elir_integrand()[expit(self.x) > lo]) * self.dx)

    def ess(self, method: str = "elir", s: float = 100.0) -> float:
        """ESS by the conventions of :func:`analysis.priors.ess.ess` (Morita: flattening constant ``s``)."""
        if method == "moment":
            m, v = self.mean(), self.var()
            return m * (1 - m) / v - 1
        if method == "elir":
            return float(np.sum(self.elir_integrand()) * self.dx)
        if method == "morita":
            h, h1, h2, ok = self._logs()
            p = expit(self.x)
            j = p * (1 - p)
            with np.errstate(divide="ignore"):
                logf = np.where(ok & (j > 0), h - np.log(j), -np.inf)
            i = int(np.argmax(logf))
            t, sl = p[i], 1 - 2 * p[i]
            curv = -(h2[i] + 2 * j[i] - (h1[i] - sl) * sl) / j[i] ** 2
            m = self.mean()
            # minus the curvature of the flattened prior Beta(t/s, (1-t)/s)
            flat = 1 / t**2 + 1 / (1 - t) ** 2 - (0.0 if np.isinf(s) else 1 / (s * t * (1 - t)))
            return float((curv + flat) / (m / t**2 + (1 - m) / (1 - t) ** 2))
        raise ValueError(f"unknown ESS method {method!r}")


def map_exact(
    events,
    n,
    mu: Prior = MAP_PRIORS["mu"],
    tau: Prior = MAP_PRIORS["tau"],
    dx: float = 0.02,
    n_tau: int = 200,
    n_gh: int = 40,
) -> ExactMAP:
    """The exact MAP prior of studies with ``events`` of ``n`` under ``logit p_j ~ N(mu, tau)``.

    ``mu`` must be a Normal prior and ``tau`` a HalfNormal one (the MAP model's defaults).
    With no studies it is the prior predictive of a new study's rate.
    """
    if mu.dist != "Normal" or tau.dist != "HalfNormal":
        raise ValueError("map_exact needs mu ~ Normal and tau ~ HalfNormal")
    events, n = np.asarray(events, float), np.asarray(n, float)
    m0, s0 = mu.params
    t0 = tau.params[0]
    pad = 10 * t0
    x = np.arange(m0 - 9 * s0 - pad, m0 + 9 * s0 + pad + dx / 2, dx)
    taus = (np.arange(n_tau) + 0.5) * 8 * t0 / n_tau
    e, we = np.polynomial.hermite_e.hermegauss(n_gh)
    we = we / np.sqrt(2 * np.pi)
    log_mu_prior = mu.logpdf(x)
    # studies with the same counts share their likelihood: each distinct (events, n) is integrated once
    counts, mult = np.unique(np.column_stack([events, n]), axis=0, return_counts=True)
    y, m = counts[:, 0, None, None], counts[:, 1, None, None]
    c = gammaln(m + 1) - gammaln(y + 1) - gammaln(m - y + 1)
    log_tau_prior = tau.logpdf(taus)
    logs = np.empty((n_tau, x.size))
    for i, t in enumerate(taus):
        theta = x[:, None] + t * e[None, :]
        lp = log_expit(theta)  # log p; log(1 - p) = log p - theta
        lik = np.exp(c + y * lp + (m - y) * (lp - theta)) @ we  # (distinct studies, x)
        logs[i] = log_mu_prior + mult @ np.log(lik) + log_tau_prior[i]
    post = np.exp(logs - logs.max())
    g = np.zeros_like(x)
    for row, t in zip(post, taus):
        g += gaussian_filter1d(row, sigma=t / dx, mode="constant", truncate=10.0) if t / dx > 0.05 else row
    g /= g.sum() * dx
    return ExactMAP(x, g, dx)


def elir_share_mixture(mix, lo: float, dx: float = 0.005) -> float:
    """The part of a Beta mixture's ELIR ESS (:func:`analysis.priors.ess.ess`) from rates above ``lo``:
    the total minus the integral over ``p <= lo``, computed on a logit grid."""
    from scipy.special import betaln, logit

    from analysis.priors.ess import ESSError, ess

    try:
        total = ess(mix, "elir")
    except ESSError:
        return float("nan")
    x = np.arange(-80.0, float(logit(lo)) + 10 * dx, dx)
    g = sum(w * np.exp(a * log_expit(x) + b * log_expit(-x) - betaln(a, b)) for w, a, b in mix.components)
    below = ExactMAP(x, g, dx)
    integrand = below.elir_integrand()
    return float(total - np.sum(integrand[expit(x) <= lo]) * dx)
