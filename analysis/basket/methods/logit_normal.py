"""Shared code of the logit-normal borrowing methods (hierarchical and EXNEX): the deterministic engine."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from analysis.basket.checks import DesignError, choice
from analysis.basket.methods.base import BorrowingMethod
from analysis.bayes.engine import Engine, EngineModel, Grid, group_table
from analysis.bayes.engine.mixed import LazyFactor, count_row, mixed_factor, posterior_sums
from analysis.bayes.engine.store import factor_key

if TYPE_CHECKING:  # pragma: no cover
    from analysis.basket.design import Design, Method, States


_ENGINES: dict = {}
SCALES = ("null", "probability")


def parse_scale(table: dict, where: str) -> str | None:
    """``scale``: "null" (borrow logit(p_k) - logit(p0_k)) or "probability" (borrow logit(p_k)); ``None`` when
    absent (then :func:`offsets` chooses: the null scale when the null rates differ)."""
    return choice(table, "scale", where, SCALES, None) if "scale" in table else None


def scale_of(design: Design, method: Method) -> str:
    """The scale a method borrows on: its ``scale``, or by default the null scale when the indications' null
    rates differ (so that indications with different nulls can be exchangeable) and the probability scale when
    they are equal (where the two differ only in the centre of mu's prior)."""
    s = method.params.get("scale")
    if s is not None:
        return s
    return "null" if np.ptp(design.p0) > 0 else "probability"


def offsets(design: Design, method: Method) -> np.ndarray:
    """Per-indication shifts of the logit: ``logit(p0_k)`` on the null scale, 0 on the probability scale.

    On the null scale ``theta_k = logit(p_k) - logit(p0_k)`` follows the model (Normal(mu, tau), or the
    non-exchangeable Normal(m_k, s_k)), so ``logit(p_k) ~ Normal(mu + logit(p0_k), tau)``: the engine's tables of
    indication k are those of a grid whose mu nodes are moved by ``logit(p0_k)``.
    """
    if scale_of(design, method) == "probability":
        return np.zeros(design.K)
    p0 = design.p0
    if np.any((p0 <= 0) | (p0 >= 1)):
        raise DesignError(f"method {method.name!r}: the null scale needs every p0 strictly between 0 and 1")
    return np.log(p0) - np.log1p(-p0)


#: shifted tables shared by every engine of the process, keyed by what the table depends on (the grid's component,
#: total size, resolution and nodes, the group size, the shift and the thresholds): methods with the same
#: exchangeable prior (the hierarchical model and EXNEX's exchangeable part, usually) compute each table once
_SHIFTED: dict = {}


def _grid_key(eng: Engine, j: int) -> tuple:
    g = eng.grids()[j]
    return (repr(eng.model.components[j]), eng._n_total, eng.resolution, eng.nodes, g.size)


def shifted_table(eng: Engine, n: int, j: int, offset: float, thresholds=()):
    """The engine's table of a group of size n on component j's grid moved by ``offset`` (cached per process and
    shared between engines whose component j has the same grid: the same numbers, computed once)."""
    if offset == 0.0:
        return eng.table(n, j, thresholds)
    key = (_grid_key(eng, j), int(n), float(offset), tuple(float(x) for x in thresholds))
    if key not in _SHIFTED:
        g = eng.grids()[j]
        _SHIFTED[key] = group_table(int(n), Grid(g.mu + offset, g.tau, g.logw), eng.nodes, thresholds=thresholds)
    return _SHIFTED[key]


def method_engine(method: Method, n_total: int) -> Engine:
    """The (per-process cached) engine of a hierarchical or EXNEX method."""
    key = (method.name, method.kind, repr(sorted(method.params.items())), n_total)
    if key not in _ENGINES:
        p = method.params
        if method.kind == "hierarchical":
            model = EngineModel.hierarchical(p["mu"], p["tau"], name=method.name)
        elif "component" in p:  # several exchangeable components: weights per indication and component
            comps = [(c["mu"], c["tau"]) for c in p["component"]]
            per_indication = next((c["w"] for c in p["component"] if isinstance(c["w"], tuple)), None)
            if per_indication is not None:  # K x J (K = 1 included)
                K = len(per_indication)
                w = np.array([c["w"] if isinstance(c["w"], tuple) else (c["w"],) * K for c in p["component"]]).T
            else:
                w = np.array([c["w"] for c in p["component"]])
            model = EngineModel(tuple(comps), weights=w, nex=_nex(p["nex"]), name=method.name)
        else:
            model = EngineModel.exnex(p["mu"], p["tau"], _nex(p["nex"]), _weights(p.get("w", 0.5)), name=method.name)
        _ENGINES[key] = Engine(model, n_total)
    return _ENGINES[key]


def _nex(v):
    """One (m, s) pair, or one per indication (a K x 2 array)."""
    return np.asarray(v, float)


def _weights(v):
    """One exchangeability weight, or one per indication (a K x 1 array: one component)."""
    w = np.asarray(v, float)
    return w[:, None] if w.ndim == 1 else w


def _contract(Fs: list[np.ndarray], max_elems: float = 4e6) -> np.ndarray:
    """``Z[s_1, ..., s_K] = sum_g prod_k F_k[s_k, g]``, flattened in C order (first index slowest)."""
    G = Fs[0].shape[1]
    if len(Fs) == 1:
        return Fs[0].sum(1)
    mid = int(np.prod([F.shape[0] for F in Fs[1:-1]], dtype=float))
    step = max(1, int(max_elems // max(mid * G, 1)))
    out = []
    for i in range(0, Fs[0].shape[0], step):
        head = Fs[0][i : i + step]
        for F in Fs[1:-1]:
            head = (head[:, None, :] * F[None, :, :]).reshape(-1, G)
        out.append((head @ Fs[-1].T).ravel())
    return np.concatenate(out)


def engine_product_summaries(design: Design, method: Method, states: list[States]) -> dict:
    """Posterior summaries of every joint end state at once (hierarchical and EXNEX, any number of components).

    Given the components' hyper-parameters the indications are independent,
    so with one exchangeable component each posterior quantity over the
    product of the indications' end states is a sum over the grid of
    products of per-indication factors: a tensor contraction, done with
    matrix products instead of one posterior per outcome.  With ``J``
    components the product of per-indication sums is expanded over the
    ``J^K`` assignments of indications to components (NEX folded into the
    first, as in :func:`analysis.bayes.engine.mixture_weights`); each term
    is an outer product of one contraction per component over the
    indications it holds, and each contraction is computed once.
    """
    eng = method_engine(method, int(sum(i.n for i in design.indications)))
    grids = eng.grids()
    K, J = design.K, eng.model.J
    model = eng.model
    W = model.group_weights(K)
    nex = model.group_nex(K)
    w_nex = np.clip(1 - W.sum(1), 0, 1)
    priors = [np.exp(g.logw - g.logw.max()) for g in grids]
    off = offsets(design, method)
    sizes = [len(st) for st in states]
    quantities = ("m1", "m2", "tail")
    F = [[None] * K for _ in range(J)]  # F[j][k]: {quantity: (states of k, grid of j)}, "L" the factor itself
    for k, st in enumerate(states):
        thr = float(design.p0[k])
        for j in range(J):
            rows = {q: [] for q in ("L", *quantities)}
            for nn, yy in zip(st.n, st.y):
                tab = shifted_table(eng, int(nn), j, float(off[k]), [thr])
                lex = W[k, j] * np.exp(tab.loglik[yy])  # W = 1 for the hierarchical model
                parts = {"m1": tab.m1[yy], "m2": tab.m2[yy], "tail": tab.tails[thr][yy]}
                if model.is_exnex and j == 0:  # the first component's factor also holds NEX
                    nt = eng.nex_table(int(nn), nex[k][0] + off[k], nex[k][1], [thr])
                    ln = w_nex[k] * math.exp(nt.loglik[yy, 0])
                    rows["L"].append(lex + ln)
                    for q, v in parts.items():
                        nv = {"m1": nt.m1, "m2": nt.m2, "tail": nt.tails[thr]}[q][yy, 0]
                        rows[q].append(lex * v + ln * nv)
                else:
                    rows["L"].append(lex)
                    for q, v in parts.items():
                        rows[q].append(lex * v)
            F[j][k] = {q: np.array(v) for q, v in rows.items()}

    cache: dict = {}

    def alpha(j: int, S: tuple[int, ...], swap: tuple[int, str] | None = None) -> np.ndarray:
        """Component j's integral of its indications' factors, over the joint states of S (one axis per k in S,
        size 1 elsewhere); ``swap = (i, q)`` puts quantity q's numerator in place of indication i's factor."""
        key = (j, S, swap)
        if key not in cache:
            if not S:
                cache[key] = np.full([1] * K, priors[j].sum())
            else:
                Fs = [F[j][k][swap[1]] if swap is not None and k == swap[0] else F[j][k]["L"] for k in S]
                Fs[0] = Fs[0] * priors[j]
                shape = [sizes[k] if k in S else 1 for k in range(K)]
                cache[key] = _contract(Fs).reshape(shape)
        return cache[key]

    Z = np.zeros(sizes)
    num = {(i, q): np.zeros(sizes) for i in range(K) for q in quantities}
    for assign in itertools.product(range(J), repeat=K):
        subsets = [tuple(k for k in range(K) if assign[k] == j) for j in range(J)]
        base = [alpha(j, S) for j, S in enumerate(subsets)]
        Z += math.prod(base) if J > 1 else base[0]
        for i in range(K):
            j = assign[i]
            others = [b for jj, b in enumerate(base) if jj != j]
            for q in quantities:
                a = alpha(j, subsets[j], (i, q))
                num[(i, q)] += math.prod(others, start=a) if others else a
    Z = Z.ravel()
    out = {q: np.empty((Z.size, K)) for q in ("mean", "m2", "p_above")}
    for i in range(K):
        for q, name in (("m1", "mean"), ("m2", "m2"), ("tail", "p_above")):
            out[name][:, i] = num[(i, q)].ravel() / Z
    out["p_above"] = np.clip(out["p_above"], 0, 1)
    return out


def null_scale_batch(design: Design, method: Method, n: np.ndarray, y: np.ndarray) -> dict:
    """Posterior summaries of data rows on the null scale (one exchangeable component; EXNEX included).

    Given (mu, tau) the indications are independent: indication k's factor is
    ``L_k = w_k exp(loglik_k) + (1 - w_k) exp(loglik_nex,k)``, the posterior over the grid is proportional to
    the prior times ``prod_k L_k``, and ``E[q_k | data]`` is the posterior average of the mixture of the
    exchangeable and non-exchangeable conditional expectations, weighted ``w_k exp(loglik_k) / L_k``
    (:func:`analysis.bayes.engine.mixed.posterior_sums`, with each indication's factors of every group size it
    has in ``n`` stacked: a row's code is its count plus the offset of its group size).
    """
    K = design.K
    g = method_engine(method, int(sum(i.n for i in design.indications))).grids()[0]
    factors, codes = [], np.empty(y.shape, int)
    for k in range(K):
        parts, start = [], 0
        for nv in np.unique(n[:, k]):
            rows = n[:, k] == nv
            codes[rows, k] = start + y[rows, k]
            parts.append(null_factor(design, method, k, int(nv)).rows(y[rows, k]))
            start += int(nv) + 1
        factors.append(parts[0] if len(parts) == 1 else tuple(np.concatenate(v) for v in zip(*parts)))
    sums = posterior_sums(g.logw, factors, codes)
    return {"mean": sums[..., 1], "m2": sums[..., 2], "p_above": np.clip(sums[..., 3], 0, 1)}


def null_factor(design: Design, method: Method, k: int, n: int) -> LazyFactor:
    """Indication ``k``'s factor with ``n`` patients on the null scale (one exchangeable component), as
    :func:`null_scale_batch` reads it."""
    eng = method_engine(method, int(sum(i.n for i in design.indications)))
    model = eng.model
    if model.J != 1:
        raise ValueError(
            f"method {method.name!r}: simulated OC on the null scale need one exchangeable component "
            f'(several are computed exactly: set oc = "exact")'
        )
    K = design.K
    W = model.group_weights(K)[:, 0]
    with np.errstate(divide="ignore"):
        lw, lwn = np.log(W), np.log(np.clip(1 - W, 0, 1))
    off = offsets(design, method)
    return _null_factor(eng, n, float(design.p0[k]), float(off[k]), lw[k], lwn[k], model.group_nex(K)[k])


def _null_factor(eng: Engine, n: int, thr: float, offset: float, lw: float, lwn: float, nex) -> LazyFactor:
    """:func:`~analysis.bayes.engine.mixed.mixed_factor` of a group of size n on the grid moved by ``offset``, its
    rows computed per count on first use (cached on the engine)."""
    key = (n, thr, offset, float(lw), float(lwn), float(nex[0]), float(nex[1]))
    cache = eng.__dict__.setdefault("_null_factors", {})
    if key not in cache:
        g = eng.grids()[0]
        moved = Grid(g.mu + offset, g.tau, g.logw)
        ntab = eng.nex_table(n, nex[0] + offset, nex[1], [thr]) if eng.model.is_exnex else None

        def make_row(y: int):
            tab = group_table(n, moved, eng.nodes, thresholds=[thr], ys=[y])
            nrow = None if ntab is None else count_row(ntab, y, thr)
            return mixed_factor(count_row(tab, y, thr), thr, lw, nrow, lwn)

        fkey = factor_key("null", moved, eng.nodes, n, *key[1:], float(eng.model.is_exnex))
        cache[key] = LazyFactor(n, make_row, fkey, moved.size)
    return cache[key]


class LogitNormal(BorrowingMethod):
    """Base of the engine's methods: exact summaries by tensor contraction, simulated ones by the engine's batch
    (on the probability scale) or :func:`null_scale_batch` (on the null scale)."""

    kind: ClassVar[str] = ""

    @classmethod
    def analyze(cls, design, method, n, y, prepared=None):
        if scale_of(design, method) == "null":
            return null_scale_batch(design, method, n, y)
        eng = method_engine(method, int(sum(i.n for i in design.indications)))
        out = {k: np.empty(y.shape) for k in ("mean", "m2", "p_above")}
        patterns, inv = np.unique(n, axis=0, return_inverse=True)
        for pi, pat in enumerate(patterns):
            rows = np.nonzero(inv.ravel() == pi)[0]
            res = eng.batch(y[rows], pat, design.p0)
            for k in out:
                out[k][rows] = res[k]
        return out

    @classmethod
    def table_factor(cls, design, method, k, n):
        eng = method_engine(method, int(sum(i.n for i in design.indications)))
        if eng.model.J != 1:  # several components read whole tables (Engine._batch_components), or fail
            return None
        if scale_of(design, method) == "null":
            return null_factor(design, method, k, n)
        return eng.batch_factor(design.K, k, n, float(design.p0[k]))

    @classmethod
    def exact_summaries(cls, design, method, states):
        return engine_product_summaries(design, method, states)
