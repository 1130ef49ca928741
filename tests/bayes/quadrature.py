"""Deterministic posterior of the hierarchical logit-normal model by quadrature.

An independent check of the MCMC fit: the posterior over (mu, tau) is
computed on a 2-D grid, and each unit's logit is integrated out by
Gauss-Hermite quadrature,

    p(y | mu, tau) = prod_d  int Binom(y_d | n_d, expit(t)) Normal(t | mu, tau) dt,

so that posterior means of p_d and of a new unit's rate follow by
summation.  Accurate to ~1e-4 with the default grid for the small counts of
this study.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, log_expit, logsumexp

from analysis.bayes.models import Hierarchical, Model


def posterior_means(spec: Model, events, n, n_mu: int = 401, n_tau: int = 400, n_gh: int = 60) -> dict:
    """Posterior means of each unit's rate and of a new unit's rate."""
    if type(spec) is not Hierarchical:
        raise ValueError("quadrature is implemented for the hierarchical model only")
    events, n = np.asarray(events, float), np.asarray(n, float)
    mu_prior, tau_prior = spec.priors["mu"], spec.priors["tau"]
    m0, s0 = mu_prior.params
    mu = np.linspace(m0 - 8 * s0, m0 + 8 * s0, n_mu)
    tau_max = 8 * tau_prior.params[0]
    # midpoint grid on tau: avoids tau = 0 where the inner integral is degenerate
    tau = (np.arange(n_tau) + 0.5) * tau_max / n_tau
    x, wgh = np.polynomial.hermite_e.hermegauss(n_gh)  # weight exp(-x^2 / 2)
    wgh = wgh / np.sqrt(2 * np.pi)
    log_binom_coef = gammaln(n + 1) - gammaln(events + 1) - gammaln(n - events + 1)
    log_joint = mu_prior.logpdf(mu)[:, None] + tau_prior.logpdf(tau)[None, :]
    # per unit, on the (mu, tau) grid: the inner integral (likelihood) and the conditional mean of its rate; the
    # grid is swept a few mu rows at a time (a fine grid's (mu, tau, node) array would take gigabytes)
    like = np.empty((events.size, n_mu, n_tau))
    cond_p = np.empty((events.size, n_mu, n_tau))
    p_new_cond = np.empty((n_mu, n_tau))
    rows = max(1, 2**18 // (n_tau * n_gh))
    for i in range(0, n_mu, rows):
        block = slice(i, i + rows)
        theta = mu[block, None, None] + tau[None, :, None] * x[None, None, :]  # (mu, tau, node)
        lp_theta = expit(theta)
        log_p, log_1mp = log_expit(theta), log_expit(-theta)
        p_new_cond[block] = lp_theta @ wgh
        for d, (y_d, n_d, c_d) in enumerate(zip(events, n, log_binom_coef)):
            lik = np.exp(c_d + y_d * log_p + (n_d - y_d) * log_1mp)  # (mu, tau, node)
            like[d, block] = lik @ wgh
            cond_p[d, block] = (lik * lp_theta) @ wgh / like[d, block]
    log_post = log_joint + np.sum(np.log(like), axis=0)
    w = np.exp(log_post - logsumexp(log_post))
    means = [float(np.sum(w * ip)) for ip in cond_p]
    p_new = float(np.sum(w * p_new_cond))
    return {"p": means, "p_new": p_new, "mu": float(np.sum(w * mu[:, None])), "tau": float(np.sum(w * tau[None, :]))}
