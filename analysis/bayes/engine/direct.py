"""A one-off posterior's inner integrals without the per-point adaptive rule: whole rows of the grid at once.

The table path (:func:`~analysis.bayes.engine.tables.group_table`) integrates ``Q(a, b; mu, tau)`` at every grid
point by :func:`analysis.logitnormal.log_q` (a Newton mode search and 96 integrand evaluations per point): for
one data vector of the Neuenschwander et al. (2016) Table V model (4 groups, two components, 26,000 grid points)
that is about 400,000 integrals, a second in a fresh process.  The grid's points come in rows of one ``tau`` and
a uniform ``mu`` spacing (:func:`~analysis.bayes.engine.grid.make_grid`), and for a fixed row
``Q(., tau)`` is the binomial likelihood smoothed by a normal of sd ``tau``, so one row costs one small matrix
product (:func:`fast_log_q`):

- ``c = sqrt(2) tau (n + 2)`` above 4.5 (the normal wider than the likelihood allows Gauss-Hermite): the trapezoid
  rule on a uniform ``theta`` grid of spacing at most ``min(tau, 2 / sqrt(n)) / 1.5``, dividing the row's ``mu``
  spacing (so that the normal kernel is computed once per row on the lattice of ``theta - mu``), over where the
  likelihood (within ``BULK`` log units of its maximum) and the row's normals (``9 tau`` beyond where the
  integrand's mode can be) overlap.  Both factors are analytic in a strip, so the rule converges geometrically;
  at this spacing its error is below ``exp(-2 pi^2 1.5^2)`` (1e-19) of the integral.  Every count and moment of
  every group shares the row's kernel: ``likelihoods (counts x 3, theta) @ kernel (theta, mu)``, the moments'
  likelihoods being the count's times ``expit(theta)^m``.
- smaller ``c``: Gauss-Hermite in the normal's standardised variable, 3 to 24 nodes by ``c`` (``GH_NODES``).

Tail probabilities (:func:`fast_tail`): Gauss-Legendre panels that start at the threshold.
Both rules agree with ``log_q`` (relative error below 5e-6 itself) to about 1e-8 on the grid points that carry
posterior weight (tests/bayes/test_direct.py).  Grid points whose likelihood underflows (below about
``exp(-700)`` of the row's largest) get ``FLOOR``: they carry no weight.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit

from analysis.bayes.engine.core import Engine, Posterior
from analysis.bayes.engine.grid import Grid
from analysis.bayes.engine.model import EngineModel
from analysis.bayes.engine.tables import GroupTable
from analysis.logitnormal import log_binom

BULK = 200.0  # theta where a count's log likelihood is within this of its maximum
# Gauss-Hermite nodes by c = sqrt(2) tau (a + b), the largest slope of the log integrand in the normal's
# standardised variable: the largest c at which each node count kept log Q within 1e-11 of log_q (24 nodes per
# panel), over mu in [-8, 8], n in {20, 60, 200} and y in {0, n / 4, n / 2, n}, less a tenth
GH_NODES = (
    (0.035, 3),
    (0.13, 4),
    (0.28, 5),
    (0.47, 6),
    (0.92, 8),
    (1.4, 10),
    (1.9, 12),
    (2.4, 14),
    (2.95, 16),
    (3.9, 20),
    (4.5, 24),
)
FLOOR = -1e4  # log Q where the trapezoid's sum underflows: no posterior weight
BLOCK_MU = 48  # the trapezoid's mu points per block, each with the theta range its normals reach

_HERMITE = {n: np.polynomial.hermite.hermgauss(n) for _, n in GH_NODES}


def _log_expit(t: np.ndarray) -> np.ndarray:
    return np.minimum(t, 0) - np.log1p(np.exp(-np.abs(t)))


def rows_of(grid: Grid) -> list[tuple[int, int]]:
    """The grid's runs of one ``tau`` (its rows, uniform in ``mu``): ``(start, stop)`` index pairs."""
    cut = np.flatnonzero(np.diff(grid.tau) != 0) + 1
    edges = [0, *cut.tolist(), grid.size]
    return list(zip(edges[:-1], edges[1:]))


def fast_log_q(a, b, grid: Grid, moments: int = 0) -> np.ndarray:
    """``log Q(a_c + m, b_c; mu_g, tau_g)`` for columns ``c`` (1-D ``a``, ``b``), ``m = 0 .. moments`` and every
    grid point: ((moments + 1) C, G), row ``m C + c`` (the ``m``-th moment's integrand has ``expit(t)^m`` more).

    :func:`~analysis.logitnormal.log_q` per grid point (the table path's rule), computed a row at a time."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    out = np.empty(((moments + 1) * a.size, grid.size))
    big = float((a + b).max()) + moments
    width = 2.0 / np.sqrt(max(big, 1.0))  # the likelihood's sd on the logit is at least this
    for start, stop in rows_of(grid):
        mu, tau = grid.mu[start:stop], float(grid.tau[start])
        c = np.sqrt(2) * tau * big
        nodes = next((k for lim, k in GH_NODES if c <= lim), None)
        if nodes is not None:
            out[:, start:stop] = _gh(a, b, mu, tau, nodes, moments)
        else:
            out[:, start:stop] = _trapezoid(a, b, mu, tau, width, moments)
    return out


def _gh(a, b, mu, tau, nodes, moments=0):
    x, w = _HERMITE[nodes]
    t = np.concatenate([mu[:, None], mu[:, None] + np.sqrt(2) * tau * x[None, :]], 1)  # (M, 1 + nodes): centre, nodes
    le = _log_expit(t)
    # log expit(t)^a expit(-t)^b = a log expit(t) + b log expit(-t), every column at once (one matrix product)
    v = (np.stack([a, b], 1) @ np.stack([le, le - t]).reshape(2, -1)).reshape(a.size, *t.shape)
    centre = v[..., :1]  # the slope of the log integrand is below a + b: within c |x| <= 29 of the centre
    F = np.exp(v[..., 1:] - centre)
    r = np.exp(le[:, 1:] - le[:, :1])  # expit(t) / expit(mu): a moment's extra factor, relative to the centre's
    out = []
    for m in range(moments + 1):
        if m:
            F *= r
        out.append(centre[..., 0] + m * le[:, 0] + np.log(F @ w) - 0.5 * np.log(np.pi))
    return np.concatenate(out)


def _trapezoid(a, b, mu, tau, width, moments=0):
    # theta nodes at a spacing that divides the row's mu spacing (q nodes per mu step), so that theta - mu takes
    # values on one lattice: the normal kernel is computed once per row and gathered, not exponentiated per pair
    step = float(mu[1] - mu[0]) if mu.size > 1 else min(tau, width) / 1.5
    q = max(1, int(np.ceil(step / (min(tau, width) / 1.5))))
    h = step / q
    # the integrand is log-concave with curvature >= 1 / tau^2 and its mode within (a + b) tau^2 of mu (the
    # log likelihood's slope is at most a + b): beyond 9 tau from there it has dropped by more than 40
    far = 9 * tau + min(float((a + b).max()) * tau**2, 30.0)
    nfar = int(np.ceil(far / h)) + 1
    T = (mu.size - 1) * q + 2 * nfar + 1
    t = mu[0] + h * (np.arange(T) - nfar)  # theta_l - mu_i = (l - nfar - q i) h
    le = _log_expit(t)
    v = (a + b)[:, None] * le[None] - b[:, None] * t[None]  # (C, T)
    top = v.max(1, keepdims=True)
    inside = (v > top - BULK).any(0)
    F = np.exp(v - top)
    if moments:  # the moments' integrands: expit(t)^m more, on the same scale
        p = np.exp(le)
        F = np.concatenate([F * p**m for m in range(moments + 1)])
        top = np.tile(top, (moments + 1, 1))
    d = h * np.arange(-T, T + 1) / tau
    kern = np.exp(-0.5 * d * d)  # kern[T + k]: the kernel at theta - mu = k h
    out = np.full((F.shape[0], mu.size), FLOOR)
    const = np.log(h / (np.sqrt(2 * np.pi) * tau))
    for i in range(0, mu.size, BLOCK_MU):
        B = min(BLOCK_MU, mu.size - i)
        lo, hi = i * q, (i + B - 1) * q + 2 * nfar + 1  # the nodes within far of the block's mu
        keep = np.flatnonzero(inside[lo:hi])
        if keep.size == 0:
            continue
        l0, l1 = lo + keep[0], lo + keep[-1] + 1
        base = kern[T + l0 - nfar - q * i :]
        K = np.lib.stride_tricks.as_strided(base, shape=(B, l1 - l0), strides=(-q * kern.strides[0], kern.strides[0]))
        s = F[:, l0:l1] @ K.T  # (C, block)
        with np.errstate(divide="ignore"):
            out[:, i : i + B] = np.maximum(top + np.log(s) + const, FLOOR)
    return out


def fast_rows(n: int, ys, grid: Grid, extra: int = 2) -> np.ndarray:
    """``log Q(y + m, n - y; mu_g, tau_g)`` for the counts ``ys`` and ``m = 0 .. extra``: (extra + 1, len(ys), G)."""
    ys = np.asarray(ys, float)
    return fast_log_q(ys, n - ys, grid, extra).reshape(extra + 1, ys.size, grid.size)


def fast_tail(a, b, z: float, grid: Grid, l0: np.ndarray) -> np.ndarray:
    """``P(theta > z | y, mu_g, tau_g)`` for columns ``c`` (1-D ``a``, ``b``: exponents as in :func:`fast_log_q`)
    at every grid point, (C, G): ``int_z^inf`` of the integrand of ``Q(a_c, b_c)`` over ``Q = exp(l0)`` (``l0``
    (C, G) from :func:`fast_log_q`).

    The tail's integrand stops at ``z``, so neither rule of :func:`fast_log_q` applies; Gauss-Legendre panels
    start at ``z`` instead: on the rows of the trapezoid rule, panels of twice its spacing (``TAIL_NODES`` nodes
    each) from ``z`` to where the row's integrands end; on the Gauss-Hermite rows (the normal narrower than the
    likelihood), ``TAIL_PANELS`` panels in the normal's standardised variable between ``z`` and the nearer of
    -9 and 9 (the points whose normal lies wholly on one side of ``z``, to ``exp(-81)``, get 0 or 1)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    out = np.empty((a.size, grid.size))
    big = float((a + b).max())
    width = 2.0 / np.sqrt(max(big, 1.0))
    for start, stop in rows_of(grid):
        mu, tau = grid.mu[start:stop], float(grid.tau[start])
        ref = l0[:, start:stop]
        if np.sqrt(2) * tau * big <= GH_NODES[-1][0]:
            out[:, start:stop] = _tail_gh(a, b, z, mu, tau, ref)
        else:
            out[:, start:stop] = _tail_trapezoid(a, b, z, mu, tau, width, ref)
    return np.clip(out, 0.0, 1.0)


TAIL_NODES = 8
TAIL_PANELS = 8
_LEGENDRE = np.polynomial.legendre.leggauss(TAIL_NODES)


def _tail_gh(a, b, z, mu, tau, l0):
    x0 = (z - mu) / (np.sqrt(2) * tau)
    r = np.broadcast_to(np.where(x0 < 0, 1.0, 0.0), l0.shape).copy()
    band = np.flatnonzero(np.abs(x0) < 9)
    if band.size == 0:
        return r
    xg, wg = _LEGENDRE
    lo = x0[band]
    # the shorter side of z: [z, 9] above the normal's centre, else 1 - [-9, z] (each at most 9 wide)
    up = lo >= 0
    a0, a1 = np.where(up, lo, -9.0), np.where(up, 9.0, lo)
    edges = a0[:, None] + (a1 - a0)[:, None] * np.linspace(0, 1, TAIL_PANELS + 1)[None, :]  # (B, P + 1)
    half = (edges[:, 1:] - edges[:, :-1]) / 2  # (B, P)
    x = (edges[:, :-1] + half)[..., None] + half[..., None] * xg  # (B, P, nodes)
    t = mu[band, None, None] + np.sqrt(2) * tau * x
    le = _log_expit(t)
    v = (a + b)[:, None, None, None] * le - b[:, None, None, None] * t - x * x  # (C, B, P, nodes)
    v -= (l0[:, band] + 0.5 * np.log(np.pi))[..., None, None]
    part = np.einsum("cbpn,bp,n->cb", np.exp(v), half, wg)
    r[:, band] = np.where(up, part, 1 - part)
    return r


def _tail_trapezoid(a, b, z, mu, tau, width, l0):
    h = 3 * min(tau, width) / 1.5  # panels of three trapezoid spacings (two normal sds at most), 8 nodes each
    far = 9 * tau + min(float((a + b).max()) * tau**2, 30.0)
    end = mu[-1] + far
    out = np.zeros(l0.shape)
    if end <= z:
        return out
    panels = int(np.ceil((end - z) / h))
    xg, wg = _LEGENDRE
    hh = (end - z) / panels / 2
    t = (z + hh * (2 * np.arange(panels)[:, None] + 1 + xg[None, :])).ravel()
    w = np.tile(wg * hh, panels)
    v = (a + b)[:, None] * _log_expit(t)[None] - b[:, None] * t[None]  # (C, T)
    top = v.max(1, keepdims=True)
    inside = (v > top - BULK).any(0)
    Fw = np.exp(v - top) * w
    const = top - np.log(np.sqrt(2 * np.pi) * tau)
    for i in range(0, mu.size, BLOCK_MU):
        m = mu[i : i + BLOCK_MU]
        near = np.flatnonzero(inside & (t > m[0] - far) & (t < m[-1] + far))
        if near.size == 0:
            s = np.zeros((a.size, m.size))
        else:
            zz = (t[None, near] - m[:, None]) / tau
            s = Fw[:, near] @ np.exp(-0.5 * zz * zz).T  # (C, block)
        with np.errstate(divide="ignore", over="ignore"):
            r = np.exp(const + np.log(s) - l0[:, i : i + BLOCK_MU])
        # where the likelihood underflows (no posterior weight: l0 at FLOOR) the normal alone decides
        out[:, i : i + BLOCK_MU] = np.where(s > 0, r, m > z)
    return out


class DirectEngine(Engine):
    """A one-off posterior's engine (:func:`posterior`): the table path's grid and
    posterior, with the rows of the observed counts computed by :func:`fast_log_q` (every group of a component in
    one pass over its rows) instead of ``log_q`` per grid point, and tail probabilities integrated on demand over
    the grid points that carry group ``k``'s posterior weight (no tail tables).  New counts add rows; the rows of
    counts seen before are kept."""

    def __init__(self, model: EngineModel, n_total: int | None = None, resolution: float = 1.0):
        super().__init__(model, n_total, resolution, counts={}, lazy=True)

    def _add_counts(self, n, y) -> None:
        for a, b in zip(np.asarray(n, int), np.asarray(y, int)):
            self.counts.setdefault(int(a), set()).add(int(b))
        for j in range(self.model.J):
            self._fill(j)

    def _fill(self, j: int) -> None:
        """Compute every missing row of component ``j``'s tables (the counts the engine holds), and the new group's
        ``E[p | mu, tau] = Q(1, 0)``, in one pass over the grid."""
        grid = self.grids()[j]
        cols = []
        for size, ys in sorted(self.counts.items()):
            tab = self._tables.get((size, j))
            have = set() if tab is None else set(tab.ys.tolist())
            cols += [(size, c) for c in sorted(ys - have)]
        new = j not in self._new_mom
        if not cols and not new:
            return
        size, c = (np.array(v, float) for v in zip(*cols)) if cols else (np.empty(0), np.empty(0))
        a = np.concatenate([c, [1.0] if new else []])
        lq = fast_log_q(a, np.concatenate([size - c, [0.0] if new else []]), grid, moments=2).reshape(3, a.size, -1)
        if new:
            self._new_mom[j] = np.exp(lq[0, -1])
        if not cols:
            return
        lq = lq[:, : len(cols)]
        lb = log_binom(c, size)
        for i, (s, yc) in enumerate(cols):
            tab = self._tables.get((s, j))
            if tab is None:
                # rows of counts not in ys are never read (:meth:`Engine._check`): left unwritten, so never touched
                rows = [np.empty((s + 1, grid.size)) for _ in range(3)]
                tab = self._tables[(s, j)] = GroupTable(s, *rows, ys=np.empty(0, int))
            l0, l1, l2 = lq[:, i]
            tab.loglik[yc] = lb[i] + l0
            with np.errstate(invalid="ignore", over="ignore"):
                tab.m1[yc] = np.clip(np.where(l0 > FLOOR, np.exp(l1 - l0), 0.0), 0, 1)
                tab.m2[yc] = np.clip(np.where(l0 > FLOOR, np.exp(l2 - l0), 0.0), 0, 1)
            tab.ys = np.union1d(tab.ys, [yc])

    def table(self, n: int, j: int = 0, thresholds=()) -> GroupTable:
        """The rows of the counts held (tails are integrated on demand: ``thresholds`` are not tabulated)."""
        if (int(n), j) not in self._tables:
            self.counts.setdefault(int(n), set())
            self._fill(j)
        return self._tables[(int(n), j)]

    def posterior(self, y, n, thresholds=()) -> Posterior:
        self.grids(int(np.sum(n)))
        self._check(y, n)  # the rows of new counts and, the first time, the new group's moments: one pass
        return super().posterior(y, n)

    def _tail_k(self, state, k, x):
        """P(p_k > x): :func:`fast_tail` on each component's grid, for every group of the posterior at once (kept
        per count and threshold), NEX by log_q."""
        x = float(x)
        tails = self.__dict__.setdefault("_fast_tails", {})
        pairs = list(zip(state["n"].tolist(), state["y"].tolist()))
        for j, g in enumerate(self.grids()):
            todo = sorted({p for p in pairs if (*p, x, j) not in tails})
            if todo:
                size, c = (np.array(v, float) for v in zip(*todo))
                l0 = np.stack([self.table(s, j).loglik[yc] for s, yc in todo]) - log_binom(c, size)[:, None]
                for p, row in zip(todo, fast_tail(c, size - c, float(logit(x)), g, l0)):
                    tails[(*p, x, j)] = row
        n, y = pairs[k]
        total = sum(float(om @ tails[(n, y, x, j)]) for j, om in enumerate(state["omega"][k]))
        if self.model.is_exnex and state["nex_mass"][k] > 0:
            ntab = self.nex_table(n, *state["nex"][k], [x])
            total += state["nex_mass"][k] * float(ntab.tails[x][y, 0])
        return min(max(total, 0.0), 1.0)


def posterior(model: EngineModel, y, n, resolution: float = 1.0, reuse: bool = True, direct: bool = True) -> Posterior:
    """One-off posterior (an :class:`Engine` whose tables hold only the counts its posteriors used, kept for the
    next call with the same model and total size: only new counts then cost table rows).

    ``reuse=False`` builds a fresh engine for these counts alone, as before engines were kept: the paper's
    results use it, so that their numbers stay those of the reference bit for bit (a row computed with other
    counts can differ in its last bit: the panel sums' matrix-vector product rounds by position).

    ``direct`` (the default, with ``reuse``): the rows of the observed counts by whole grid rows at once
    (:class:`~analysis.bayes.engine.direct.DirectEngine`: the same grid and integrals, to about 1e-8, some
    tens of milliseconds instead of a second); ``direct=False``: by the table path's rule per grid point.

    Parameters
    ----------
    model : EngineModel
        The hierarchical or EXNEX model.
    y, n : array_like
        Responders and patients, one entry per group.
    resolution : float
        Scales the grid spacings and the Gauss-Legendre orders (refinement checks).

    Returns
    -------
    Posterior
        Means, sds, exchangeability probabilities, the new group's mean, the log evidence; tail probabilities
        and quantiles on demand.

    References
    ----------
    Neuenschwander, Wandel, Roychoudhury and Bailey (2016), Robust exchangeability designs for early phase
    clinical trials with multiple strata, Pharmaceutical Statistics 15:123-134 (EXNEX).
    """
    if not reuse:
        counts: dict[int, set[int]] = {}
        for a, b in zip(np.ravel(n), np.ravel(y)):
            counts.setdefault(int(a), set()).add(int(b))
        return Engine(model, int(np.sum(n)), resolution, counts=counts).posterior(y, n)
    key = (_model_key(model), int(np.sum(n)), float(resolution), bool(direct))
    eng = _ONE_OFF.pop(key, None)  # most recently used last
    if eng is None and direct:
        eng = DirectEngine(model, int(np.sum(n)), resolution)
    elif eng is None:
        eng = Engine(model, int(np.sum(n)), resolution, counts={}, lazy=True)
    _ONE_OFF[key] = eng
    while len(_ONE_OFF) > ONE_OFF_ENGINES:
        del _ONE_OFF[next(iter(_ONE_OFF))]
    return eng.posterior(y, n)


#: one-off posteriors reuse the lazy engines of the last few (model, total size, resolution): a new data vector
#: computes only the table rows of counts not seen before
ONE_OFF_ENGINES = 8
_ONE_OFF: dict[tuple, Engine] = {}


def _model_key(model: EngineModel) -> tuple:
    """Everything a model's posteriors depend on, exactly (a numpy array's repr rounds to 8 digits)."""

    def exact(v):
        return None if v is None else (np.shape(v), np.asarray(v, float).tobytes())

    comps = tuple((c.mu.dist, c.mu.params, c.tau.dist, c.tau.params) for c in model.components)
    return comps, exact(model.weights), exact(model.nex), exact(model.new_weights), exact(model.new_nex)


def clear_one_off_engines() -> None:
    """Forget the engines :func:`posterior` keeps (their tables), e.g. to time a cold one-off posterior."""
    _ONE_OFF.clear()
