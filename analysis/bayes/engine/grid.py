"""The outer quadrature: nodes and log prior weights over one component's ``(mu, tau)``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.bayes.engine.model import Component


@dataclass(frozen=True)
class Grid:
    """Quadrature nodes over (mu, tau) of one component: flattened, with log prior weights."""

    mu: np.ndarray
    tau: np.ndarray
    logw: np.ndarray

    @property
    def size(self) -> int:
        return self.mu.size


def make_grid(comp: Component, n_total: int, resolution: float = 1.0) -> Grid:
    m, s = comp.mu.params
    h_mu = min(0.25 * s, 2.4 / math.sqrt(max(n_total, 1))) / resolution

    tp = comp.tau
    t_lo = max(float(tp.ppf(1e-12)), 1e-3)
    t_hi = min(float(tp.ppf(1 - 1e-9)), 1e3)
    if tp.name == "Uniform":
        t_hi = min(t_hi, tp.params[1] * (1 - 1e-12))
    if not t_hi > t_lo:
        raise ValueError(f"tau prior {tp} has (almost) no mass above 1e-3")
    h_t = 0.25 / resolution
    n_t = int(math.ceil((math.log(t_hi) - math.log(t_lo)) / h_t)) + 1
    # Gauss-Legendre in log tau (accurate also when the prior density does not vanish at an end, e.g.
    # Uniform(0, b)), plus the two ends, which carry the prior mass outside the grid (the likelihood is
    # flat there)
    x, w = np.polynomial.legendre.leggauss(n_t)
    L0, L1 = math.log(t_lo), math.log(t_hi)
    lt = np.concatenate([[L0], L0 + (x + 1) / 2 * (L1 - L0), [L1]])
    tau = np.exp(lt)
    w_t = np.concatenate([[0.0], w / 2 * (L1 - L0), [0.0]])
    with np.errstate(divide="ignore"):
        lw_t = np.log(w_t) + tp.logpdf(tau) + lt
    wt = np.exp(lw_t)
    wt[0] += float(tp.cdf(t_lo))
    wt[-1] += float(tp.sf(t_hi))
    with np.errstate(divide="ignore"):
        lw_t = np.log(wt)
    # mu: a uniform trapezoid grid per tau node.  Where tau is small against the spacing, a group's tail
    # probability P(theta > c | mu, tau) is nearly a step in mu (width ~tau), which the trapezoid rule integrates
    # only to O(h); those rows get a spacing down to a quarter (h = min(h_mu, max(tau, h_mu / 4))).  Measured on
    # EXNEX (4 groups of 12-24, thresholds 0.1 to 0.9): tails within 4e-5 of a 3x finer grid, against 1.8e-4 with
    # one spacing (and with half the spacing), for 2.6x the grid points.
    M, T, LW = [], [], []
    rows: dict[int, tuple] = {}  # most rows share their mu nodes (h = h_mu / 4 or h_mu): computed once per count
    for t, lwt in zip(tau, lw_t):
        h = min(h_mu, max(t, h_mu / 4))
        n_mu = int(math.ceil(16 * s / h)) + 1
        if n_mu not in rows:
            mu = np.linspace(m - 8 * s, m + 8 * s, n_mu)
            w_mu = np.full(n_mu, mu[1] - mu[0])
            w_mu[[0, -1]] /= 2
            rows[n_mu] = (mu, np.log(w_mu) + comp.mu.logpdf(mu))
        mu, lw_mu = rows[n_mu]
        M.append(mu)
        T.append(np.full(n_mu, t))
        LW.append(lw_mu + lwt)
    M, T, LW = (np.concatenate(v) for v in (M, T, LW))
    keep = LW > LW.max() - 60  # prior weight below e^-60 of the largest cannot matter
    return Grid(M[keep], T[keep], LW[keep])
