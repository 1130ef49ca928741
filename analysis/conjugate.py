"""Closed-form Beta-binomial posteriors: the independent and pooled models."""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis.models import ModelSpec


def beta_posterior(events: int, n: int, a: float, b: float) -> tuple[float, float]:
    """Beta(a, b) prior and ``events`` of ``n`` -> Beta(a + events, b + n - events)."""
    return a + events, b + n - events


def summarise(a: float, b: float, level: float = 0.95) -> dict:
    """Posterior mean and equal-tailed interval of Beta(a, b), exactly."""
    lo, hi = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], a, b)
    return {"estimate": a / (a + b), "lower": float(lo), "upper": float(hi), "a": a, "b": b}


def fit_conjugate(
    spec: ModelSpec, groups: list[str], events: np.ndarray, n: np.ndarray, level: float = 0.95
) -> dict[str, dict]:
    """Per-group posterior summaries of the independent or pooled model."""
    a0, b0 = spec.priors["p"].params
    if spec.kind == "independent":
        return {g: summarise(*beta_posterior(int(x), int(m), a0, b0), level) for g, x, m in zip(groups, events, n)}
    if spec.kind == "pooled":
        post = summarise(*beta_posterior(int(np.sum(events)), int(np.sum(n)), a0, b0), level)
        return {g: dict(post) for g in groups}
    raise ValueError(f"model {spec.name!r} of kind {spec.kind!r} is not conjugate")
