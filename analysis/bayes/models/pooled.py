"""Complete pooling: one rate shared by every group, ``p ~ Beta(a, b)`` (conjugate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.bayes.conjugate import beta_posterior, summarise
from analysis.bayes.models.base import Model
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units


@dataclass(frozen=True)
class Pooled(Model):
    kind: ClassVar[str] = "pooled"
    label: ClassVar[str] = "Pooled"
    long_label: ClassVar[str] = "Bayes: complete pooling"
    parameters: ClassVar[dict[str, str]] = {"p": "unit"}
    default_priors: ClassVar[dict[str, Prior]] = {"p": Prior("Beta", (1, 1))}
    closed_form: ClassVar[bool] = True
    pooling: ClassVar[float] = 1.0

    def exact(self, units: Units, level: float) -> dict[str, dict]:
        a0, b0 = self.priors["p"].params
        post = summarise(*beta_posterior(int(np.sum(units.events)), int(np.sum(units.n)), a0, b0), level)
        return {g: dict(post) for g in units.labels}

    def exact_draws(self, exact: dict[str, dict], units: Units, size: int, rng: np.random.Generator) -> np.ndarray:
        draws = super().exact_draws(exact, units, size, rng)
        return np.repeat(draws[:, :1], len(units.labels), axis=1)

    def prior_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        return rng.beta(*self.priors["p"].params, size)
