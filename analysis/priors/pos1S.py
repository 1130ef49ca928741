"""Probability of success of a one-sample design under a design prior (RBesT's ``pos1S``).

``pos1S(prior, n, decision)`` computes the critical value once and returns a function of a design
mixture: the prior predictive probability (:func:`preddist`) of the success region (assurance).
"""

from __future__ import annotations

from analysis.priors.decision1S import Decision1S
from analysis.priors.mixture import Mixture
from analysis.priors.oc1S import OC1S
from analysis.priors.preddist import preddist


class POS1S(OC1S):
    def __call__(self, design: Mixture) -> float:  # type: ignore[override]
        # the data model (sigma) is the analysis prior's
        pred = preddist(design, self.n, self.prior.sigma if design.family == "normal" else None)
        p = pred.cdf(self.boundary) if self.region == "below" else pred.sf(self.boundary)
        return float(min(1.0, max(0.0, p)))


def pos1S(prior: Mixture, n, decision: Decision1S, sigma: float | None = None) -> POS1S:
    """One-sample probability of success (RBesT's ``pos1S``): P(success) averaged over a design prior of the
    true parameter, i.e. under the design prior's predictive distribution of the trial's statistic.

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
    POS1S
        Called with a design prior (a mixture of the same family), gives the probability of success.

    References
    ----------
    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """
    return POS1S(prior, n, decision, sigma)
