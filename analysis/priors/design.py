"""Bayesian decision rules and their exact operating characteristics (RBesT's ``decision1S``,
``oc1S``, ``pos1S``, ``decision2S``, ``oc2S``, ``pos2S``).

One-sample: success when ``P(p > p0 | data) > c``.  Because the criterion
grows with the number of responders, the rule is a boundary ``y_c`` (the
fewest responders that succeed), and the probability of success at a true
rate p is exactly ``P(Y >= y_c | n, p)``: no simulation is needed.

Two-sample: success when ``P(p_t - p_c > delta | data) > c`` with separate
priors (a MAP prior for control).  For each control count ``y_c`` the
boundary ``b(y_c)`` is the fewest treatment responders that succeed, and
``P(success) = sum_yc P(Y_c = y_c) P(Y_t >= b(y_c))``.

Probability of success (assurance) averages the operating characteristics
over a design prior, again exactly, through the prior predictive
distribution.  Interim futility uses the predictive probability of final
success (Lee & Liu 2008).

Simulation versions (:func:`simulate_oc1S`) exist to check the exact
results; they take a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.priors.mixture import BetaMixture

GRID = np.linspace(0.0, 1.0, 4001)


def _check_design(n: int, threshold: float, c: float) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"sample size must be a whole number >= 1, got {n}")
    if not 0 < c < 1:
        raise ValueError(f"decision threshold c must be in (0, 1), got {c}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"p0 must be in [0, 1], got {threshold}")


def posterior_prob_above(prior: BetaMixture, y, n: int, p0: float) -> np.ndarray:
    """P(p > p0 | y of n) for every y in ``y`` (vectorised over y)."""
    y = np.atleast_1d(np.asarray(y))
    w, a, b = (np.array(v) for v in zip(*prior.components))
    lw = np.log(w) + prior.log_marginal(y, n)
    post_w = np.exp(lw - lw.max(axis=-1, keepdims=True))
    post_w /= post_w.sum(-1, keepdims=True)
    sf = stats.beta.sf(p0, a + y[:, None], b + n - y[:, None])
    return np.sum(post_w * sf, axis=-1)


def decision1S(prior: BetaMixture, n: int, p0: float, c: float) -> int:
    """Fewest responders out of ``n`` with ``P(p > p0 | data) > c``; ``n + 1`` if none."""
    _check_design(n, p0, c)
    crit = posterior_prob_above(prior, np.arange(n + 1), n, p0)
    ok = np.nonzero(crit > c)[0]
    return int(ok[0]) if ok.size else n + 1


def oc1S(prior: BetaMixture, n: int, p0: float, c: float, p_true) -> np.ndarray:
    """Exact probability of success at each true rate."""
    yc = decision1S(prior, n, p0, c)
    return stats.binom.sf(yc - 1, n, np.asarray(p_true, float))


def pos1S(prior: BetaMixture, n: int, p0: float, c: float, design_prior: BetaMixture) -> float:
    """Probability of success averaged over ``design_prior`` (assurance)."""
    yc = decision1S(prior, n, p0, c)
    return float(design_prior.predictive_pmf(n)[yc:].sum())


def simulate_oc1S(
    prior: BetaMixture, n: int, p0: float, c: float, p_true, trials: int, rng: np.random.Generator
) -> np.ndarray:
    """The same OC by brute force: simulate trials, compute each posterior, apply the rule."""
    out = []
    for p in np.atleast_1d(np.asarray(p_true, float)):
        y = rng.binomial(n, p, size=trials)
        out.append(np.mean(posterior_prob_above(prior, y, n, p0) > c))
    return np.array(out)


# -- interim futility ------------------------------------------------------------
def predictive_probability(prior: BetaMixture, y1: int, n1: int, n: int, p0: float, c: float) -> float:
    """P(final success | y1 of n1 so far), over the posterior predictive of the remaining n - n1."""
    if not 0 < n1 < n:
        raise ValueError(f"need 0 < n1 < n, got n1={n1}, n={n}")
    yc = decision1S(prior, n, p0, c)
    pred = prior.posterior(y1, n1).predictive_pmf(n - n1)
    need = max(0, yc - y1)
    return float(pred[need:].sum()) if need <= n - n1 else 0.0


@dataclass(frozen=True)
class InterimOC:
    success: np.ndarray
    futility_stop: np.ndarray
    expected_n: np.ndarray
    boundary_final: int
    stop_if_at_most: int


def oc1S_interim(prior: BetaMixture, n1: int, n: int, p0: float, c: float, futility: float, p_true) -> InterimOC:
    """Exact OC of a design that stops at ``n1`` when the predictive probability of success < ``futility``."""
    yc = decision1S(prior, n, p0, c)
    pp = np.array([predictive_probability(prior, y1, n1, n, p0, c) for y1 in range(n1 + 1)])
    go = pp >= futility
    stop_max = int(np.max(np.nonzero(~go)[0])) if (~go).any() else -1
    p = np.atleast_1d(np.asarray(p_true, float))
    f1 = stats.binom.pmf(np.arange(n1 + 1)[:, None], n1, p)  # (y1, p)
    need = np.maximum(0, yc - np.arange(n1 + 1))[:, None]
    cont = stats.binom.sf(need - 1, n - n1, p)
    success = np.sum(f1 * cont * go[:, None], axis=0)
    stop = np.sum(f1 * (~go)[:, None], axis=0)
    return InterimOC(success, stop, n1 + (n - n1) * (1 - stop), yc, stop_max)


# -- two-sample ---------------------------------------------------------------
def prob_difference_above(post_t: BetaMixture, post_c: BetaMixture, delta: float) -> float:
    """P(p_t - p_c > delta) for independent Beta-mixture posteriors (numerical integration)."""
    x = GRID
    f = post_c.pdf(x)
    f[~np.isfinite(f)] = 0.0
    g = post_t.sf(np.clip(x + delta, 0.0, 1.0))
    g = np.where(x + delta < 0, 1.0, np.where(x + delta > 1, 0.0, g))
    return float(np.clip(np.trapezoid(f * g, x), 0.0, 1.0))


def decision2S(prior_t: BetaMixture, prior_c: BetaMixture, n_t: int, n_c: int, delta: float, c: float) -> np.ndarray:
    """For each control count 0..n_c, the fewest treatment responders that succeed (n_t + 1 if none)."""
    _check_design(n_t, 0.5, c)
    _check_design(n_c, 0.5, c)
    post_t = [prior_t.posterior(y, n_t) for y in range(n_t + 1)]
    bounds = np.empty(n_c + 1, dtype=int)
    lo_start = 0
    for yc in range(n_c + 1):
        pc = prior_c.posterior(yc, n_c)
        lo, hi = lo_start, n_t + 1  # criterion is increasing in y_t and the boundary in y_c
        while lo < hi:
            mid = (lo + hi) // 2
            if prob_difference_above(post_t[mid], pc, delta) > c:
                hi = mid
            else:
                lo = mid + 1
        bounds[yc] = lo
        lo_start = lo
    return bounds


def oc2S(prior_t, prior_c, n_t, n_c, delta, c, p_t, p_c) -> np.ndarray:
    """Exact P(success) for each pair of true rates (broadcast ``p_t`` against ``p_c``)."""
    bounds = decision2S(prior_t, prior_c, n_t, n_c, delta, c)
    p_t, p_c = np.broadcast_arrays(np.asarray(p_t, float), np.asarray(p_c, float))
    yc = np.arange(n_c + 1)
    pmf_c = stats.binom.pmf(yc[:, None], n_c, p_c.ravel())
    sf_t = stats.binom.sf(bounds[:, None] - 1, n_t, p_t.ravel())
    return np.sum(pmf_c * sf_t, axis=0).reshape(p_t.shape)


def pos2S(prior_t, prior_c, n_t, n_c, delta, c, design_t: BetaMixture, design_c: BetaMixture) -> float:
    bounds = decision2S(prior_t, prior_c, n_t, n_c, delta, c)
    pred_c = design_c.predictive_pmf(n_c)
    pred_t = design_t.predictive_pmf(n_t)
    tail = np.concatenate([np.cumsum(pred_t[::-1])[::-1], [0.0]])  # tail[k] = P(Y_t >= k)
    return float(np.sum(pred_c * tail[bounds]))


def conflict_pvalue(prior: BetaMixture, events: int, n: int) -> dict:
    """Prior-data conflict: prior predictive tail probabilities of the observed count."""
    pmf = prior.predictive_pmf(n)
    lower = float(pmf[: events + 1].sum())
    upper = float(pmf[events:].sum())
    return {"p_lower": lower, "p_upper": upper, "p_two_sided": min(1.0, 2 * min(lower, upper))}
