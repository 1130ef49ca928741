"""Operating characteristics of a one-sample design (RBesT's ``oc1S``).

``oc1S(prior, n, decision)`` computes the critical value once (:func:`decision1S_boundary`) and
returns a function of the true parameter: the exact probability that the decision succeeds,
``P(statistic in success region | theta)`` under the family's sampling distribution (binomial,
normal mean, Poisson total, Gamma total time).  No simulation.
"""

from __future__ import annotations

import numpy as np

from analysis.priors.decision1S import Decision1S, _prepare, decision1S_boundary, region
from analysis.priors.mixture import Mixture


class OC1S:
    """P(success) as a function of the true parameter; ``boundary`` and ``region`` describe the rule."""

    def __init__(self, prior: Mixture, n, decision: Decision1S, sigma: float | None = None):
        self.prior, _ = _prepare(prior, n, sigma)
        self.n, self.decision = n, decision
        self.boundary = decision1S_boundary(self.prior, n, decision)
        self.region = region(self.prior, decision.lower_tail)

    def __call__(self, theta) -> np.ndarray:
        theta = np.asarray(theta, float)
        dist = self.prior.stat_dist(theta, self.n)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = dist.cdf(self.boundary) if self.region == "below" else dist.sf(self.boundary)
        return np.clip(np.asarray(p, float), 0.0, 1.0)

    def __repr__(self) -> str:
        side = "<=" if self.region == "below" else ">"
        return f"oc1S(n={self.n}, success iff statistic {side} {self.boundary:g}; {self.decision!r})"


def oc1S(prior: Mixture, n, decision: Decision1S, sigma: float | None = None) -> OC1S:
    """One-sample operating characteristics (RBesT's ``oc1S``): the probability that a trial of ``n`` units
    succeeds, as a function of the true parameter.

    Parameters
    ----------
    prior : Mixture
        The analysis prior.
    n : int or float
        The number of units.
    decision : Decision1S
        The decision rule.
    sigma : float, optional
        Normal priors only: the sampling standard deviation of one observation (default: the prior's).

    Returns
    -------
    OC1S
        Called with true parameter values, gives P(success) at each.

    References
    ----------
    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """
    return OC1S(prior, n, decision, sigma)
