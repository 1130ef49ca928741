"""Multisource exchangeability models (MEM; Kaizer et al. 2018, Hobbs and Landin 2018)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import betaln, logsumexp

from analysis.basket.checks import choice, get, prior_ab
from analysis.basket.methods.base import BorrowingMethod, beta_sf


def mem_posterior(y, n, prior=(1.0, 1.0), inclusion: float = 0.5, p0=None, structure: str = "symmetric"):
    """Multisource exchangeability model (MEM): posterior summaries of each indication's rate.

    Kaizer, Koopmeiners and Hobbs (2018), Biostatistics 19:169-184; for basket trials Hobbs and Landin (2018),
    Statistics in Medicine 37:3557-3572, as in their R package ``basket`` (``mem_exact``).  Two indications are
    exchangeable (the same rate) or not, a priori with probability ``inclusion``; rates have a Beta(a, b) prior.

    ``structure="symmetric"`` (the ``basket`` package): a configuration is a symmetric exchangeability matrix
    ``M`` over all ``K (K - 1) / 2`` pairs, with prior ``prod inclusion^M_ij (1 - inclusion)^(1 - M_ij)`` and
    marginal ``prod_i [B(a + M_i . y, b + M_i . (n - y)) / B(a, b) * prod_{j: M_ij = 0} B(a + y_j, b + n_j - y_j) /
    B(a, b)]`` (binomial coefficients cancel); indication ``i``'s posterior is the mixture over configurations of
    ``Beta(a + M_i . y, b + M_i . (n - y))``.  ``structure="source"``: each indication has its own configuration
    of the ``K - 1`` others (Kaizer et al.'s source-specific MEM), ``2^(K-1)`` terms.  ``inclusion = 0`` is
    independent Beta(a, b) priors, ``1`` complete pooling, under either.

    ``y``, ``n``: (B, K).  Returns ``mean``, ``m2``, ``p_above`` (``P(p_k > p0_k)``, when ``p0`` is given) and
    ``p_ex`` (B, K, K): the posterior exchangeability probabilities (1 on the diagonal).
    """
    y, n = np.atleast_2d(y).astype(float), np.atleast_2d(n).astype(float)
    a, b = float(prior[0]), float(prior[1])
    if not 0.0 <= inclusion <= 1.0:
        raise ValueError(f"MEM: inclusion probability must be in [0, 1], got {inclusion}")
    if structure not in ("symmetric", "source"):
        raise ValueError(f"MEM: structure must be 'symmetric' or 'source', got {structure!r}")
    B, K = y.shape
    if structure == "symmetric" and K > 6:
        raise ValueError(f"MEM: the symmetric model enumerates 2^(K(K-1)/2) configurations; K = {K} is too many")
    own = betaln(a + y, b + n - y) - betaln(a, b)  # (B, K): each indication alone
    if structure == "source":
        S = np.array(np.meshgrid(*[[0, 1]] * (K - 1), indexing="ij")).reshape(K - 1, -1).T  # (C, K-1)
        rows_of = {}  # indication k's configurations, as rows over all K indications
        for k in range(K):
            others = [j for j in range(K) if j != k]
            Mk = np.zeros((S.shape[0], K))
            Mk[:, others] = S
            Mk[:, k] = 1.0
            rows_of[k] = Mk
    else:
        pairs = [(i, j) for i in range(K) for j in range(i + 1, K)]
        E = np.array(np.meshgrid(*[[0, 1]] * len(pairs), indexing="ij")).reshape(len(pairs), -1).T
        M = np.repeat(np.eye(K)[None], E.shape[0], 0)
        for p, (i, j) in enumerate(pairs):
            M[:, i, j] = M[:, j, i] = E[:, p]
        rows_of = {k: M[:, k, :] for k in range(K)}
    with np.errstate(divide="ignore"):  # inclusion 0 or 1: the configurations it excludes get log prior -inf
        log_in, log_out = np.log(inclusion), np.log1p(-inclusion)
    out = {key: np.empty((B, K)) for key in ("mean", "m2", "p_above")}
    out["p_ex"] = np.empty((B, K, K))

    def row_terms(R):  # R (C, K): one row of the configurations -> shape parameters and log marginal (B, C)
        A = a + y @ R.T
        Bb = b + (n - y) @ R.T
        lm = betaln(A, Bb) - betaln(a, b) + own @ (1 - R).T
        return A, Bb, lm

    terms = {k: row_terms(rows_of[k]) for k in range(K)}
    if structure == "symmetric":
        lp = np.where(E == 1, log_in, log_out).sum(1)
        lw_all = lp[None, :] + sum(terms[k][2] for k in range(K))
        w_all = np.exp(lw_all - logsumexp(lw_all, axis=1, keepdims=True))
    for k in range(K):
        A, Bb, lm = terms[k]
        if structure == "symmetric":
            w = w_all
        else:
            Sk = np.delete(rows_of[k], k, axis=1)
            lw = np.where(Sk == 1, log_in, log_out).sum(1)[None, :] + lm
            w = np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
        out["mean"][:, k] = (w * A / (A + Bb)).sum(1)
        out["m2"][:, k] = (w * A * (A + 1) / ((A + Bb) * (A + Bb + 1))).sum(1)
        if p0 is not None:
            out["p_above"][:, k] = (w * beta_sf(np.asarray(p0, float)[k], A, Bb)).sum(1)
        out["p_ex"][:, k, :] = w @ rows_of[k]
    if p0 is None:
        del out["p_above"]
    return out


class MEM(BorrowingMethod):
    """Exchangeability of pairs of indications summed out exactly (:func:`mem_posterior`)."""

    kind: ClassVar[str] = "mem"
    label: ClassVar[str] = "MEM (Kaizer, Hobbs)"
    noun: ClassVar[str] = "the multisource exchangeability model"
    keys: ClassVar[frozenset[str]] = frozenset({"prior", "inclusion", "structure"})
    reference: ClassVar[str] = "Hobbs and Landin (2018), Statistics in Medicine 37:3557-3572"

    @classmethod
    def parse(cls, table, where, K, base):
        p: dict = {"prior": prior_ab(table.get("prior", [1, 1]), where)}
        p["inclusion"] = get(table, "inclusion", where, float, 0.5, lo=0, hi=1)
        p["structure"] = choice(table, "structure", where, ("symmetric", "source"), "symmetric")
        if p["structure"] == "symmetric" and K > 6:
            from analysis.basket.checks import DesignError

            raise DesignError(
                f"{where}, key 'structure': the symmetric model enumerates 2^(K(K-1)/2) configurations; "
                f'K = {K} is too many (use "source")'
            )
        return p

    @classmethod
    def describe(cls, params):
        a, b = params.get("prior", (1.0, 1.0))
        return (
            f"Beta({a:g}, {b:g}); prior exchangeability probability {params.get('inclusion', 0.5):g} "
            f"({params.get('structure', 'symmetric')})"
        )

    @classmethod
    def analyze(cls, design, method, n, y, prepared=None):
        prm = method.params
        res = mem_posterior(
            y,
            n,
            tuple(prm.get("prior", (1.0, 1.0))),
            prm.get("inclusion", 0.5),
            design.p0,
            prm.get("structure", "symmetric"),
        )
        return {k: res[k] for k in ("mean", "m2", "p_above")}
