"""The MCMC cross-check: an ArviZ posterior against the engine, within a number of Monte Carlo SEs."""

from __future__ import annotations

import numpy as np

from analysis.bayes.engine.core import Posterior


class MCMCMismatch(AssertionError):
    """An MCMC summary differs from the deterministic engine by more than the allowed number of MCSEs."""


def compare_mcmc(idata, post: Posterior, k_mcse: float = 4.0, probs=(0.025, 0.975), groups=None) -> list[dict]:
    """Compare an ArviZ posterior (variables ``p[unit]`` and ``p_new``) with the engine.

    Means and the ``probs`` quantiles of each unit's rate and of ``p_new`` are
    compared; the Monte Carlo SE is ArviZ's ``mcse`` (``method='mean'`` and
    ``method='quantile'``).  Raises :class:`MCMCMismatch` naming the model,
    group and quantity when a difference exceeds ``k_mcse`` MCSEs; returns the
    table of comparisons otherwise.
    """
    import arviz as az  # optional dependency of this helper only

    p = idata.posterior["p"]
    dim = [d for d in p.dims if d not in ("chain", "draw")][0]
    labels = list(p[dim].values) if groups is None else list(groups)
    rows = []
    qs = post.quantile(list(probs))
    for k, lab in enumerate(labels):
        draws = p.isel({dim: k})
        rows.append(_cmp(post.model, lab, "mean", float(draws.mean()), post.mean[k], az.mcse(draws, method="mean")))
        for qi, q in enumerate(probs):
            est = float(draws.quantile(q))
            rows.append(_cmp(post.model, lab, f"q{q:g}", est, qs[qi, k], az.mcse(draws, method="quantile", prob=q)))
    if "p_new" in idata.posterior:
        d = idata.posterior["p_new"]
        rows.append(_cmp(post.model, "new", "mean", float(d.mean()), post.new_mean, az.mcse(d, method="mean")))
        nq = post.new_quantile(list(probs))
        for qi, q in enumerate(probs):
            rows.append(
                _cmp(post.model, "new", f"q{q:g}", float(d.quantile(q)), nq[qi], az.mcse(d, method="quantile", prob=q))
            )
    bad = [r for r in rows if abs(r["mcmc"] - r["engine"]) > k_mcse * r["mcse"]]
    if bad:
        lines = [
            f"model {r['model']!r}, group {r['group']!r}, {r['quantity']}: MCMC {r['mcmc']:.5f} vs engine "
            f"{r['engine']:.5f} (difference {abs(r['mcmc'] - r['engine']) / r['mcse']:.1f} MCSE > {k_mcse:g})"
            for r in bad
        ]
        raise MCMCMismatch("MCMC and engine disagree:\n  " + "\n  ".join(lines))
    return rows


def _cmp(model, group, quantity, mcmc, engine, mcse):
    mcse = (
        float(np.asarray(getattr(mcse, "to_array", lambda: mcse)()).ravel()[0])
        if not np.isscalar(mcse)
        else float(mcse)
    )
    return {
        "model": model,
        "group": str(group),
        "quantity": quantity,
        "mcmc": mcmc,
        "engine": float(engine),
        "mcse": mcse,
    }
