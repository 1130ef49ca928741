"""Calibration: decision thresholds that hold each indication's type I error at a target alpha.

For a method whose go decision is ``P(p_k > p0_k | data) > c_k``, an
indication's type I error under a scenario where it is null is a
non-increasing step function of ``c_k`` alone (the posterior does not depend
on the thresholds; other indications' thresholds do not change indication
k's decision).  So the smallest threshold with error at most alpha is read
off the distribution of the posterior probability over the joint outcome
space: exactly, from the enumerated end states and their probabilities, or
from simulated trials (then with a Monte Carlo error).  Discreteness means
the achieved error is *at most* alpha, usually below it; both are reported.

Controls (``[calibration] control``):

- ``each``: every indication's type I error under the global null (all at
  ``p0``) at most alpha (Kopp-Schneider et al. 2020 calibrate this way);
- ``partial``: every indication's largest type I error over the partial
  nulls (each other indication at its ``p0`` or its ``target``) at most alpha,
  the worst case borrowing creates (Broglio et al. 2022);
- ``fwer``: one common threshold with the family-wise error under the
  global null at most alpha (baskexact's ``adjust_lambda``).

``thresholds = "common"`` uses one threshold for all indications (the
largest of the per-indication ones, so every constraint still holds).
Interim stopping rules stay as the design file states them (they are fixed
in advance); an efficacy stop is a go whatever the final threshold, so its
probability is a floor on the achievable error.

References
----------
Kopp-Schneider A, Wiesenfarth M, Witt R, et al. (2020). Monitoring futility and efficacy in phase II trials
with Bayesian posterior distributions - a calibration approach. Biometrical Journal 62:1563-1577.
Broglio KR, Zhang F, Yu B, et al. (2022). A comparison of different approaches to Bayesian hierarchical
models in a basket trial to evaluate the benefits of increasing complexity. Statistics in Biopharmaceutical
Research 14:324-333.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from analysis.basket.design import (
    EFFICACY,
    FUTILITY,
    Design,
    ExactSpace,
    Method,
    Scenario,
    analyze,
    draw,
    exact_space,
    seed_for,
)

CONTROLS = ("each", "partial", "fwer")


@dataclass(frozen=True)
class Calibration:
    """The ``[calibration]`` settings of a design file."""

    alpha: float
    control: str = "each"
    common: bool = False
    n_sim: int = 20_000


def _smallest_threshold(values: np.ndarray, weights: np.ndarray, floor: float, alpha: float) -> float:
    """Smallest ``c`` with ``floor + sum(weights[values > c]) <= alpha`` (``c`` one of ``values``, 0 or 1)."""
    if floor > alpha:
        return 1.0
    order = np.argsort(-values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    # going at every value strictly above v[i] costs cum[i - 1]; equal values go together
    last = np.r_[v[1:] != v[:-1], True]  # the last of each run of equal values
    ok = floor + cum[last] <= alpha + 1e-15
    ends = np.nonzero(last)[0]
    if ok.all():
        return 0.0  # every outcome may go
    first_bad = ends[np.argmin(ok)]  # the first run whose inclusion exceeds alpha: its value is the threshold
    return float(v[first_bad])


def _eligible(design: Design, sp: ExactSpace) -> tuple[np.ndarray, np.ndarray]:
    """Rows that can go at the final analysis (not stopped, min_mean met) and rows that go regardless."""
    mm = np.array([-np.inf if i.min_mean is None else i.min_mean for i in design.indications])
    can = (sp.flags != FUTILITY) & (sp.flags != EFFICACY) & (sp.summ["mean"] >= mm)
    return can, sp.flags == EFFICACY


def partial_nulls(design: Design, k: int) -> list[tuple[float, ...]]:
    """Every scenario with indication ``k`` at its null and each other at its null or its target."""
    choices = [(i.p0,) if j == k else (i.p0, i.target) for j, i in enumerate(design.indications)]
    return list(itertools.product(*choices))


def _errors(design, sp, weights, thresholds):
    can, forced = _eligible(design, sp)
    go = (sp.summ["p_above"] > np.asarray(thresholds)) & can | forced
    per = weights @ go
    return per, float(weights @ go.any(1))


def calibrate(
    design: Design, method: Method, settings: Calibration, space: ExactSpace | None = None, exact: bool = True
) -> dict:
    """Calibrated thresholds of one method.

    Parameters
    ----------
    design, method
        The design (its indications' null and target rates) and a borrowing method.
    settings
        Target ``alpha``, ``control`` (``each``, ``partial`` or ``fwer``) and ``common``.
    space
        The exact joint outcome space with the method's summaries (computed when absent and ``exact``).
    exact
        Enumerate the outcome space; else simulate ``settings.n_sim`` trials per null scenario.

    Returns
    -------
    dict
        ``thresholds`` (one per indication) and ``rows``: per indication the calibrated threshold, the
        achieved type I error (global null; for ``partial`` also the largest over partial nulls), its Monte
        Carlo standard error (simulation only), the nominal threshold and its error.
    """
    K = design.K
    nominal = np.array([i.c for i in design.indications])
    null = tuple(i.p0 for i in design.indications)
    spaces = {}

    def space_for(p):
        if p not in spaces:
            if exact:
                sp = space if space is not None else exact_space(design, method)
                spaces[p] = (sp, sp.probabilities(p))
            else:
                sp = simulated_space(design, method, p, settings.n_sim)
                spaces[p] = (sp, np.full(len(sp.n), 1.0 / len(sp.n)))
        return spaces[p]

    sp0, w0 = space_for(null)
    can0, forced0 = _eligible(design, sp0)
    if settings.control == "fwer":
        stat = np.where(can0, sp0.summ["p_above"], -np.inf).max(1)
        floor = float(w0 @ forced0.any(1))
        keep = np.isfinite(stat) & ~forced0.any(1)  # rows with a forced go are in the floor already
        c = _smallest_threshold(stat[keep], w0[keep], floor, settings.alpha)
        thr = np.full(K, c)
    else:
        thr = np.empty(K)
        for k in range(K):
            scen = [null] if settings.control == "each" else partial_nulls(design, k)
            ck = 0.0
            for p in scen:
                sp, w = space_for(p)
                can, forced = _eligible(design, sp)
                sel = can[:, k] & ~forced[:, k]
                ck = max(
                    ck, _smallest_threshold(sp.summ["p_above"][sel, k], w[sel], float(w @ forced[:, k]), settings.alpha)
                )
            thr[k] = ck
        if settings.common:
            thr[:] = thr.max()
    per, fwer = _errors(design, sp0, w0, thr)
    nper, nfwer = _errors(design, sp0, w0, nominal)
    N = None if exact else settings.n_sim
    rows = []
    for k, ind in enumerate(design.indications):
        worst = per[k]
        if settings.control == "partial" or exact:  # simulated: only when controlled (it costs 2^(K-1) runs)
            worst = max(_errors(design, *space_for(p), thr)[0][k] for p in partial_nulls(design, k))
        rows.append(
            {
                "method": method.name,
                "indication": ind.name,
                "control": settings.control,
                "common": settings.common,
                "alpha": settings.alpha,
                "threshold": float(thr[k]),
                "type1": float(per[k]),
                "type1_max_partial": float(worst) if settings.control == "partial" or exact else math.nan,
                "fwer": fwer,
                "mcse": math.sqrt(per[k] * (1 - per[k]) / N) if N else 0.0,
                "at_most_alpha": bool((worst if settings.control == "partial" else per[k]) <= settings.alpha + 1e-12),
                "nominal_threshold": float(nominal[k]),
                "nominal_type1": float(nper[k]),
                "nominal_fwer": nfwer,
                "oc": "exact" if exact else "simulated",
            }
        )
    return {"thresholds": thr, "rows": rows}


def simulated_space(design: Design, method: Method, p, n_trials: int) -> ExactSpace:
    """``n_trials`` simulated trials under rates ``p`` as an :class:`ExactSpace` (equal weights), seeded by the
    design seed, the method and the scenario (``'calibration'`` plus the rates)."""
    key = Scenario("calibration " + ",".join(f"{x:.6g}" for x in p), tuple(p))
    rng = np.random.default_rng(seed_for(design, method, key, 0))
    n, y, flags, prepared = draw(design, method, p, rng, n_trials)
    summ = analyze(design, method, n, y, prepared)
    states, idx = [], np.zeros((n_trials, design.K), int)
    return ExactSpace(states, idx, n, y, flags, summ)
