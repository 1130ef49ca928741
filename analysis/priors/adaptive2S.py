"""Adaptive two-stage design with a robust MAP prior for the control arm (Schmidli et al. 2014).

Stage 1 enrols ``n1`` control patients (and treatment patients, whose number ``m`` is fixed).  At
the interim the control prior is updated with the ``r1`` stage-1 responders, and the number of
stage-2 controls is set from the posterior's effective sample size::

    n2(r1) = max(n_target - round(ESS(prior | r1 of n1)), n_min)

so that prior information plus stage-1 patients plus stage-2 patients is worth about
``n_target`` controls; when the data conflict with the MAP prior, the robust component takes over,
the posterior ESS drops and more controls are enrolled.  The final analysis uses all
``n1 + n2(r1)`` controls and the two-sample decision (RBesT's ``decision2S``).  ESS is Morita's with
RBesT's flattening constant s = 100, as in RBesT's ``demo/robustMAP.R`` (a design parameter here).

Operating characteristics are exact (binomial enumeration), conditional on the stage-1 data:

    P(success) = sum_{r1} Bin(r1; n1, p_c) sum_{r2} Bin(r2; n2(r1), p_c) P(y_t in region(r1 + r2) | p_t)

RBesT's demo (``OC_adaptBinary2S``) weights ``oc2S(..., n1 + n2(r1))`` by ``Bin(r1; n1, p_c)``, which
treats the final control count as independent of ``r1``; ``conditional=False`` gives that
approximation for comparison.  Both agree exactly when the ESS, and so the sample size, does not
depend on ``r1`` (a conjugate Beta prior).

References
----------
Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B (2014).
Robust meta-analytic-predictive priors in clinical trials with historical control information.
Biometrics 70:1023-1032 (Section 5, the adaptive design).
RBesT ``demo/robustMAP.R`` (``OC_adaptBinary2S``; stage 1 n1 = 15, n_target = 40, n_min = 5, m = 40).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from analysis.priors.decision2S import Boundary2S, Decision2S
from analysis.priors.ess import S_DEFAULT, ess
from analysis.priors.mixture import BetaMixture


def _whole(name: str, value, lo: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < lo:
        raise ValueError(f"{name} must be a whole number >= {lo}, got {value!r}")
    return int(value)


@dataclass
class Adaptive2S:
    """An adaptive two-stage design; call it with true rates ``(p_t, p_c)`` for P(success)."""

    prior_treatment: BetaMixture
    prior_control: BetaMixture
    n1: int
    n_target: int
    n_min: int
    m: int
    decision: Decision2S
    ess_method: str = "morita"
    s: float = S_DEFAULT
    conditional: bool = True
    n2: np.ndarray = field(init=False)
    ess1: np.ndarray = field(init=False)

    def __post_init__(self):
        for name, prior in (("prior_treatment", self.prior_treatment), ("prior_control", self.prior_control)):
            if not isinstance(prior, BetaMixture):
                raise TypeError(f"{name} must be a BetaMixture (binary endpoint), got {type(prior).__name__}")
        self.n1 = _whole("n1", self.n1, 1)
        self.n_target = _whole("n_target", self.n_target, 1)
        self.n_min = _whole("n_min", self.n_min, 0)
        self.m = _whole("m", self.m, 1)
        # the posterior ESS after each possible stage-1 outcome, and the stage-2 control size it implies
        self.ess1 = np.array(
            [ess(self.prior_control.posterior(r, self.n1), self.ess_method, s=self.s) for r in range(self.n1 + 1)]
        )
        self.n2 = np.maximum(self.n_target - np.round(self.ess1).astype(int), self.n_min)
        self._boundaries: dict[int, np.ndarray] = {}

    @property
    def n_total(self) -> np.ndarray:
        """Total controls after each stage-1 outcome r1 = 0..n1."""
        return self.n1 + self.n2

    def _crit(self, n_c: int) -> np.ndarray:
        """Treatment critical values for every control total 0..n_c (cached per control size)."""
        if n_c not in self._boundaries:
            b = Boundary2S(self.prior_treatment, self.prior_control, self.m, n_c, self.decision)
            self._boundaries[n_c] = (b.region, b.discrete_table(n_c))
        return self._boundaries[n_c]

    def _p_treat(self, region: str, crit: np.ndarray, p_t: float) -> np.ndarray:
        dist = stats.binom(self.m, p_t)
        return dist.cdf(crit) if region == "below" else dist.sf(crit)

    def _one(self, p_t: float, p_c: float) -> float:
        w1 = stats.binom.pmf(np.arange(self.n1 + 1), self.n1, p_c)
        total = 0.0
        for r1, (w, n2) in enumerate(zip(w1, self.n2)):
            if w == 0:
                continue
            n_c = self.n1 + int(n2)
            region, crit = self._crit(n_c)
            succ = self._p_treat(region, crit, p_t)  # P(success | control total y), y = 0..n_c
            if self.conditional:
                pmf = stats.binom.pmf(np.arange(n2 + 1), n2, p_c)
                total += w * float(np.sum(pmf * succ[r1 : r1 + n2 + 1]))
            else:  # RBesT demo: oc2S with n_c controls, as if the control total were Bin(n_c, p_c)
                total += w * float(np.sum(stats.binom.pmf(np.arange(n_c + 1), n_c, p_c) * succ))
        return min(max(total, 0.0), 1.0)

    def __call__(self, p_t, p_c) -> np.ndarray:
        """P(success) at true rates ``p_t`` (treatment) and ``p_c`` (control), broadcast."""
        t, c = np.broadcast_arrays(np.asarray(p_t, float), np.asarray(p_c, float))
        if np.any((t < 0) | (t > 1) | (c < 0) | (c > 1)) or not (np.all(np.isfinite(t)) and np.all(np.isfinite(c))):
            raise ValueError("true rates p_t and p_c must be in [0, 1]")
        out = np.array([self._one(a, b) for a, b in zip(t.ravel(), c.ravel())])
        return out.reshape(t.shape)

    def expected_n(self, p_c) -> np.ndarray:
        """Expected number of controls, sum_r1 Bin(r1; n1, p_c) (n1 + n2(r1))."""
        c = np.asarray(p_c, float)
        w = stats.binom.pmf(np.arange(self.n1 + 1)[:, None], self.n1, c.ravel()[None, :])
        return (self.n_total @ w).reshape(c.shape)

    def n_distribution(self, p_c: float) -> dict[int, float]:
        """P(total controls = n) at the true control rate."""
        w = stats.binom.pmf(np.arange(self.n1 + 1), self.n1, p_c)
        out: dict[int, float] = {}
        for n, wi in zip(self.n_total, w):
            out[int(n)] = out.get(int(n), 0.0) + float(wi)
        return out

    def table(self, p_c, delta) -> list[dict]:
        """OC per true control rate and effect: P(success) and the expected control and total sample sizes."""
        rows = []
        for d in np.atleast_1d(delta):
            for pc in np.atleast_1d(p_c):
                pt = float(pc + d)
                en = float(self.expected_n(pc))
                rows.append(
                    {
                        "p_c": float(pc),
                        "delta": float(d),
                        "p_t": pt,
                        "success": float(self(pt, pc)) if 0 <= pt <= 1 else None,
                        "expected_n_control": en,
                        "expected_n_total": en + self.m,
                    }
                )
        return rows

    def to_dict(self) -> dict:
        return {
            "n1": self.n1,
            "n_target": self.n_target,
            "n_min": self.n_min,
            "m": self.m,
            "ess_method": self.ess_method,
            "s": self.s,
            "conditional": self.conditional,
            "decision": self.decision.to_dict(),
            "ess_stage1": self.ess1.tolist(),
            "n2": self.n2.tolist(),
        }


def adaptive2S(
    prior_treatment: BetaMixture,
    prior_control: BetaMixture,
    n1: int,
    n_target: int,
    n_min: int,
    m: int,
    decision: Decision2S,
    ess_method: str = "morita",
    s: float = S_DEFAULT,
    conditional: bool = True,
) -> Adaptive2S:
    """Adaptive two-stage robust-MAP design (Schmidli et al. 2014); see :class:`Adaptive2S`.

    Parameters
    ----------
    prior_treatment, prior_control
        Beta mixtures (the control prior is usually a robust MAP prior).
    n1
        Stage-1 controls.
    n_target
        Target control information: stage-2 controls are ``max(n_target - round(ESS), n_min)``.
    n_min
        Minimum stage-2 controls.
    m
        Treatment patients (fixed).
    decision
        Two-sample decision (:func:`analysis.priors.decision2S.decision2S`), treatment first.
    ess_method, s
        ESS of the interim posterior (Morita with RBesT's s = 100 by default, as RBesT's demo).
    conditional
        Exact OC conditional on the stage-1 data (default) or RBesT demo's weighting of ``oc2S``.

    Returns
    -------
    Adaptive2S
        Callable ``(p_t, p_c) -> P(success)``; ``expected_n(p_c)``; ``n2`` per stage-1 outcome.

    References
    ----------
    Schmidli et al. (2014) Biometrics 70:1023-1032; RBesT ``demo/robustMAP.R``.
    """
    return Adaptive2S(prior_treatment, prior_control, n1, n_target, n_min, m, decision, ess_method, s, conditional)
