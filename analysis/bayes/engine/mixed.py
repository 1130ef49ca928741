"""Many posteriors of one exchangeable component at once: per-count factors mixed with NEX once, then products.

With one exchangeable component the groups are independent given ``(mu, tau)``, and group ``k``'s factor on the
grid depends on its own count only: ``L_k(y) = w_k P(y | mu, tau) + (1 - w_k) P(y | nex)``, and its conditional
summaries (the probability of exchangeability, E[p], E[p^2], P(p > x)) are fixed mixtures of the exchangeable and
non-exchangeable ones.  :func:`mixed_factor` tabulates these per count once (``(n + 1) x G``), so that a data
vector costs one sum of K log-factor rows over the grid, one exponential per grid point, and one matrix product
per group with the rows of its count: :func:`posterior_sums`.  Trials with the same count of a group share its
row, so the products are grouped by count (matrix-matrix products instead of a gathered copy of each row).

The numbers are those of the per-trial formula (:meth:`~analysis.bayes.engine.core.Engine.batch` before this
module, tested against one :meth:`~analysis.bayes.engine.core.Engine.posterior` per trial) up to rounding: the
exchangeable and NEX parts are mixed per grid point instead of after the sum over the grid.
"""

from __future__ import annotations

import numpy as np

from analysis.bayes.engine.tables import GroupTable


def mixed_factor(tab: GroupTable, thr: float, lw: float, ntab: GroupTable | None = None, lwn: float = -np.inf):
    """``(LM, Q)`` of one group: ``LM`` (n + 1, G) the log factor per count, ``Q`` (n + 1, G, 4) the conditional
    probability of exchangeability, E[p], E[p^2] and P(p > thr) per count and grid point.

    ``lw``, ``lwn``: log weights of the exchangeable part and of NEX (``ntab``: NEX's table on its one-point grid,
    or ``None`` for the hierarchical model)."""
    with np.errstate(invalid="ignore"):
        terms = lw + tab.loglik
    parts = (tab.m1, tab.m2, tab.tails[float(thr)])
    Q = np.empty((*terms.shape, 4))
    if ntab is None:
        Q[..., 0] = 1.0
        for i, v in enumerate(parts, 1):
            Q[..., i] = v
        return terms, Q
    nparts = (ntab.m1, ntab.m2, ntab.tails[float(thr)])
    LM = np.logaddexp(terms, (lwn + ntab.loglik[:, 0])[:, None])
    pex = np.exp(terms - LM)
    Q[..., 0] = pex
    for i, (v, nv) in enumerate(zip(parts, nparts), 1):
        Q[..., i] = pex * v + (1 - pex) * nv[:, 0][:, None]
    return LM, Q


def posterior_sums(logw: np.ndarray, factors: list, codes: np.ndarray, max_elems: int = 2_000_000) -> np.ndarray:
    """Posterior averages of each group's ``Q`` for every row of ``codes``: (B, K, 4).

    ``logw`` (G,): log prior weights of the grid; ``factors[k] = (LM_k, Q_k)`` with one row per code (a count, or
    a count of one of several group sizes stacked); ``codes`` (B, K): each trial's row of each group's factor."""
    B, K = codes.shape
    G = logw.size
    out = np.empty((B, K, 4))
    step = max(1, max_elems // max(G, 1))
    for i in range(0, B, step):
        c = codes[i : i + step]
        lp = np.broadcast_to(logw, (c.shape[0], G)).copy()
        for k in range(K):
            lp += factors[k][0][c[:, k]]
        lp -= lp.max(1, keepdims=True)
        post = np.exp(lp, out=lp)
        post /= post.sum(1, keepdims=True)
        blk = out[i : i + step]
        for k in range(K):
            Qk = factors[k][1]
            vals, inv = np.unique(c[:, k], return_inverse=True)
            inv = inv.ravel()
            for r, v in enumerate(vals):
                rows = np.nonzero(inv == r)[0]
                blk[rows, k] = post[rows] @ Qk[v]
    return out


class LazyFactor:
    """A group's :func:`mixed_factor` whose rows are computed on first use, one count at a time.

    Simulated trials meet only some counts (about two thirds of the sarcoma design's), so only those rows are
    computed.  Each count's row is computed alone, so its numbers do not depend on which counts a process met
    first: one worker, several processes or a cluster give the same bits (a row computed together with other
    rows can differ in its last bit, by its position in the panel sums' matrix-vector product).

    ``make_row(y)`` returns ``(LM, Q)`` of count ``y`` as one-row arrays.  ``key`` (from
    :func:`~analysis.bayes.engine.store.factor_key`, with ``size`` the grid's points): rows are read from the table
    store when it holds them, and rows computed here are stored (the same bytes either way)."""

    def __init__(self, n: int, make_row, key: str | None = None, size: int = 0):
        self.n = int(n)
        self.make_row = make_row
        self.key, self.size = key, int(size)
        self.LM: np.ndarray | None = None
        self.Q: np.ndarray | None = None
        self.have = np.zeros(self.n + 1, bool)
        self.computed = 0  # rows computed here (not read from the store)

    def row(self, y: int) -> tuple[np.ndarray, np.ndarray]:
        """``(LM, Q)`` of count ``y`` (one-row arrays): from the store when it holds it, else computed (and stored)."""
        from analysis.bayes.engine.store import load_row, row_path, save_row

        path = None if self.key is None else row_path(self.key, y)
        got = load_row(path, self.size)
        if got is None:
            got = self.make_row(int(y))
            self.computed += 1
            save_row(path, got[0][0], got[1][0])
        return got

    def rows(self, ys) -> tuple[np.ndarray, np.ndarray]:
        """``(LM, Q)`` with the rows of the counts ``ys`` computed (others NaN)."""
        ys = np.unique(np.asarray(ys, int))
        for y in ys if ys.size or self.LM is not None else [0]:  # no rows asked: one, for the arrays' shape
            if self.have[y]:
                continue
            lm, q = self.row(int(y))
            if self.LM is None:
                self.LM = np.full((self.n + 1, lm.shape[-1]), np.nan)
                self.Q = np.full((self.n + 1, lm.shape[-1], 4), np.nan)
            self.LM[y], self.Q[y] = lm[0], q[0]
            self.have[y] = True
        return self.LM, self.Q


def count_row(tab: GroupTable, y: int, thr: float) -> GroupTable:
    """Row ``y`` of a table (and its tail at ``thr``) as a one-row table, for :func:`mixed_factor`."""
    return GroupTable(tab.n, tab.loglik[[y]], tab.m1[[y]], tab.m2[[y]], {float(thr): tab.tails[float(thr)][[y]]})
