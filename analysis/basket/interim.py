"""Interim looks that borrow: two-stage basket designs whose stopping rules use the borrowing posterior.

At one interim look every indication has ``interim_n`` patients.  The
method's posterior of each indication's rate given *all* indications'
stage-1 data decides: futility when the probability below falls under
``futility``, efficacy (a go) when it exceeds ``efficacy``, where the
probability is (``interim_rule``)

- ``"predictive"``: the predictive probability that the indication reaches a
  go at its final sample size without borrowing (``y1 + Y2`` at least the
  critical count of its Beta ``interim_prior`` posterior; ``Y2`` beta-binomial
  from the borrowed posterior), as baskexact's ``interim_postpred`` (Fujikawa
  et al. 2020); methods whose posterior is not one Beta enter through the Beta
  of the same mean and variance (exact for Beta posteriors: independent Beta
  priors and Fujikawa's JSD weights);
- ``"posterior"``: ``P(p_k > p0_k | stage-1 data)`` itself (baskexact's
  ``interim_posterior``).

Continuing indications enrol to ``n``; stopped ones keep their stage-1 data,
which the final analysis borrows from (as baskexact's ``beta_borrow_int``).
Exact operating characteristics: each indication's end state is one of
(stopped at the interim with ``y1``) or (final with ``y``); the probability of
a joint end state sums, over the joint stage-1 outcomes whose decisions lead
there, products of binomial probabilities, a tensor contraction per pattern
of interim decisions.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
from scipy.special import betaln, gammaln

from analysis.basket.design import (
    EFFICACY,
    FINAL,
    FUTILITY,
    Design,
    ExactSpace,
    Method,
    States,
    analyze,
    final_boundary,
    method_class,
)


def _lchoose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def stage1_design(design: Design) -> Design:
    """The design of the interim data alone: every indication at its ``interim_n``, no interim."""
    inds = [replace(i, n=i.interim_n, interim_n=None, futility=None, efficacy=None) for i in design.indications]
    return replace(design, indications=inds, interim="own", calibration=None)


def decide_interim(design: Design, summ: dict, y1: np.ndarray) -> np.ndarray:
    """Interim decisions (FINAL = continue, FUTILITY, EFFICACY) per row of stage-1 data ``y1`` (B, K)."""
    B, K = y1.shape
    prob = np.empty((B, K))
    if design.interim_rule == "posterior":
        prob = summ["p_above"]
    else:
        mean, var = summ["mean"], np.maximum(summ["m2"] - summ["mean"] ** 2, 1e-300)
        common = np.maximum(mean * (1 - mean) / var - 1, 1e-12)  # a + b of the Beta with this mean and variance
        a, b = mean * common, (1 - mean) * common
        for k, ind in enumerate(design.indications):
            n2 = ind.n - ind.interim_n
            crit = final_boundary(ind.n, ind.p0, ind.c, design.interim_prior)
            y2 = np.arange(n2 + 1)
            lp = (
                _lchoose(n2, y2)[None, :]
                + betaln(a[:, k, None] + y2, b[:, k, None] + n2 - y2)
                - betaln(a[:, k, None], b[:, k, None])
            )
            need = (y2[None, :] >= crit - y1[:, k, None]).astype(float)
            prob[:, k] = (np.exp(lp) * need).sum(1)
    d = np.full((B, K), FINAL)
    for k, ind in enumerate(design.indications):
        if ind.futility is not None:
            d[prob[:, k] < ind.futility, k] = FUTILITY
        if ind.efficacy is not None:
            d[(prob[:, k] > ind.efficacy) & (d[:, k] == FINAL), k] = EFFICACY
    return d


def interim_table(design: Design, method: Method, stage1: ExactSpace | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every joint stage-1 outcome (C order) and its interim decisions under ``method``; ``stage1``: the
    outcome space of :func:`stage1_design` when already computed (it does not depend on the thresholds)."""
    from analysis.basket.design import exact_space

    sp = stage1 if stage1 is not None else exact_space(stage1_design(design), method)
    return sp.y, decide_interim(design, sp.summ, sp.y)


def end_states(design: Design, decisions: np.ndarray, y1: np.ndarray) -> list[States]:
    """Each indication's possible end states: stopped (futility or efficacy) at each stage-1 count where it can
    happen, then final at every count (``logc`` unused: probabilities come from :func:`joint_probabilities`)."""
    out = []
    for k, ind in enumerate(design.indications):
        rows = []
        for flag in (FUTILITY, EFFICACY):
            ys = np.unique(y1[decisions[:, k] == flag, k])
            rows += [(ind.interim_n, int(y), flag) for y in ys]
        rows += [(ind.n, y, FINAL) for y in range(ind.n + 1)]
        arr = np.array(rows)
        out.append(States(arr[:, 0], arr[:, 1], arr[:, 2], np.zeros(len(rows))))
    return out


def joint_probabilities(design, states, y1, decisions, p) -> np.ndarray:
    """P(joint end state) (C order over ``states``) under true rates ``p``."""
    K = design.K
    sizes = [len(s) for s in states]
    n1s = [i.interim_n for i in design.indications]
    total = np.zeros(sizes)
    # A[k][d]: (stage-1 count, end state) probability of indication k given its interim decision d
    A = []
    for k, ind in enumerate(design.indications):
        n1, n2, st = ind.interim_n, ind.n - ind.interim_n, states[k]
        ys1 = np.arange(n1 + 1)
        with np.errstate(divide="ignore"):
            lp1 = _lchoose(n1, ys1) + ys1 * np.log(p[k]) + (n1 - ys1) * np.log1p(-p[k])
        p1 = np.exp(np.nan_to_num(lp1, nan=-np.inf))
        if p[k] in (0.0, 1.0):
            p1 = (ys1 == (0 if p[k] == 0 else n1)).astype(float)
        mats = {}
        for flag in (FUTILITY, EFFICACY):
            m = np.zeros((n1 + 1, sizes[k]))
            for j in np.nonzero(st.flag == flag)[0]:
                m[st.y[j], j] = p1[st.y[j]]
            mats[flag] = m
        m = np.zeros((n1 + 1, sizes[k]))
        fin = np.nonzero(st.flag == FINAL)[0]
        y2 = np.arange(n2 + 1)
        with np.errstate(divide="ignore"):
            lp2 = _lchoose(n2, y2) + y2 * np.log(p[k]) + (n2 - y2) * np.log1p(-p[k])
        p2 = np.exp(np.nan_to_num(lp2, nan=-np.inf))
        if p[k] in (0.0, 1.0):
            p2 = (y2 == (0 if p[k] == 0 else n2)).astype(float)
        for a in ys1:
            for j in fin:
                d2 = st.y[j] - a
                if 0 <= d2 <= n2:
                    m[a, j] = p1[a] * p2[d2]
        mats[FINAL] = m
        A.append(mats)
    shape1 = [n + 1 for n in n1s]
    # each joint stage-1 outcome's pattern of decisions as one base-3 code (FINAL, FUTILITY, EFFICACY = 0, 1, 2)
    place = 3 ** np.arange(K)
    code = (np.asarray(decisions) @ place).reshape(shape1)
    present = set(np.unique(code).tolist())
    for pattern in itertools.product((FINAL, FUTILITY, EFFICACY), repeat=K):
        pc = int(np.dot(pattern, place))
        if pc not in present:
            continue
        mask = (code == pc).astype(float)
        T = mask
        for k in range(K):
            T = np.tensordot(T, A[k][pattern[k]], axes=([0], [0]))  # the contracted axis leaves, e_k joins the end
        total += T
    P = total.ravel()
    return P / P.sum()


class BorrowedInterimSpace(ExactSpace):
    """An :class:`ExactSpace` whose end states come from an interim look that borrows."""

    y1: np.ndarray
    decisions: np.ndarray
    design: Design

    def probabilities(self, p) -> np.ndarray:
        return joint_probabilities(self.design, self.states, self.y1, self.decisions, p)


def exact_space_borrowing(
    design: Design, method: Method, summaries=None, stage1: ExactSpace | None = None
) -> ExactSpace:
    """The joint end states of a design whose interim borrows, with ``method``'s final summaries of each.

    ``summaries``: the summaries of the end states (C order), or a function of the end states that returns
    them (for a caller that keeps the summaries of more states than any one set of thresholds reaches);
    ``stage1``: the stage-1 outcome space when already computed (see :func:`interim_table`).
    """
    from analysis.basket.design import _joint_index

    y1, dec = interim_table(design, method, stage1)
    states = end_states(design, dec, y1)
    if callable(summaries):
        summaries = summaries(states)
    idx = _joint_index(states)
    n = np.stack([states[k].n[idx[:, k]] for k in range(design.K)], 1)
    y = np.stack([states[k].y[idx[:, k]] for k in range(design.K)], 1)
    flags = np.stack([states[k].flag[idx[:, k]] for k in range(design.K)], 1)
    if summaries is None:
        cls = method_class(method)
        summaries = cls.exact_summaries(design, method, states)
        if summaries is None:
            summaries = analyze(design, method, n, y, cls.prepare(design, method, states))
    sp = BorrowedInterimSpace(states, idx, n, y, flags, summaries)
    sp.y1, sp.decisions, sp.design = y1, dec, design
    return sp


def draw(design: Design, method: Method, p, rng: np.random.Generator, size: int):
    """``size`` simulated trials with a borrowing interim: (n, y, flags), each (size, K)."""
    K = design.K
    n1 = np.array([i.interim_n for i in design.indications])
    nf = np.array([i.n for i in design.indications])
    y1 = rng.binomial(n1, p, size=(size, K))
    s1 = stage1_design(design)
    summ = analyze(s1, method, np.broadcast_to(n1, (size, K)), y1)
    dec = decide_interim(design, summ, y1)
    y2 = rng.binomial(nf - n1, p, size=(size, K))
    cont = dec == FINAL
    n = np.where(cont, nf, n1)
    y = np.where(cont, y1 + y2, y1)
    return n, y, dec
