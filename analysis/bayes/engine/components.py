"""Several exchangeable components: the indicators summed out by subset convolutions (:func:`mixture_weights`)."""

from __future__ import annotations

import numpy as np

from analysis.bayes.engine.grid import Grid


def _submask_pairs(K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (S, T) with T a subset of S, sorted by S (3^K pairs), and where each S starts: for subset convolutions."""
    S = np.arange(1 << K)
    members = (S[:, None] >> np.arange(K)) & 1  # (2^K, K)
    pairs_S, pairs_T = [], []
    for s in S:
        bits = np.flatnonzero(members[s])
        sub = (((np.arange(1 << bits.size)[:, None] >> np.arange(bits.size)) & 1) << bits).sum(1)
        pairs_S.append(np.full(sub.size, s))
        pairs_T.append(sub)
    ps, pt = np.concatenate(pairs_S), np.concatenate(pairs_T)
    starts = np.concatenate([[0], np.cumsum([2 ** members[s].sum() for s in S])[:-1]])
    return ps, pt, starts


def _subset_convolution(f: np.ndarray, g: np.ndarray, pairs) -> np.ndarray:
    """``h(S) = sum over T subset of S of f(T) g(S \\ T)`` for every subset S (last axis), batched over axis 0."""
    ps, pt, starts = pairs
    return np.add.reduceat(f[:, pt] * g[:, ps ^ pt], starts, axis=1)


def mixture_weights(L: list[np.ndarray], C: np.ndarray, grids: list[Grid]) -> dict:
    """Posterior weights of an EXNEX model with J >= 1 exchangeable components, for a batch of data vectors.

    ``L[j]`` (b, K, G_j): ``log w_kj + log P(y_k | grid point of component j)``; ``C`` (b, K): ``log w_k,nex +
    log P(y_k | nex)`` (``-inf`` without NEX).  Given every component's hyper-parameters the groups are
    independent, so the posterior is ``prod_j p_j(g_j) prod_k (sum_j w_kj L_kj(g_j) + c_k)``.  Expanding the product
    over the assignments of groups to components, each term factorises into one integral per component over the
    subset of groups it holds: ``f_j(S) = int p_j prod_{k in S} w_kj L_kj``.  NEX is folded into component 1's
    factor (``w_k1 L_k1 + c_k``, as it needs no integral), and the evidence is the subset convolution of
    ``f_1 .. f_J`` at the full set: ``2^K`` grid passes per component and ``3^K`` products for ``J >= 3``.

    Returns ``omega`` (per component, (b, K, G_j): the posterior weight of "group k in component j at grid point
    g"), ``nex`` (b, K), ``hyper`` (per component, (b, G_j): the posterior over its grid) and ``lz`` (b,: the log
    evidence).
    """
    J = len(L)
    b, K = C.shape
    nS, full = 1 << K, (1 << K) - 1
    A0 = np.logaddexp(L[0], C[:, :, None])  # component 1 or NEX
    scale = np.maximum(A0.max(2), np.max([Lj.max(2) for Lj in L[1:]], axis=0)) if J > 1 else A0.max(2)  # (b, K)
    E = [np.exp(A0 - scale[:, :, None])] + [np.exp(Lj - scale[:, :, None]) for Lj in L[1:]]
    p = [np.exp(g.logw - g.logw.max()) for g in grids]
    prods, f = [], []
    for j in range(J):
        pr = np.empty((b, nS, grids[j].size))
        pr[:, 0] = 1.0
        for S in range(1, nS):
            low = (S & -S).bit_length() - 1
            pr[:, S] = pr[:, S & (S - 1)] * E[j][:, low]
        prods.append(pr)
        f.append(pr @ p[j])  # (b, nS)
    # R_j(U): the other components' subset convolution (how the groups in U can be spread over them)
    pairs = _submask_pairs(K) if J > 2 else None
    R = []
    for j in range(J):
        others = [f[i] for i in range(J) if i != j]
        r = others[0]
        for o in others[1:]:
            r = _subset_convolution(r, o, pairs)
        R.append(r)
    comp = full ^ np.arange(nS)
    Z = np.einsum("bs,bs->b", f[0], R[0][:, comp])
    hyper = [p[j] * np.einsum("bs,bsg->bg", R[j][:, comp], prods[j]) / Z[:, None] for j in range(J)]
    omega = [np.empty((b, K, g.size)) for g in grids]
    nex = np.zeros((b, K))
    for k in range(K):
        bit = 1 << k
        S_wo = np.array([S for S in range(nS) if not S & bit])
        rest = full ^ bit ^ S_wo  # the groups other than k not in S
        for j in range(J):
            own = np.exp(L[j][:, k] - scale[:, k, None])  # group k in component j proper (not NEX)
            omega[j][:, k] = p[j] * own * np.einsum("bs,bsg->bg", R[j][:, rest], prods[j][:, S_wo]) / Z[:, None]
        with np.errstate(invalid="ignore"):
            cn = np.exp(C[:, k] - scale[:, k])
        nex[:, k] = np.where(np.isfinite(C[:, k]), cn * np.einsum("bs,bs->b", f[0][:, S_wo], R[0][:, rest]) / Z, 0.0)
    lz = np.log(Z) + scale.sum(1) + sum(g.logw.max() for g in grids)
    return {"omega": omega, "nex": nex, "hyper": hyper, "lz": lz}
