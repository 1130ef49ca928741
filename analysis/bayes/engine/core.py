"""The engine: :class:`Engine` (grids and tables cached per design) and :class:`Posterior` (the one-off
:func:`~analysis.bayes.engine.direct.posterior` lives with its engine in :mod:`~analysis.bayes.engine.direct`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, logit, logsumexp

from analysis.bayes.engine.components import mixture_weights
from analysis.bayes.engine.grid import Grid, make_grid
from analysis.bayes.engine.mixed import LazyFactor, count_row, mixed_factor, posterior_sums
from analysis.bayes.engine.model import EngineModel
from analysis.bayes.engine.store import factor_key
from analysis.bayes.engine.tables import GroupTable, add_tail, extend_rows, group_table
from analysis.limits import engine_bytes, engine_grid_points, require
from analysis.logitnormal import _log_h, log_binom, log_q


@dataclass
class Posterior:
    """Posterior summaries for K groups (and a new group) from :meth:`Engine.posterior`."""

    model: str
    y: np.ndarray
    n: np.ndarray
    mean: np.ndarray  # (K,)
    sd: np.ndarray  # (K,)
    p_ex: np.ndarray  # (K, J) posterior probability that group k belongs to exchangeable component j
    new_mean: float
    log_evidence: float
    hyper: dict  # per component: posterior means of mu and tau
    _engine: object = field(repr=False, default=None)
    _state: dict = field(repr=False, default=None)

    def prob_above(self, x) -> np.ndarray:
        """P(p_k > x | data) for each group (x scalar or one per group)."""
        x = np.broadcast_to(np.asarray(x, float), self.y.shape)
        return np.array([self._engine._tail_k(self._state, k, float(x[k])) for k in range(self.y.size)])

    def quantile(self, q) -> np.ndarray:
        """Posterior quantiles, shape (K,) for scalar q or (len(q), K)."""
        qs = np.atleast_1d(np.asarray(q, float))
        out = np.array([[self._quantile_k(k, qi) for k in range(self.y.size)] for qi in qs])
        return out[0] if np.ndim(q) == 0 else out

    def _quantile_k(self, k: int, q: float) -> float:
        """Newton on the logit, with the exact posterior density as derivative, from the posterior mean's logit.

        Until the root is bracketed, steps are at most 4 logit units; once it is, a step that leaves the bracket
        or does not halve the step before last is replaced by bisection (Numerical Recipes' rtsafe).  It stops at
        1e-8 on the logit (the tail integrals themselves are accurate to about 1e-6 relative): a few tail
        integrals per quantile, where root-finding without the derivative needed about 15."""
        lo, hi, found_lo, found_hi = -35.0, 35.0, False, False
        z = float(logit(np.clip(self.mean[k], 1e-9, 1 - 1e-9)))
        step = step_old = hi - lo
        for _ in range(200):
            tail, dens = self._engine._tail_density_k(self._state, k, z)
            F = 1 - tail - q  # the CDF minus q, increasing in z
            if F > 0:
                hi, found_hi = z, True
            else:
                lo, found_lo = z, True
            if F == 0:
                break
            zn = z - F / dens if dens > 0 else z + (4.0 if F < 0 else -4.0)
            if found_lo and found_hi:
                if not lo < zn < hi or abs(zn - z) > 0.5 * abs(step_old):
                    zn = 0.5 * (lo + hi)
            else:
                zn = min(max(zn, z - 4.0, lo), z + 4.0, hi)
            step_old, step = step, abs(zn - z)
            z = zn
            if step <= 1e-8:
                break
        return float(expit(z))

    def new_prob_above(self, x: float) -> float:
        return self._engine._tail_new(self._state, float(x))

    def new_quantile(self, q) -> np.ndarray | float:
        qs = np.atleast_1d(np.asarray(q, float))
        out = np.array(
            [
                expit(
                    optimize.brentq(lambda z, qi=qi: 1 - self.new_prob_above(float(expit(z))) - qi, -35, 35, xtol=1e-10)
                )
                for qi in qs
            ]
        )
        return float(out[0]) if np.ndim(q) == 0 else out


class Engine:
    """Posterior computations for one model and a design's group sizes.

    ``n_total`` sets the grid spacing of ``mu`` (the largest total sample
    size the engine will see; default: the sum of the first data's ``n``).
    Grids and per-size tables are cached on the engine.
    """

    def __init__(
        self,
        model: EngineModel,
        n_total: int | None = None,
        resolution: float = 1.0,
        nodes: int | None = None,
        counts: dict[int, set[int]] | None = None,
        lazy: bool = False,
    ):
        """``counts``: restrict the tables to these counts per group size (``{n: {y, ...}}``), for an engine that
        serves one data vector (:func:`posterior`); other data then raise ``ValueError``, unless ``lazy``: then
        the rows of new counts are computed when a posterior needs them (the same numbers as a table built with
        every count at once)."""
        self.model = model
        self.lazy = bool(lazy)
        self.counts = None if counts is None else {int(k): {int(v) for v in vs} for k, vs in counts.items()}
        self.resolution = float(resolution)
        self.nodes = nodes or int(round(12 * max(1.0, resolution)))
        self._n_total = n_total
        self._grids: list[Grid] | None = None
        self._tables: dict[tuple[int, int], GroupTable] = {}
        self._nex: dict[tuple[int, float, float], dict] = {}
        self._new_mom: dict = {}  # per component j: E[p | mu, tau] on its grid; per NEX prior: its mean

    # grids and tables
    def grids(self, n_total: int | None = None) -> list[Grid]:
        if self._grids is None:
            nt = self._n_total or n_total or 100
            points = sum(engine_grid_points(c, nt, self.resolution) for c in self.model.components)
            require(
                f"model '{self.model.name}': the posterior engine's grid ({points:,} points)",
                nbytes=engine_bytes(points, []),
            )
            self._n_total = nt
            self._grids = [make_grid(c, nt, self.resolution) for c in self.model.components]
        return self._grids

    def table(self, n: int, j: int = 0, thresholds=()) -> GroupTable:
        key = (int(n), j)
        if key not in self._tables:
            size = self.grids()[j].size
            # one row per count 0..n (238 GiB for groups of 1e5 in the cross-check, before this check)
            require(
                f"model '{self.model.name}': the posterior engine's table for a group of {int(n):,} "
                f"({int(n) + 1:,} x {size:,} values)",
                nbytes=engine_bytes(size, [int(n)], arrays=0),
            )
            ys = None if self.counts is None else sorted(self.counts[int(n)])
            self._tables[key] = group_table(int(n), self.grids()[j], self.nodes, ys=ys)
        tab = self._tables[key]
        for x in thresholds:
            add_tail(tab, x, self.grids()[j], self.nodes)
        return tab

    def nex_table(self, n: int, m: float, s: float, thresholds=()) -> dict:
        key = (int(n), float(m), float(s))
        if key not in self._nex:
            g = Grid(np.array([m]), np.array([s]), np.zeros(1))
            t = group_table(int(n), g, self.nodes)
            self._nex[key] = {"tab": t, "grid": g}
        d = self._nex[key]
        for x in thresholds:
            add_tail(d["tab"], x, d["grid"], self.nodes)
        return d["tab"]

    def _add_counts(self, n, y) -> None:
        """A lazy engine's new counts: rows added to the tables already built (later tables include them)."""
        new: dict[int, set[int]] = {}
        for a, b in zip(n.astype(int), y.astype(int)):
            if int(b) not in self.counts.get(int(a), ()):
                new.setdefault(int(a), set()).add(int(b))
        for a, ys in new.items():
            self.counts.setdefault(a, set()).update(ys)
            for j in range(self.model.J):
                if (a, j) in self._tables:
                    extend_rows(self._tables[(a, j)], self.grids()[j], self.nodes, sorted(ys))

    def _check(self, y, n):
        y = np.asarray(y)
        n = np.asarray(n)
        if y.shape != n.shape or y.ndim != 1 or y.size == 0:
            raise ValueError("y and n must be 1-D of the same, non-zero length")
        if np.any(y != np.round(y)) or np.any(n != np.round(n)) or np.any(y < 0) or np.any(y > n) or np.any(n < 1):
            raise ValueError(f"need whole numbers 0 <= y <= n and n >= 1, got y={y.tolist()}, n={n.tolist()}")
        if self.counts is not None and self.lazy:
            self._add_counts(n, y)
        if self.counts is not None and any(int(b) not in self.counts.get(int(a), ()) for a, b in zip(n, y)):
            raise ValueError(
                f"this engine's tables hold only the counts {self.counts}; got y={y.tolist()}, n={n.tolist()}"
            )
        return y.astype(int), n.astype(int)

    # single posterior
    def posterior(self, y, n, thresholds=()) -> Posterior:
        """Posterior for data ``y`` of ``n`` (one entry per group)."""
        y, n = self._check(y, n)
        K = y.size
        self.grids(int(n.sum()))
        W = self.model.group_weights(K)
        nex = self.model.group_nex(K)
        w_nex = np.clip(1 - W.sum(1), 0, 1)
        J = self.model.J
        grids = self.grids()
        # per group, per component: log-lik vectors on the grid; nex scalars
        ll = [[self.table(n[k], j, thresholds).loglik[y[k]] for j in range(J)] for k in range(K)]
        lnex = (
            np.array([self.nex_table(n[k], *nex[k], thresholds).loglik[y[k], 0] for k in range(K)])
            if self.model.is_exnex
            else None
        )
        with np.errstate(divide="ignore"):
            lw = np.log(W)
            lwn = np.log(w_nex)
        if J == 1:
            g = grids[0]
            terms = np.stack([lw[k, 0] + ll[k][0] for k in range(K)])  # (K, G)
            if self.model.is_exnex:
                lm = np.logaddexp(terms, (lwn + lnex)[:, None])
            else:
                lm = terms
            lpost = g.logw + lm.sum(0)
            lz = logsumexp(lpost)
            post = np.exp(lpost - lz)
            omega = [[post * np.exp(terms[k] - lm[k])] for k in range(K)]  # (K)(J)(G): weight of (k in comp, g)
            hyper_w = [post]
            nex_mass = np.array([1 - om[0].sum() for om in omega])
        else:
            C = (lwn + lnex) if lnex is not None else np.full(K, -np.inf)
            mw = mixture_weights(
                [np.stack([lw[k, j] + ll[k][j] for k in range(K)])[None] for j in range(J)], C[None], grids
            )
            omega = [[mw["omega"][j][0, k] for j in range(J)] for k in range(K)]
            nex_mass, hyper_w, lz = mw["nex"][0], [h[0] for h in mw["hyper"]], float(mw["lz"][0])
        state = {"y": y, "n": n, "omega": omega, "nex_mass": nex_mass, "nex": nex, "hyper_w": hyper_w, "K": K}
        mean = np.empty(K)
        m2 = np.empty(K)
        for k in range(K):
            mean[k], m2[k] = self._moments_k(state, k)
        p_ex = np.array([[om.sum() for om in omega[k]] for k in range(K)])
        wn, nexn = self.model.new_group(K)
        new_mean = 0.0
        for j in range(J):
            gj = grids[j]
            if j not in self._new_mom:
                self._new_mom[j] = np.exp(log_q(1, 0, gj.mu, gj.tau, None, self.nodes))
            mom = self._new_mom[j]
            new_mean += wn[j] * float(hyper_w[j] @ mom)
        rest = max(0.0, 1 - float(np.sum(wn)))
        if rest > 0:
            key = ("nex", float(nexn[0]), float(nexn[1]))  # the new group's NEX mean: the model's, not the data's
            if key not in self._new_mom:
                self._new_mom[key] = float(np.exp(log_q(1, 0, nexn[0], nexn[1], None, self.nodes)))
            new_mean += rest * self._new_mom[key]
        state["new"] = (wn, nexn, rest)
        hyper = {
            f"component{j + 1}": {"mu": float(hyper_w[j] @ grids[j].mu), "tau": float(hyper_w[j] @ grids[j].tau)}
            for j in range(J)
        }
        res = Posterior(
            self.model.name,
            y,
            n,
            mean,
            np.sqrt(np.maximum(m2 - mean**2, 0)),
            p_ex,
            new_mean,
            float(lz),
            hyper,
            self,
            state,
        )
        return res

    def _moments_k(self, state, k):
        y, n = state["y"], state["n"]
        m1 = m2 = 0.0
        for j, om in enumerate(state["omega"][k]):
            t = self.table(n[k], j)
            m1 += float(om @ t.m1[y[k]])
            m2 += float(om @ t.m2[y[k]])
        if self.model.is_exnex and state["nex_mass"][k] > 0:
            t = self.nex_table(n[k], *state["nex"][k])
            m1 += state["nex_mass"][k] * t.m1[y[k], 0]
            m2 += state["nex_mass"][k] * t.m2[y[k], 0]
        return m1, m2

    def _tail_k(self, state, k, x):
        """P(p_k > x): from the tables when they hold this threshold (:meth:`posterior`'s ``thresholds``), else
        integrated where group k's posterior weight is not negligible."""
        y, n, x = state["y"], state["n"], float(x)
        thr = [x] if self.lazy else []  # a lazy engine tabulates the tails of its counts, for its next posteriors
        tabs = [self.table(n[k], j, thr) for j in range(len(state["omega"][k]))]
        nex = self.model.is_exnex and state["nex_mass"][k] > 0
        ntab = self.nex_table(n[k], *state["nex"][k], thr) if nex else None
        if all(x in t.tails for t in tabs) and (ntab is None or x in ntab.tails):
            total = sum(float(om @ t.tails[x][y[k]]) for om, t in zip(state["omega"][k], tabs))
            if ntab is not None:
                total += state["nex_mass"][k] * float(ntab.tails[x][y[k], 0])
            return min(max(total, 0.0), 1.0)
        return self._tail_density_k(state, k, float(logit(x)), density=False)[0]

    def _tail_density_k(self, state, k, z: float, density: bool = True) -> tuple[float, float]:
        """P(theta_k > z | data) and, with ``density``, the posterior density of the logit ``theta_k`` at ``z``."""
        y, n = state["y"], state["n"]
        a, b = y[k], n[k] - y[k]
        total = dens = 0.0
        for j, om in enumerate(state["omega"][k]):
            g = self.grids()[j]
            keep = om > om.max() * 1e-16
            mu, tau, w = g.mu[keep], g.tau[keep], om[keep]
            l0 = self.table(n[k], j).loglik[y[k], keep] - log_binom(a, n[k])
            lt = log_q(a, b, mu, tau, z, self.nodes)
            total += float(w @ np.minimum(np.exp(lt - l0), 1))
            if density:
                dens += float(w @ np.exp(_log_h(z, a, b, mu, tau) - np.log(np.sqrt(2 * np.pi) * tau) - l0))
        if self.model.is_exnex and state["nex_mass"][k] > 0:
            m, s = state["nex"][k]
            l0 = log_q(a, b, m, s, None, self.nodes)
            total += state["nex_mass"][k] * float(np.exp(log_q(a, b, m, s, z, self.nodes) - l0))
            if density:
                dens += state["nex_mass"][k] * float(
                    np.exp(_log_h(z, a, b, m, s) - np.log(np.sqrt(2 * np.pi) * s) - l0)
                )
        return min(max(total, 0.0), 1.0), dens

    def _tail_new(self, state, x):
        wn, nexn, rest = state["new"]
        t = logit(x)
        total = 0.0
        for j, hw in enumerate(state["hyper_w"]):
            g = self.grids()[j]
            total += wn[j] * float(hw @ stats.norm.sf(t, g.mu, g.tau))
        if rest > 0:
            total += rest * float(stats.norm.sf(t, nexn[0], nexn[1]))
        return total

    # many posteriors at once (J = 1)
    def batch(self, Y, n, thresholds, chunk: int = 256) -> dict:
        """Posterior summaries for many data vectors (rows of ``Y``) with fixed group sizes ``n``.

        Returns arrays of shape (B, K): ``mean``, ``m2`` (second moment),
        ``p_above`` (P(p_k > thresholds_k)) and ``p_ex`` (the posterior
        probability of exchangeability, summed over the components).
        """
        Y = np.atleast_2d(np.asarray(Y, int))
        n = np.asarray(n, int)
        B, K = Y.shape
        if n.shape != (K,):
            raise ValueError(f"n must have one entry per group ({K})")
        thr = np.broadcast_to(np.asarray(thresholds, float), (K,))
        if self.model.J > 1:
            return self._batch_components(Y, n, thr)
        g = self.grids(int(n.sum()))[0]
        factors = [self.batch_factor(K, k, n[k], thr[k]).rows(Y[:, k]) for k in range(K)]
        sums = posterior_sums(g.logw, factors, Y)
        return {
            "mean": sums[..., 1],
            "m2": sums[..., 2],
            "p_above": np.clip(sums[..., 3], 0, 1),
            "p_ex": sums[..., 0],
        }

    def batch_factor(self, K: int, k: int, n: int, thr: float) -> LazyFactor:
        """The factor of group ``k`` of ``K`` with ``n`` patients that :meth:`batch` reads (one exchangeable
        component): :meth:`mixed_factor` with the model's weights of group ``k``."""
        W = self.model.group_weights(K)[:, 0]
        with np.errstate(divide="ignore"):
            lw, lwn = np.log(W[k]), np.log1p(-W[k])
        return self.mixed_factor(n, thr, lw, lwn, self.model.group_nex(K)[k])

    def mixed_factor(self, n: int, thr: float, lw: float, lwn: float, nex) -> LazyFactor:
        """:func:`~analysis.bayes.engine.mixed.mixed_factor` of a group of size ``n`` (one exchangeable component,
        NEX ``(m, s)`` when the model has it), its rows computed per count on first use and cached on the engine
        (:class:`~analysis.bayes.engine.mixed.LazyFactor`)."""
        key = (int(n), float(thr), float(lw), float(lwn), float(nex[0]), float(nex[1]))
        cache = self.__dict__.setdefault("_mixed", {})
        if key not in cache:
            g = self.grids()[0]
            ntab = self.nex_table(n, nex[0], nex[1], [thr]) if self.model.is_exnex else None

            def make_row(y: int):
                tab = group_table(int(n), g, self.nodes, thresholds=[thr], ys=[y])
                nrow = None if ntab is None else count_row(ntab, y, thr)
                return mixed_factor(count_row(tab, y, thr), thr, lw, nrow, lwn)

            fkey = factor_key("mixed", g, self.nodes, int(n), *key[1:], float(self.model.is_exnex))
            cache[key] = LazyFactor(n, make_row, fkey, g.size)
        return cache[key]

    def _batch_components(self, Y, n, thr, budget: int = 4_000_000) -> dict:
        """:meth:`batch` with several exchangeable components (:func:`mixture_weights`, in chunks of bounded size)."""
        B, K = Y.shape
        J = self.model.J
        grids = self.grids(int(n.sum()))
        W = self.model.group_weights(K)
        nex = self.model.group_nex(K)
        tabs = [[self.table(n[k], j, [thr[k]]) for k in range(K)] for j in range(J)]
        ntabs = [self.nex_table(n[k], *nex[k], [thr[k]]) for k in range(K)] if self.model.is_exnex else None
        with np.errstate(divide="ignore"):
            lw, lwn = np.log(W), np.log(np.clip(1 - W.sum(1), 0, 1))
        out = {key: np.zeros((B, K)) for key in ("mean", "m2", "p_above", "p_ex")}
        chunk = max(1, budget // ((1 << K) * sum(g.size for g in grids)))
        for i in range(0, B, chunk):
            Yc = Y[i : i + chunk]
            L = [np.stack([lw[k, j] + tabs[j][k].loglik[Yc[:, k]] for k in range(K)], 1) for j in range(J)]
            if ntabs is None:
                C = np.full(Yc.shape, -np.inf)
            else:
                C = np.stack([lwn[k] + ntabs[k].loglik[Yc[:, k], 0] for k in range(K)], 1)
            mw = mixture_weights(L, C, grids)
            sl = slice(i, i + chunk)
            for k in range(K):
                yk = Yc[:, k]
                for j in range(J):
                    om, tab = mw["omega"][j][:, k], tabs[j][k]
                    out["mean"][sl, k] += np.einsum("bg,bg->b", om, tab.m1[yk])
                    out["m2"][sl, k] += np.einsum("bg,bg->b", om, tab.m2[yk])
                    out["p_above"][sl, k] += np.einsum("bg,bg->b", om, tab.tails[float(thr[k])][yk])
                    out["p_ex"][sl, k] += om.sum(1)
                if ntabs is not None:
                    nt, rest = ntabs[k], mw["nex"][:, k]
                    out["mean"][sl, k] += rest * nt.m1[yk, 0]
                    out["m2"][sl, k] += rest * nt.m2[yk, 0]
                    out["p_above"][sl, k] += rest * nt.tails[float(thr[k])][yk, 0]
        out["p_above"] = np.clip(out["p_above"], 0, 1)
        return out
