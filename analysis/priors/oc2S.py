"""Operating characteristics of a two-sample design (RBesT's ``oc2S``).

``oc2S(prior1, prior2, n1, n2, decision)`` returns a function of the true parameters
``(theta1, theta2)`` (broadcast against each other): the exact probability of success

    sum over y2 of P(y2 | theta2) P(y1 in success region(y2) | theta1)

for discrete statistics (all y2 with probability above 1e-15 for Poisson totals), and the same
integral over a fine grid of y2 for continuous ones (trapezoid rule on a grid of step se / 8, which
for these smooth, rapidly decaying integrands is accurate to about 1e-7).  The critical values are
those of :func:`analysis.priors.decision2S.decision2S_boundary`: computed on the first call, cached
and reused, so later calls cost only binomial/Poisson/normal tail sums (milliseconds).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from analysis.priors.decision2S import Boundary2S, Decision2S
from analysis.priors.mixture import BetaMixture, Mixture, NormalMixture

TAIL = 1e-15


class OC2S:
    def __init__(self, prior1: Mixture, prior2: Mixture, n1, n2, decision: Decision2S, sigma1=None, sigma2=None):
        self.boundary = Boundary2S(prior1, prior2, n1, n2, decision, sigma1, sigma2)
        self.prior1, self.prior2 = self.boundary.prior1, self.boundary.prior2
        self.n1, self.n2, self.decision = self.boundary.n1, self.boundary.n2, decision

    def _region_prob1(self, crit: np.ndarray, theta1: np.ndarray) -> np.ndarray:
        """P(y1 in success region | theta1) for critical values ``crit`` (rows) and theta1 (columns)."""
        dist = self.prior1.stat_dist(theta1[None, :], self.n1)
        c = crit[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            p = dist.cdf(c) if self.boundary.region == "below" else dist.sf(c)
        return np.nan_to_num(np.asarray(p, float))

    def _y2_range(self, theta2: np.ndarray) -> int:
        if isinstance(self.prior2, BetaMixture):
            return self.n2
        lam = self.n2 * np.max(theta2)
        return int(stats.poisson.isf(TAIL, lam)) + 1

    def __call__(self, theta1, theta2) -> np.ndarray:
        t1, t2 = np.broadcast_arrays(np.asarray(theta1, float), np.asarray(theta2, float))
        shape = t1.shape
        t1, t2 = t1.ravel(), t2.ravel()
        if self.boundary.discrete:
            top = self._y2_range(t2)
            crit = self.boundary.discrete_table(top)
            y2 = np.arange(top + 1)
            pmf2 = self.prior2.stat_dist(t2[None, :], self.n2).pmf(y2[:, None])
            out = np.sum(pmf2 * self._region_prob1(crit, t1), axis=0)
        else:
            out = np.empty(t1.size)
            for i, (a, b) in enumerate(zip(t1, t2)):
                out[i] = self._continuous(a, b)
        return np.clip(out, 0.0, 1.0).reshape(shape)

    def _continuous(self, theta1: float, theta2: float) -> float:
        b = self.boundary
        if isinstance(self.prior2, NormalMixture):
            se = self.prior2._sigma() / math.sqrt(self.n2)
            v, crit = b.grid(theta2 - 9 * se, theta2 + 9 * se)
            dens = stats.norm.pdf(v, theta2, se)
        else:  # exponential total time: v = log(T2), T2 ~ Gamma(n2, rate theta2)
            sd = 1 / math.sqrt(self.n2)
            center = math.log(self.n2 / theta2)
            v, crit = b.grid(center - 10 * sd, center + 10 * sd)
            dens = stats.gamma.pdf(np.exp(v), self.n2, scale=1 / theta2) * np.exp(v)
        p1 = self._region_prob1(crit, np.array([theta1]))[:, 0]
        return float(np.trapezoid(dens * p1, v))

    def __repr__(self) -> str:
        return f"oc2S(n1={self.n1}, n2={self.n2}; {self.decision!r})"


def oc2S(prior1: Mixture, prior2: Mixture, n1, n2, decision: Decision2S, sigma1=None, sigma2=None) -> OC2S:
    """Two-sample operating characteristics as a function of (theta1, theta2); see :class:`OC2S`.

    Parameters
    ----------
    prior1, prior2 : Mixture
        The analysis priors of the two arms (one family).
    n1, n2 : int or float
        The arms' numbers of units.
    decision : Decision2S
        The decision rule.
    sigma1, sigma2 : float, optional
        Normal priors only: each arm's sampling standard deviation of one observation.

    Returns
    -------
    OC2S
        Called with true parameters of both arms, gives P(success).

    References
    ----------
    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """
    return OC2S(prior1, prior2, n1, n2, decision, sigma1, sigma2)
