"""Multisource exchangeability models (MEM; Kaizer et al. 2018, Hobbs and Landin 2018)."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy.special import betaln, logsumexp

from analysis.basket.checks import choice, get, prior_ab
from analysis.basket.keys import SCALE
from analysis.basket.methods import nullscale
from analysis.basket.methods.base import BorrowingMethod
from analysis.basket.methods.logit_normal import parse_scale
from analysis.basket.methods.tails import beta_sf


def mem_posterior(
    y, n, prior=(1.0, 1.0), inclusion: float = 0.5, p0=None, structure: str = "symmetric", scale: str = "probability"
):
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

    ``scale="null"``: exchangeable indications share their gain over the null, ``logit(p) - logit(p0)``, rather
    than their rate (:mod:`analysis.basket.methods.nullscale`; the same model when the nulls are equal).

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

    null = scale == "null" and p0 is not None and np.ptp(np.asarray(p0, float)) > 0

    def row_terms(k, R):
        """Indication k's configurations R (C, K) -> per (B, C): on the null scale the posterior mean, second
        moment, P(p > p0) and log marginal; on the probability scale the Beta shapes, None and log marginal."""
        if null:
            distinct, back = np.unique(R, axis=0, return_inverse=True)
            t = nullscale.mem_rows(y, n, (a, b), p0, k, distinct)
            back = back.ravel()
            lm = t["lm"][:, back] + own @ (1 - R).T
            return t["mean"][:, back], t["m2"][:, back], t["p_above"][:, back], lm
        A = a + y @ R.T
        Bb = b + (n - y) @ R.T
        lm = betaln(A, Bb) - betaln(a, b) + own @ (1 - R).T
        return A, Bb, None, lm  # moments in the loop below, in the order of the probability scale's formula

    terms = {k: row_terms(k, rows_of[k]) for k in range(K)}
    if structure == "symmetric":
        lp = np.where(E == 1, log_in, log_out).sum(1)
        lw_all = lp[None, :] + sum(terms[k][3] for k in range(K))
        w_all = np.exp(lw_all - logsumexp(lw_all, axis=1, keepdims=True))
    for k in range(K):
        q1, q2, above, lm = terms[k]
        if structure == "symmetric":
            w = w_all
        else:
            Sk = np.delete(rows_of[k], k, axis=1)
            lw = np.where(Sk == 1, log_in, log_out).sum(1)[None, :] + lm
            w = np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
        if null:
            out["mean"][:, k] = (w * q1).sum(1)
            out["m2"][:, k] = (w * q2).sum(1)
            out["p_above"][:, k] = (w * above).sum(1)
        else:
            A, Bb = q1, q2
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
    keys: ClassVar[frozenset[str]] = frozenset({"prior", "inclusion", "structure", "scale"})
    key_docs: ClassVar[dict[str, str]] = {
        "prior": "[a, b]: the Beta prior of each rate.",
        "inclusion": "Prior probability that two indications are exchangeable (0..1; default 0.5).",
        "structure": '"symmetric": configurations of all pairs, as the basket package\'s mem_exact (K <= 6); '
        '"source": each indication\'s own configuration of the others.',
        "scale": SCALE,
    }
    reference: ClassVar[str] = "Hobbs and Landin (2018), Statistics in Medicine 37:3557-3572"

    @classmethod
    def parse(cls, table, where, K, base):
        p: dict = {"prior": prior_ab(table.get("prior", [1, 1]), where)}
        p["inclusion"] = get(table, "inclusion", where, float, 0.5, lo=0, hi=1)
        p["structure"] = choice(table, "structure", where, ("symmetric", "source"), "symmetric")
        if (scale := parse_scale(table, where)) is not None:
            p["scale"] = scale
        if p["structure"] == "symmetric" and K > 6:
            from analysis.basket.checks import DesignError

            raise DesignError(
                f"{where}, key 'structure': the symmetric model enumerates 2^(K(K-1)/2) configurations; "
                f'K = {K} is too many (use "source")'
            )
        return p

    @classmethod
    def check_resources(cls, design, method, where):
        """The posterior's arrays: per indication three (rows, configurations) tables, for every enumerated end
        state (exact OC) or one simulation chunk; 2^(K(K-1)/2) configurations (symmetric) or 2^(K-1) (source)."""
        from analysis.basket.design import n_outcomes, use_exact
        from analysis.limits import require

        K = design.K
        symmetric = method.params.get("structure", "symmetric") == "symmetric"
        configs = 2.0 ** (K * (K - 1) // 2 if symmetric else K - 1)
        # end states: at most this many (the count itself enumerates each indication's states: only when few)
        bound = math.prod(2.0 * ((i.interim_n or 0) + 1) + i.n + 1 for i in design.indications)
        if bound <= 1e8:
            exact = use_exact(design)
            rows = float(n_outcomes(design) if exact else design.chunk)
        else:
            exact = design.oc == "exact" or (design.oc == "auto" and bound <= design.max_outcomes)
            rows = bound if exact else float(design.chunk)
        what = f"{rows:,.0f} end states (exact OC)" if exact else f"chunks of {rows:,.0f} simulated trials"
        require(
            f"{where}, key 'structure': the {'symmetric' if symmetric else 'source'} model's {configs:,.0f} "
            f"configurations x {what}",
            nbytes=8.0 * rows * configs * (3 * K + 2),
        )

    @classmethod
    def describe(cls, params):
        a, b = params.get("prior", (1.0, 1.0))
        return (
            f"Beta({a:g}, {b:g}); prior exchangeability probability {params.get('inclusion', 0.5):g} "
            f"({params.get('structure', 'symmetric')}"
            f"{'; sharing the gain over the null, logit(p) - logit(p0)' if params.get('scale') == 'null' else ''})"
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
            prm.get("scale", "probability"),
        )
        return {k: res[k] for k in ("mean", "m2", "p_above")}
