"""Per-count tables of a group size on a grid: marginal likelihood, conditional moments, tail probabilities."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logit

from analysis.bayes.engine.grid import Grid
from analysis.logitnormal import log_binom, log_q


@dataclass
class GroupTable:
    """For a group of size n on one component's grid, per count y = 0..n (rows) and grid point (columns).

    ``ys``: the counts whose rows are computed (all by default; a one-off posterior computes only its own, the
    other rows are NaN)."""

    n: int
    loglik: np.ndarray  # log P(y | mu, tau)
    m1: np.ndarray  # E[p | y, mu, tau]
    m2: np.ndarray  # E[p^2 | y, mu, tau]
    tails: dict = field(default_factory=dict)  # x -> P(p > x | y, mu, tau)
    ys: np.ndarray | None = None


def _chunked_log_q(a, b, mu, tau, lower=None, nodes=12, max_elems=200_000):
    """log_q for a (P,) x (G,) table, chunked over P to bound memory."""
    P, G = a.size, mu.size
    out = np.empty((P, G))
    step = max(1, max_elems // max(G, 1))
    for i in range(0, P, step):
        out[i : i + step] = log_q(a[i : i + step, None], b[i : i + step, None], mu[None, :], tau[None, :], lower, nodes)
    return out


def _rows(n: int, ys, values: np.ndarray) -> np.ndarray:
    """``values`` (one row per count in ``ys``) as an (n + 1)-row table, NaN in the rows not computed."""
    if values.shape[0] == n + 1:
        return values
    out = np.full((n + 1, values.shape[1]), np.nan)
    out[ys] = values
    return out


def group_table(n: int, grid: Grid, nodes: int = 12, thresholds=(), ys=None) -> GroupTable:
    ys = np.arange(n + 1) if ys is None else np.unique(np.asarray(ys, int))
    y = ys.astype(float)
    m = y.size
    # rows: (y, n-y), (y+1, n-y), (y+2, n-y)
    a = np.concatenate([y, y + 1, y + 2])
    b = np.concatenate([n - y, n - y, n - y])
    lq = _chunked_log_q(a, b, grid.mu, grid.tau, None, nodes)
    l0, l1, l2 = lq[:m], lq[m : 2 * m], lq[2 * m :]
    tab = GroupTable(
        n,
        _rows(n, ys, log_binom(y, n)[:, None] + l0),
        _rows(n, ys, np.exp(l1 - l0)),
        _rows(n, ys, np.exp(l2 - l0)),
        ys=ys,
    )
    for x in thresholds:
        add_tail(tab, x, grid, nodes)
    return tab


def add_tail(tab: GroupTable, x: float, grid: Grid, nodes: int = 12) -> None:
    x = float(x)
    if x in tab.tails:
        return
    n = tab.n
    ys = np.arange(n + 1) if tab.ys is None else tab.ys
    y = ys.astype(float)
    l0 = tab.loglik[ys] - log_binom(y, n)[:, None]
    lt = _chunked_log_q(y, n - y, grid.mu, grid.tau, logit(x), nodes)
    tab.tails[x] = _rows(n, ys, np.minimum(np.exp(lt - l0), 1.0))


def extend_rows(tab: GroupTable, grid: Grid, nodes: int, ys) -> None:
    """Compute, in place, the rows of the counts ``ys`` that a table restricted to some counts lacks (with the
    tails it holds).  Each element of a row is the same function of its count and grid point whichever rows are
    computed together, so an extended table equals one built with all its counts at once, bit for bit."""
    if tab.ys is None or tab.ys.size == tab.n + 1:
        return
    new = np.setdiff1d(np.unique(np.asarray(ys, int)), tab.ys)
    if new.size == 0:
        return
    part = group_table(tab.n, grid, nodes, thresholds=tuple(tab.tails), ys=new)
    for name in ("loglik", "m1", "m2"):
        getattr(tab, name)[new] = getattr(part, name)[new]
    for x, rows in tab.tails.items():
        rows[new] = part.tails[x][new]
    tab.ys = np.union1d(tab.ys, new)
