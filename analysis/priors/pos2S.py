"""Probability of success of a two-sample design under design priors (RBesT's ``pos2S``).

``pos2S(prior1, prior2, n1, n2, decision)`` returns a function of two design mixtures: the
probability of success averaged over their prior predictive distributions (:func:`preddist`),
reusing the cached critical values of :func:`decision2S_boundary`.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.priors.mixture import BetaMixture, Mixture, NormalMixture
from analysis.priors.oc2S import OC2S, TAIL
from analysis.priors.preddist import preddist


class POS2S(OC2S):
    def __call__(self, design1: Mixture, design2: Mixture) -> float:  # type: ignore[override]
        s1 = self.prior1.sigma if isinstance(self.prior1, NormalMixture) else None
        s2 = self.prior2.sigma if isinstance(self.prior2, NormalMixture) else None
        pred1, pred2 = preddist(design1, self.n1, s1), preddist(design2, self.n2, s2)
        b = self.boundary
        if b.discrete:
            top = self.n2 if isinstance(self.prior2, BetaMixture) else int(pred2.quantile(1 - TAIL)) + 1
            crit = b.discrete_table(top)
            y2 = np.arange(top + 1)
            p1 = pred1.cdf(crit) if b.region == "below" else pred1.sf(crit)
            return float(np.clip(np.sum(pred2.pmf(y2) * np.nan_to_num(p1)), 0, 1))
        if isinstance(self.prior2, NormalMixture):
            lo, hi = pred2.quantile(1e-12), pred2.quantile(1 - 1e-12)
            v, crit = b.grid(lo, hi)
            dens = pred2.pdf(v)
        else:
            lo, hi = pred2.quantile(1e-12), pred2.quantile(1 - 1e-12)
            v, crit = b.grid(math.log(lo), math.log(hi))
            dens = pred2.pdf(np.exp(v)) * np.exp(v)
        with np.errstate(invalid="ignore"):
            p1 = pred1.cdf(crit) if b.region == "below" else pred1.sf(crit)
        return float(np.clip(np.trapezoid(dens * np.nan_to_num(p1), v), 0, 1))


def pos2S(prior1: Mixture, prior2: Mixture, n1, n2, decision, sigma1=None, sigma2=None) -> POS2S:
    """Two-sample probability of success (RBesT's ``pos2S``): P(success) under design priors of both arms.

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
    POS2S
        Called with two design priors, gives the probability of success.

    References
    ----------
    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """
    return POS2S(prior1, prior2, n1, n2, decision, sigma1, sigma2)
