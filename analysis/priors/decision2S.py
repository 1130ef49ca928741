"""Two-sample decision functions and their critical values (RBesT's ``decision2S``, ``decision2S_boundary``).

``decision2S(pc, qc, lower_tail=True, link="identity")`` returns a callable taking the two
posteriors (sample 1, usually treatment; sample 2, usually control) that says whether every
criterion ``P(g(theta1) - g(theta2) <= qc[i]) > pc[i]`` holds (``> qc[i]`` with
``lower_tail=False``), with ``g`` the identity (difference), ``logit`` (log odds ratio) or ``log``
(log relative risk or rate ratio).  Probabilities come from :func:`analysis.priors.pmixdiff.pmixdiff`.

``decision2S_boundary(prior1, prior2, n1, n2, decision)`` returns a :class:`Boundary2S`: called with
sample 2's statistic ``y2`` it gives sample 1's critical value, with the same conventions as
:func:`analysis.priors.decision1S.decision1S_boundary` (``region`` 'below': success iff
y1 <= crit; 'above': success iff y1 > crit).  Critical values are computed once and cached, so the
operating characteristics can be evaluated for many true rates cheaply.

For discrete statistics (responders, Poisson totals) the critical value moves monotonically with
``y2``; it is found for ``y2 = 0`` by bisection and then by walking up from the previous value, so
a design with ``n`` per arm needs about ``2n`` probability evaluations.  For continuous statistics
(normal means, exponential total times) critical values are computed on a uniform grid of ``y2``
(of ``log y2`` for times) with step ``se / 8``, extended on demand.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.priors.decision1S import _root, region
from analysis.priors.mixture import BetaMixture, Mixture, NormalMixture
from analysis.priors.pmixdiff import LINKS, prob_above

#: posterior components lighter than this are dropped in boundary searches (error <= this)
PRUNE = 1e-14


class Decision2S:
    """All of ``P(g(theta1) - g(theta2) <= qc) > pc`` (lower tail) or ``... > qc) > pc`` hold.

    Parameters
    ----------
    pc : float or sequence of float
        Critical probabilities, each in (0, 1).
    qc : float or sequence of float
        Critical values of the difference ``g(theta1) - g(theta2)``, one per ``pc``.
    lower_tail : bool
        ``True``: success when ``P(g(theta1) - g(theta2) <= qc) > pc`` for every criterion; ``False``: ``> qc``.
    link : {"identity", "logit", "log"}
        The scale ``g`` of the comparison.
    """

    def __init__(self, pc, qc, lower_tail: bool = True, link: str = "identity"):
        pc, qc = np.broadcast_arrays(np.atleast_1d(np.asarray(pc, float)), np.atleast_1d(np.asarray(qc, float)))
        if np.any((pc <= 0) | (pc >= 1)):
            raise ValueError(f"critical probabilities pc must be in (0, 1), got {pc.tolist()}")
        if link not in LINKS:
            raise ValueError(f"link must be one of {list(LINKS)}, got {link!r}")
        if not isinstance(lower_tail, (bool, np.bool_)):
            raise TypeError("lower_tail must be one bool for all criteria")
        self.pc, self.qc, self.lower_tail, self.link = pc.copy(), qc.copy(), bool(lower_tail), link

    def probabilities(self, post1: Mixture, post2: Mixture) -> np.ndarray:
        above = np.array([prob_above(post1, post2, q, self.link) for q in self.qc])
        return 1 - above if self.lower_tail else above

    def margins(self, post1: Mixture, post2: Mixture) -> np.ndarray:
        return self.probabilities(post1, post2) - self.pc

    def __call__(self, post1: Mixture, post2: Mixture) -> bool:
        return bool(np.all(self.margins(post1, post2) > 0))

    def __repr__(self) -> str:
        op = "<=" if self.lower_tail else ">"
        g = {
            "identity": "theta1 - theta2",
            "logit": "logit(theta1) - logit(theta2)",
            "log": "log(theta1) - log(theta2)",
        }
        crit = " and ".join(f"P({g[self.link]} {op} {q:g}) > {p:g}" for p, q in zip(self.pc, self.qc))
        return f"decision2S: {crit}"

    def to_dict(self) -> dict:
        return {"pc": self.pc.tolist(), "qc": self.qc.tolist(), "lower_tail": self.lower_tail, "link": self.link}


def decision2S(pc, qc, lower_tail: bool = True, link: str = "identity") -> Decision2S:
    """Two-sample decision function (RBesT's ``decision2S``); see :class:`Decision2S`.

    Parameters
    ----------
    pc : float or sequence of float
        Critical probabilities, each in (0, 1).
    qc : float or sequence of float
        Critical values of the difference ``g(theta1) - g(theta2)``, one per ``pc``.
    lower_tail : bool
        ``True``: success when ``P(g(theta1) - g(theta2) <= qc) > pc`` for every criterion; ``False``: ``> qc``.
    link : {"identity", "logit", "log"}
        The scale ``g`` of the comparison.

    Returns
    -------
    Decision2S
        Called with the two arms' posterior mixtures, says whether every criterion holds.

    References
    ----------
    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """
    return Decision2S(pc, qc, lower_tail, link)


def _prune(mix: Mixture) -> Mixture:
    w = mix.weights
    keep = w > PRUNE
    if keep.all():
        return mix
    comps = [c for c, k in zip(mix.components, keep) if k]
    tot = sum(c[0] for c in comps)
    return mix._new([c[0] / tot for c in comps], [c[1] for c in comps], [c[2] for c in comps])


class Boundary2S:
    """Critical value of sample 1's statistic as a function of sample 2's, cached.

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
    """

    def __init__(self, prior1: Mixture, prior2: Mixture, n1, n2, decision: Decision2S, sigma1=None, sigma2=None):
        if type(prior1) is not type(prior2):
            raise TypeError("both priors must be of one family")
        if isinstance(prior1, NormalMixture):
            prior1 = prior1.with_sigma(sigma1) if sigma1 is not None else prior1
            prior2 = prior2.with_sigma(sigma2) if sigma2 is not None else prior2
            prior1._sigma(), prior2._sigma()
        else:
            for n in (n1, n2):
                if int(n) != n or n < 1:
                    raise ValueError(f"sample sizes must be whole numbers >= 1, got {n}")
            n1, n2 = int(n1), int(n2)
        if getattr(prior1, "likelihood", None) != getattr(prior2, "likelihood", None):
            raise ValueError("both Gamma priors need the same likelihood")
        self.prior1, self.prior2, self.n1, self.n2, self.decision = prior1, prior2, n1, n2, decision
        self.region = region(prior1, decision.lower_tail)
        self.discrete = prior1.discrete
        self.log_scale = not self.discrete and not isinstance(prior1, NormalMixture)
        self._post1: dict = {}
        self._post2: dict = {}
        self._crit: dict = {}
        self.evaluations = 0
        if not self.discrete:
            # grid for the continuous statistic of sample 2 (log scale for total times)
            sd = prior2._sigma() / math.sqrt(n2) if isinstance(prior2, NormalMixture) else 1 / math.sqrt(n2)
            self.h = sd / 8
            sd1 = prior1._sigma() / math.sqrt(n1) if isinstance(prior1, NormalMixture) else 1 / math.sqrt(n1)
            self.step1 = sd1

    # -- posteriors (cached) ----------------------------------------------------------------------
    def _p1(self, y1):
        if y1 not in self._post1:
            self._post1[y1] = _prune(self.prior1.posterior_stat(y1, self.n1))
        return self._post1[y1]

    def _p2(self, y2):
        if y2 not in self._post2:
            self._post2[y2] = _prune(self.prior2.posterior_stat(y2, self.n2))
        return self._post2[y2]

    def success(self, y1, y2) -> bool:
        self.evaluations += 1
        return self.decision(self._p1(y1), self._p2(y2))

    # -- discrete: walk --------------------------------------------------------------------------
    def _n1_max(self) -> int | None:
        return self.n1 if isinstance(self.prior1, BetaMixture) else None

    def _first_crit(self, y2: int) -> float:
        """Critical y1 for one y2 by bisection (success is a prefix 'below' or a suffix 'above' in y1)."""
        top = self._n1_max()
        below = self.region == "below"
        if top is None:  # unbounded: find an upper end where the rule has flipped (or give up)
            top = 64
            while (self.success(top, y2) if below else not self.success(top, y2)) and top < 2**40:
                top *= 4
            if below and self.success(top, y2):
                return math.inf
            if not below and not self.success(top, y2):
                return math.inf
        # invariant: the critical value c is in [-1, top]; for 'below' success(y1) iff y1 <= c,
        # for 'above' failure(y1) iff y1 <= c
        lo, hi = -1, top
        while lo < hi:
            mid = (lo + hi + 1) // 2
            s = self.success(mid, y2)
            if s == below:
                lo = mid
            else:
                hi = mid - 1
        return float(lo)

    def _walk(self, upto: int) -> None:
        """Critical values for y2 = 0..upto; they never decrease with y2."""
        start = len(self._crit)
        below = self.region == "below"
        top = self._n1_max()
        for y2 in range(start, upto + 1):
            if y2 == 0:
                self._crit[0] = self._first_crit(0)
                continue
            c = self._crit[y2 - 1]
            if not math.isfinite(c):
                self._crit[y2] = c
                continue
            c = int(c)
            while (top is None or c + 1 <= top) and (self.success(c + 1, y2) == below):
                c += 1
                if top is None and c > 2**40:
                    c = math.inf
                    break
            self._crit[y2] = float(c)

    # -- continuous: grid ---------------------------------------------------------------------------
    def _crit_at(self, k: int, hint: float | None = None) -> float:
        if k not in self._crit:
            v2 = k * self.h
            y2 = math.exp(v2) if self.log_scale else v2
            post2 = self._p2(y2)
            roots = []
            for p, q in zip(self.decision.pc, self.decision.qc):

                def margin(v1, p=p, q=q):
                    y1 = math.exp(v1) if self.log_scale else v1
                    post1 = _prune(self.prior1.posterior_stat(y1, self.n1))
                    self.evaluations += 1
                    above = prob_above(post1, post2, q, self.decision.link)
                    return ((1 - above) if self.decision.lower_tail else above) - p

                # start at a neighbour's critical value, or near the sample-2 statistic shifted by the threshold
                if (
                    hint is not None and math.isfinite(hint) and hint > 0
                    if self.log_scale
                    else hint is not None and math.isfinite(hint)
                ):
                    x0 = math.log(hint) if self.log_scale else hint
                elif self.log_scale:
                    x0 = v2
                elif self.decision.link == "identity":
                    x0 = y2 + q
                else:
                    x0 = y2
                roots.append(_root(margin, x0, self.step1, self.region))
            v = max(roots) if self.region == "above" else min(roots)
            self._crit[k] = (math.exp(v) if math.isfinite(v) else (math.inf if v > 0 else 0.0)) if self.log_scale else v
        return self._crit[k]

    def grid(self, v_lo: float, v_hi: float) -> tuple[np.ndarray, np.ndarray]:
        """Grid nodes of sample 2's (log-)statistic covering [v_lo, v_hi] and the critical values there."""
        ks = np.arange(math.floor(v_lo / self.h), math.ceil(v_hi / self.h) + 1)
        out, hint = [], None
        for k in ks:
            hint = self._crit_at(int(k), hint if int(k) not in self._crit else None)
            out.append(hint)
        return ks * self.h, np.array(out)

    # -- public -----------------------------------------------------------------------------------------
    def __call__(self, y2):
        """Critical value(s) of sample 1 for sample 2's statistic ``y2`` (whole numbers if discrete)."""
        y2a = np.atleast_1d(np.asarray(y2, float))
        if self.discrete:
            if np.any(y2a < 0) or np.any(y2a != np.round(y2a)):
                raise ValueError("discrete statistics must be whole numbers >= 0")
            self._walk(int(y2a.max()))
            out = np.array([self._crit[int(v)] for v in y2a])
        else:
            out = []
            for v in y2a:
                x = math.log(v) if self.log_scale else v
                k = x / self.h
                if abs(k - round(k)) < 1e-9:
                    out.append(self._crit_at(int(round(k))))
                else:  # off-grid: compute directly (not cached)
                    tmp = Boundary2S.__new__(Boundary2S)
                    tmp.__dict__.update(self.__dict__)
                    tmp._crit, tmp.h = {}, x
                    out.append(tmp._crit_at(1))
            out = np.array(out)
        return out[0] if np.ndim(y2) == 0 else out

    def discrete_table(self, upto: int) -> np.ndarray:
        self._walk(upto)
        return np.array([self._crit[i] for i in range(upto + 1)])


def decision2S_boundary(
    prior1: Mixture, prior2: Mixture, n1, n2, decision: Decision2S, sigma1=None, sigma2=None
) -> Boundary2S:
    """Critical values of sample 1 given sample 2 (RBesT's ``decision2S_boundary``).

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
    Boundary2S
        Sample 1's critical value for any statistic of sample 2.
    """
    return Boundary2S(prior1, prior2, n1, n2, decision, sigma1, sigma2)
