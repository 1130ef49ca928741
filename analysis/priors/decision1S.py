"""One-sample decision functions and their critical values (RBesT's ``decision1S``, ``decision1S_boundary``).

``decision1S(pc, qc, lower_tail=True)`` returns a callable that takes a posterior mixture and says
whether *every* criterion holds: ``P(theta <= qc[i]) > pc[i]`` (``lower_tail=True``) or
``P(theta > qc[i]) > pc[i]`` (``lower_tail=False``).  Several criteria give dual-criterion designs
(Neuenschwander et al. 2011; e.g. ``decision1S([0.9, 0.5], [0.3, 0.5], lower_tail=False)``: the
rate exceeds 0.3 with probability > 0.9 *and* exceeds 0.5 with probability > 0.5).

``decision1S_boundary(prior, n, decision)`` is the critical value of the trial's statistic (the
responders of ``n`` for Beta, the sample mean for Normal, the total count for Gamma/Poisson, the
total time for Gamma/exponential).  As the posterior moves monotonically with the statistic, the
success region is one side of it:

- ``region == "below"``: success iff statistic <= crit (lower tail with an increasing family;
  for a Beta prior crit = -1 when no count succeeds);
- ``region == "above"``: success iff statistic > crit (upper tail; crit = n when no count succeeds).

For the exponential likelihood (the rate falls as the total time grows) the sides swap.  These are
RBesT's conventions for the increasing families.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from analysis.priors.mixture import BetaMixture, Mixture, NormalMixture


class Decision1S:
    """A one-sample decision rule: all of ``P(theta <= qc) > pc`` (lower tail) or ``P(theta > qc) > pc`` hold.

    Parameters
    ----------
    pc : float or sequence of float
        Critical probabilities, each in (0, 1).
    qc : float or sequence of float
        Critical values of the parameter, one per ``pc``.
    lower_tail : bool
        Which tail every criterion reads.
    """

    def __init__(self, pc, qc, lower_tail: bool = True):
        pc, qc = np.broadcast_arrays(np.atleast_1d(np.asarray(pc, float)), np.atleast_1d(np.asarray(qc, float)))
        if np.any((pc <= 0) | (pc >= 1)):
            raise ValueError(f"critical probabilities pc must be in (0, 1), got {pc.tolist()}")
        if not isinstance(lower_tail, (bool, np.bool_)):
            raise TypeError("lower_tail must be one bool for all criteria")
        self.pc, self.qc, self.lower_tail = pc.copy(), qc.copy(), bool(lower_tail)

    def probabilities(self, mix: Mixture) -> np.ndarray:
        """The posterior probability of each criterion."""
        return np.asarray(mix.cdf(self.qc) if self.lower_tail else mix.sf(self.qc), float)

    def __call__(self, mix: Mixture) -> bool:
        return bool(np.all(self.probabilities(mix) > self.pc))

    def success_stat(self, prior: Mixture, y, n, **kw) -> np.ndarray:
        """Success for each value of the statistic ``y`` observed with ``n`` units (vectorised)."""
        y = np.asarray(y, float)
        ok = np.ones(y.shape, bool)
        for p, q in zip(self.pc, self.qc):
            prob = prior.post_cdf(q, y, n, **kw) if self.lower_tail else prior.post_sf(q, y, n, **kw)
            ok &= prob > p
        return ok

    def margins(self, prior: Mixture, y: float, n, **kw) -> np.ndarray:
        """Posterior probability minus pc per criterion at one statistic value."""
        yy = np.asarray([y], float)
        return np.array(
            [
                float((prior.post_cdf(q, yy, n, **kw) if self.lower_tail else prior.post_sf(q, yy, n, **kw))[0]) - p
                for p, q in zip(self.pc, self.qc)
            ]
        )

    def __repr__(self) -> str:
        op = "<=" if self.lower_tail else ">"
        crit = " and ".join(f"P(theta {op} {q:g}) > {p:g}" for p, q in zip(self.pc, self.qc))
        return f"decision1S: {crit}"

    def to_dict(self) -> dict:
        return {"pc": self.pc.tolist(), "qc": self.qc.tolist(), "lower_tail": self.lower_tail}


def decision1S(pc, qc, lower_tail: bool = True) -> Decision1S:
    """One-sample decision function (RBesT's ``decision1S``); see :class:`Decision1S`.

    Parameters
    ----------
    pc : float or sequence of float
        Critical probabilities, each in (0, 1).
    qc : float or sequence of float
        Critical values of the parameter, one per ``pc``.
    lower_tail : bool
        ``True``: success when ``P(theta <= qc) > pc`` for every criterion; ``False``: ``P(theta > qc) > pc``.

    Returns
    -------
    Decision1S
        Called with a posterior mixture, says whether every criterion holds.

    References
    ----------
    Neuenschwander B, Rouyrre N, Hollaender N, Zuber E, Branson M (2011). A proof of concept phase II
    non-inferiority criterion. Statistics in Medicine 30(13):1618-1627 (dual criteria).

    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """
    return Decision1S(pc, qc, lower_tail)


def region(prior: Mixture, lower_tail: bool) -> str:
    """'below' (success iff statistic <= crit) or 'above' (success iff statistic > crit)."""
    return "below" if lower_tail == prior.increasing else "above"


def _prepare(prior: Mixture, n, sigma=None) -> tuple[Mixture, dict]:
    if isinstance(prior, NormalMixture):
        if sigma is not None:
            prior = prior.with_sigma(sigma)
        prior._sigma()
        if not n > 0:
            raise ValueError(f"sample size must be > 0, got {n}")
        return prior, {}
    if int(n) != n or n < 1:
        raise ValueError(f"sample size must be a whole number >= 1, got {n}")
    return prior, {}


def _discrete_crit(success, reg: str, upper: int | None) -> float:
    """Critical value from a vectorised success(y) over 0..upper (Beta) or 0..infinity (Poisson)."""
    if upper is not None:
        ok = success(np.arange(upper + 1))
        if reg == "below":
            return float(np.max(np.nonzero(ok)[0])) if ok.any() else -1.0
        return float(np.max(np.nonzero(~ok)[0])) if (~ok).any() else -1.0
    # unbounded (Poisson totals): success is a prefix ('below') or a suffix ('above'); find the flip
    hi = 64
    while True:
        ok = success(np.arange(hi + 1))
        flips = np.nonzero(ok != ok[0])[0]
        if reg == "below" and not ok[0]:
            return -1.0  # success is a prefix: none
        if reg == "above" and ok[0]:
            return -1.0  # success is a suffix: all
        if flips.size:
            return float(flips[0] - 1)
        if hi > 2**40:
            # never flips: always or never successful
            if reg == "below":
                return math.inf if ok[0] else -1.0
            return -1.0 if ok[0] else math.inf
        hi *= 8


def _root(fn, x0: float, step: float, reg: str) -> float:
    """Root of a monotone margin (success iff margin > 0) by a bracket expanding around x0.

    Without a sign change the margin has one sign everywhere: the critical value is -inf or +inf
    according to the region ('above': success iff v > root; 'below': success iff v <= root).
    """
    f0 = fn(x0)
    if f0 == 0:
        return x0
    lo_prev = hi_prev = x0
    for k in range(64):
        s = step * 2.0**k
        hi, lo = x0 + s, x0 - s
        fh = fn(hi)
        if fh * f0 <= 0:
            return optimize.brentq(fn, hi_prev, hi, xtol=1e-12 * max(1.0, abs(hi)), rtol=1e-13)
        fl = fn(lo)
        if fl * f0 <= 0:
            return optimize.brentq(fn, lo, lo_prev, xtol=1e-12 * max(1.0, abs(lo)), rtol=1e-13)
        hi_prev, lo_prev = hi, lo
    if reg == "above":
        return -math.inf if f0 > 0 else math.inf
    return math.inf if f0 > 0 else -math.inf


def continuous_crit(prior: Mixture, n, decision: Decision1S, center: float, scale: float, **kw) -> float:
    """Critical statistic for a continuous family (on the log scale for exponential totals)."""
    log_scale = not isinstance(prior, NormalMixture)
    reg = region(prior, decision.lower_tail)
    roots = []
    for p, q in zip(decision.pc, decision.qc):
        one = Decision1S([p], [q], decision.lower_tail)

        def margin(v, one=one):
            y = math.exp(v) if log_scale else v
            return float(one.margins(prior, y, n, **kw)[0])

        r = _root(margin, math.log(center) if log_scale else center, scale, reg)
        roots.append(r)
    # success iff statistic > every root ('above') or <= every root ('below')
    v = max(roots) if reg == "above" else min(roots)
    if log_scale:
        return math.exp(v) if math.isfinite(v) else (math.inf if v > 0 else 0.0)
    return v


def decision1S_boundary(prior: Mixture, n, decision: Decision1S, sigma: float | None = None) -> float:
    """Critical value of the statistic of ``n`` units (see the module docstring for its meaning).

    Parameters
    ----------
    prior : Mixture
        The analysis prior.
    n : int or float
        The number of units (patients, or events for an exponential rate).
    decision : Decision1S
        The decision rule.
    sigma : float, optional
        Normal priors only: the sampling standard deviation of one observation (default: the prior's).

    Returns
    -------
    float
        The critical value; which side of it succeeds is :func:`region`'s answer.
    """
    prior, kw = _prepare(prior, n, sigma)
    reg = region(prior, decision.lower_tail)
    if isinstance(prior, BetaMixture):
        return _discrete_crit(lambda y: decision.success_stat(prior, y, n), reg, int(n))
    if prior.discrete:
        return _discrete_crit(lambda y: decision.success_stat(prior, y, n), reg, None)
    if isinstance(prior, NormalMixture):
        se = prior._sigma() / math.sqrt(n)
        return continuous_crit(prior, n, decision, float(np.mean(decision.qc)), se)
    # exponential: total time of n events; start at n / (a rate near the criteria)
    rate = max(float(np.mean(decision.qc)), 1e-12)
    return continuous_crit(prior, n, decision, n / rate, 1 / math.sqrt(n))
