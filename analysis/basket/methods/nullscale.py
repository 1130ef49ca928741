"""Beta-binomial borrowing on the null's scale: MEM and JSD when the indications' null rates differ.

On the probability scale MEM and Fujikawa's JSD method pool the counts of
indications judged alike, as if their rates were equal.  With null rates that
differ (0.30, 0.30, 0.20 in the paper's design) that pulls the indication with
the lower null up.  On the null scale, indications judged alike share their
gain over the null on the logit scale (as the hierarchical model's
``theta_k = logit(p_k) - logit(p0_k)``, Berry et al. 2013, Neuenschwander et
al. 2016): seen from indication ``k`` with rate ``p``, indication ``j`` has the
rate ``g_j(p) = expit(logit(p) - logit(p0_k) + logit(p0_j))``.  With equal
nulls ``g_j(p) = p`` and both methods are exactly the probability-scale ones.

Indication ``k``'s posterior under a configuration that pools the set ``R`` is

    f(p) ∝ Beta(p; a, b) prod_{j in R} g_j(p)^y_j (1 - g_j(p))^(n_j - y_j)

(MEM; binomial coefficients cancel between configurations as on the
probability scale), and under Fujikawa's weights ``w_kj``

    f(p) ∝ p^-1 (1 - p)^-1 prod_j [g_j(p)^(a + y_j) (1 - g_j(p))^(b + n_j - y_j)]^w_kj

(with ``g_k(p) = p`` this is Beta(sum_j w_kj (a + y_j), sum_j w_kj (b + n_j - y_j)),
Fujikawa et al. 2020).  The JSD between indications compares their own
posteriors of the gain over the null, ``logit(p_j) - logit(p0_j)``.

The integrals over ``p`` are double-exponential (tanh-sinh) quadratures on
[0, p0_k] and [p0_k, 1], so ``P(p_k > p0_k)`` is the upper piece's share; the
rule converges geometrically for these analytic integrands even with the
non-integer endpoint powers that Beta priors and Fujikawa's weights bring
(tests compare with the closed form at equal nulls and with adaptive
quadrature otherwise).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betaln, logsumexp

#: double-exponential nodes per piece, at the fewest (see :func:`n_nodes`)
MIN_NODES = 128
#: data rows per block (bounds the (rows, nodes) arrays)
BLOCK = 4096


def n_nodes(total_n: float) -> int:
    """Nodes per piece: enough for a posterior as narrow as all ``total_n`` patients pooled make it (the node
    spacing in the middle of a piece shrinks as 1/nodes, the posterior's width as 1/sqrt(total_n))."""
    return int(min(max(MIN_NODES, 15 * math.sqrt(max(total_n, 1.0))), 1200))


def logit(p):
    """``log(p) - log(1 - p)``, elementwise."""
    return np.log(p) - np.log1p(-p)


def _de_rule(m: int):
    """Tanh-sinh rule on [-1, 1]: log(1 + x), log(1 - x) and log weights, accurate at both ends."""
    t = np.linspace(-4.0, 4.0, m)
    h = t[1] - t[0]
    u = 0.5 * math.pi * np.sinh(t)
    log1px = math.log(2) - np.logaddexp(0, -2 * u)  # 1 + tanh(u) = 2 / (1 + exp(-2u))
    log1mx = math.log(2) - np.logaddexp(0, 2 * u)
    logw = math.log(h * 0.5 * math.pi) + np.log(np.cosh(t)) - 2 * np.log(np.cosh(u))  # dx/dt = (pi/2) cosh t / cosh^2 u
    return log1px, log1mx, logw


class Nodes:
    """Indication ``k``'s quadrature over ``p`` on [0, p0_k] and [p0_k, 1]: nodes, log weights (the Beta(a, b)
    prior density included, or ``p^-1 (1 - p)^-1`` with ``prior=None``), which nodes lie above ``p0_k``, and
    each indication's rate ``g_j`` there (log and log of its complement, accurate near 0 and 1)."""

    def __init__(self, p0: np.ndarray, k: int, prior, m: int):
        p0k = float(p0[k])
        a, b, norm = (0.0, 0.0, 0.0) if prior is None else (float(prior[0]), float(prior[1]), betaln(*prior))
        l1px, l1mx, lw = _de_rule(m)
        # lower piece p = p0k (1 + x) / 2, upper piece 1 - p = (1 - p0k) (1 - x) / 2
        logp_lo = math.log(p0k / 2) + l1px
        log1mp_lo = np.log1p(-np.exp(logp_lo))
        log1mp_hi = math.log((1 - p0k) / 2) + l1mx
        logp_hi = np.log1p(-np.exp(log1mp_hi))
        logp, log1mp = np.r_[logp_lo, logp_hi], np.r_[log1mp_lo, log1mp_hi]
        dp = np.r_[lw + math.log(p0k / 2), lw + math.log((1 - p0k) / 2)]
        self.p = np.exp(logp)
        self.logw = dp + (a - 1) * logp + (b - 1) * log1mp - norm
        self.upper = np.r_[np.zeros(m, bool), np.ones(m, bool)]
        shift = logit(np.asarray(p0, float)) - logit(p0k)
        lp = logp - log1mp  # logit p, accurate at both ends
        u = lp[None, :] + shift[:, None]
        self.log_g, self.log_1mg = -np.logaddexp(0, -u), -np.logaddexp(0, u)  # (K, nodes)
        self.log_g[k], self.log_1mg[k] = logp, log1mp


def _summaries(nodes: Nodes, S: np.ndarray) -> tuple[np.ndarray, ...]:
    """Log normaliser, mean, second moment and upper-piece mass of the densities ``exp(logw + S)`` (rows, nodes)."""
    L = nodes.logw[None, :] + S
    logZ = logsumexp(L, axis=1)
    W = np.exp(L - logZ[:, None])
    return logZ, W @ nodes.p, W @ (nodes.p**2), W @ nodes.upper.astype(float)


def _check_nulls(p0) -> np.ndarray:
    p0 = np.asarray(p0, float)
    if np.any((p0 <= 0) | (p0 >= 1)):
        raise ValueError("the null scale needs every p0 strictly between 0 and 1")
    return p0


def mem_rows(y, n, prior, p0, k: int, R: np.ndarray) -> dict:
    """MEM on the null scale for indication ``k``: per data row (B, K) and configuration row (C, K) of ``R``,
    the log marginal of the pooled indications (``lm``, prior Beta(a, b)) and the posterior ``mean``, ``m2``,
    ``p_above`` of ``p_k``; each (B, C)."""
    y, n = np.asarray(y, float), np.asarray(n, float)
    p0 = _check_nulls(p0)
    nodes = Nodes(p0, k, prior, n_nodes(float(n.max(0).sum())))
    B, C = y.shape[0], R.shape[0]
    out = {q: np.empty((B, C)) for q in ("lm", "mean", "m2", "p_above")}
    for s in range(0, B, BLOCK):
        yb, nb = y[s : s + BLOCK], n[s : s + BLOCK]
        for c in range(C):
            S = 0.0
            for j in np.nonzero(R[c])[0]:
                S = S + yb[:, j, None] * nodes.log_g[j] + (nb[:, j] - yb[:, j])[:, None] * nodes.log_1mg[j]
            lz, m1, m2, up = _summaries(nodes, np.broadcast_to(S, (len(yb), nodes.p.size)))
            for q, v in zip(("lm", "mean", "m2", "p_above"), (lz, m1, m2, up)):
                out[q][s : s + BLOCK, c] = v
    return out


def gain_jsd(A1, B1, o1, A2, B2, o2, logbase: float = math.e, nodes: int = 400) -> np.ndarray:
    """Jensen-Shannon divergence between the laws of ``logit(p) - o`` under Beta(A1, B1) (with ``o1``) and
    Beta(A2, B2) (with ``o2``), elementwise; with ``o1 == o2`` the JSD of the two Betas themselves.

    Tanh-sinh quadrature over ``x`` in (0, 1) with ``theta = logit(x)``, every logarithm taken from the rule's
    accurate ``log(x)`` and ``log(1 - x)``, so shapes below 1 (densities unbounded at 0 or 1) are exact too.
    """
    args = np.broadcast_arrays(*(np.asarray(v, float) for v in (A1, B1, o1, A2, B2, o2)))
    A1, B1, o1, A2, B2, o2 = (v[..., None] for v in args)
    l1px, l1mx, lw = _de_rule(nodes)
    logx, log1mx = l1px - math.log(2), l1mx - math.log(2)
    theta = logx - log1mx
    lw = lw - math.log(2) - logx - log1mx  # dx = dt-weight / 2 on (0, 1); dtheta = dx / (x (1 - x))

    def logdens(A, B, o):  # density of theta = logit(p) - o: Beta(p) p (1 - p) at p = expit(theta + o)
        u = theta + o
        return -A * np.logaddexp(0, -u) - B * np.logaddexp(0, u) - betaln(A, B)

    lp, lq = logdens(A1, B1, o1), logdens(A2, B2, o2)
    lm = np.logaddexp(lp, lq) - math.log(2)
    kl_p = np.sum(np.exp(lp + lw) * (lp - lm), -1)
    kl_q = np.sum(np.exp(lq + lw) * (lq - lm), -1)
    return np.clip(0.5 * (kl_p + kl_q) / math.log(logbase), 0.0, 1.0)


def gain_weights(y, n, prior, epsilon, tau, logbase, offsets) -> np.ndarray:
    """Fujikawa's weights (B, K, K) from the JSD of the indications' own posteriors of ``logit(p_k) - offsets[k]``:
    with zero offsets the JSD of the Beta posteriors themselves (the probability scale), with ``logit(p0)`` that of
    the gains over the null."""
    y, n = np.atleast_2d(y).astype(float), np.atleast_2d(n).astype(float)
    o = np.asarray(offsets, float)
    A, Bb = prior[0] + y, prior[1] + n - y
    K = y.shape[1]
    jsd = gain_jsd(
        A[:, :, None], Bb[:, :, None], o[None, :, None], A[:, None, :], Bb[:, None, :], o[None, None, :], logbase
    )
    w = (1 - jsd) ** epsilon
    w[w <= tau] = 0.0
    w[:, np.arange(K), np.arange(K)] = 1.0
    return w


def jsd_null_weights(y, n, prior, epsilon, tau, logbase, p0) -> np.ndarray:
    """Fujikawa's weights from the JSD of the indications' own posteriors of their gain over the null: (B, K, K)."""
    return gain_weights(y, n, prior, epsilon, tau, logbase, logit(_check_nulls(p0)))


def jsd_null_summaries(y, n, prior, p0, weights: np.ndarray) -> dict:
    """Posterior ``mean``, ``m2``, ``p_above`` (B, K) of Fujikawa's borrowing on the null scale, given weights."""
    y, n = np.atleast_2d(y).astype(float), np.atleast_2d(n).astype(float)
    p0 = _check_nulls(p0)
    B, K = y.shape
    out = {q: np.empty((B, K)) for q in ("mean", "m2", "p_above")}
    A, Bb = prior[0] + y, prior[1] + n - y
    for k in range(K):
        nodes = Nodes(p0, k, None, n_nodes(float(n.max(0).sum())))
        for s in range(0, B, BLOCK):
            wk = weights[s : s + BLOCK, k, :]  # (b, K)
            S = (wk * A[s : s + BLOCK]) @ nodes.log_g + (wk * Bb[s : s + BLOCK]) @ nodes.log_1mg
            _, m1, m2, up = _summaries(nodes, S)
            out["mean"][s : s + BLOCK, k], out["m2"][s : s + BLOCK, k], out["p_above"][s : s + BLOCK, k] = m1, m2, up
    return out


class GainJSDTable:
    """Fujikawa's weights looked up from a table over the distinct (offset, n, y) states, for exact enumeration:
    ``offsets`` as in :func:`gain_weights` (zeros on the probability scale, where the table is over (n, y))."""

    def __init__(self, states, prior, epsilon, tau, logbase, offsets):
        o = [float(v) for v in offsets]
        keys = sorted({(o[k], int(n), int(y)) for k, s in enumerate(states) for n, y in zip(s.n, s.y)})
        self.offsets = o
        self.index = {key: i for i, key in enumerate(keys)}
        off = np.array([key[0] for key in keys])
        nn = np.array([key[1] for key in keys], float)
        yy = np.array([key[2] for key in keys], float)
        A, B = prior[0] + yy, prior[1] + nn - yy
        jsd = gain_jsd(A[:, None], B[:, None], off[:, None], A[None, :], B[None, :], off[None, :], logbase)
        w = (1 - jsd) ** epsilon
        w[w <= tau] = 0.0
        np.fill_diagonal(w, 1.0)
        self.w = w

    def weights(self, n, y):
        n, y = np.atleast_2d(n), np.atleast_2d(y)
        K = n.shape[1]
        idx = np.stack(
            [
                np.array([self.index[(self.offsets[k], int(a), int(b))] for a, b in zip(n[:, k], y[:, k])])
                for k in range(K)
            ],
            1,
        )
        w = self.w[idx[:, :, None], idx[:, None, :]]
        w[:, np.arange(K), np.arange(K)] = 1.0
        return w
