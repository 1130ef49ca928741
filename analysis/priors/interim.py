"""Interim futility for a one-sample Beta design: predictive probability of final success (Lee & Liu 2008)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.priors.decision1S import Decision1S, decision1S_boundary, region
from analysis.priors.mixture import BetaMixture


def _success_counts(prior: BetaMixture, n: int, decision: Decision1S) -> tuple[int, str]:
    crit = int(decision1S_boundary(prior, n, decision))
    return crit, region(prior, decision.lower_tail)


def predictive_probability(prior: BetaMixture, y1: int, n1: int, n: int, decision: Decision1S) -> float:
    """P(final success | y1 of n1 so far), over the posterior predictive of the remaining n - n1.

    Parameters
    ----------
    prior : BetaMixture
        The analysis prior.
    y1 : int
        Responders at the interim.
    n1 : int
        Patients at the interim, ``0 < n1 < n``.
    n : int
        Patients at the final analysis.
    decision : Decision1S
        The final analysis's decision rule.

    Returns
    -------
    float
        The predictive probability that the final analysis succeeds.

    References
    ----------
    Lee JJ, Liu DD (2008). A predictive probability design for phase II cancer clinical trials. Clinical
    Trials 5(2):93-106.
    """
    if not 0 < n1 < n:
        raise ValueError(f"need 0 < n1 < n, got n1={n1}, n={n}")
    crit, reg = _success_counts(prior, n, decision)
    pred = prior.posterior(y1, n1).predictive_pmf(n - n1)
    y_final = y1 + np.arange(n - n1 + 1)
    ok = y_final > crit if reg == "above" else y_final <= crit
    return float(pred[ok].sum())


@dataclass(frozen=True)
class InterimOC:
    success: np.ndarray
    futility_stop: np.ndarray
    expected_n: np.ndarray
    boundary_final: int
    stop_if_at_most: int


def oc1S_interim(prior: BetaMixture, n1: int, n: int, decision: Decision1S, futility: float, p_true) -> InterimOC:
    """Exact OC of a design (upper-tail decision) that stops at ``n1`` when the predictive probability
    of final success is below ``futility``.  ``boundary_final``: the fewest final responders that succeed.

    Parameters
    ----------
    prior : BetaMixture
        The analysis prior.
    n1 : int
        Patients at the interim.
    n : int
        Patients at the final analysis.
    decision : Decision1S
        The final analysis's decision rule (upper tail).
    futility : float
        The trial stops when the predictive probability of final success (:func:`predictive_probability`) is
        below this.
    p_true : float or array_like
        True response rates.

    Returns
    -------
    InterimOC
        At each rate: P(success), P(stopping for futility), the expected number of patients; and the rule's
        final boundary and interim stopping count.

    References
    ----------
    Lee JJ, Liu DD (2008). A predictive probability design for phase II cancer clinical trials. Clinical
    Trials 5(2):93-106.
    """
    crit, reg = _success_counts(prior, n, decision)
    if reg != "above":
        raise ValueError("interim futility is implemented for upper-tail (efficacy) decisions")
    need_final = crit + 1
    pp = np.array([predictive_probability(prior, y1, n1, n, decision) for y1 in range(n1 + 1)])
    go = pp >= futility
    stop_max = int(np.max(np.nonzero(~go)[0])) if (~go).any() else -1
    p = np.atleast_1d(np.asarray(p_true, float))
    f1 = stats.binom.pmf(np.arange(n1 + 1)[:, None], n1, p)
    need = np.maximum(0, need_final - np.arange(n1 + 1))[:, None]
    cont = stats.binom.sf(need - 1, n - n1, p)
    success = np.sum(f1 * cont * go[:, None], axis=0)
    stop = np.sum(f1 * (~go)[:, None], axis=0)
    return InterimOC(success, stop, n1 + (n - n1) * (1 - stop), need_final, stop_max)
