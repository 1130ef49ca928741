"""Complete pooling: one rate shared by every group, ``p ~ Beta(a, b)`` (conjugate).

The independent model with every group's counts added up: the same prior, parameter and prior
predictive, another posterior.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.bayes.conjugate import beta_posterior, summarise
from analysis.bayes.models.independent import Independent
from analysis.bayes.units import Units


@dataclass(frozen=True)
class Pooled(Independent):
    kind: ClassVar[str] = "pooled"
    label: ClassVar[str] = "Pooled"
    long_label: ClassVar[str] = "Bayes: complete pooling"
    pooling: ClassVar[float] = 1.0

    def exact(self, units: Units, level: float) -> dict[str, dict]:
        a0, b0 = self.priors["p"].params
        post = summarise(*beta_posterior(int(np.sum(units.events)), int(np.sum(units.n)), a0, b0), level)
        return {g: dict(post) for g in units.labels}

    def exact_draws(self, exact: dict[str, dict], units: Units, size: int, rng: np.random.Generator) -> np.ndarray:
        draws = super().exact_draws(exact, units, size, rng)
        return np.repeat(draws[:, :1], len(units.labels), axis=1)
