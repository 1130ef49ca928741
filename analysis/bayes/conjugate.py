"""Closed-form Beta-binomial posteriors (used by the independent and pooled models)."""

from __future__ import annotations

from scipy import stats


def beta_posterior(events: int, n: int, a: float, b: float) -> tuple[float, float]:
    """Beta(a, b) prior and ``events`` of ``n`` -> Beta(a + events, b + n - events)."""
    return a + events, b + n - events


def summarise(a: float, b: float, level: float = 0.95) -> dict:
    """Posterior mean and equal-tailed interval of Beta(a, b), exactly."""
    lo, hi = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], a, b)
    return {"estimate": a / (a + b), "lower": float(lo), "upper": float(hi), "a": a, "b": b}
