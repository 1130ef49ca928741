"""Independent Beta-binomial model: each group's rate on its own, ``p_g ~ Beta(a, b)`` (conjugate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.bayes.conjugate import beta_posterior, summarise
from analysis.bayes.models.base import Model
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units


@dataclass(frozen=True)
class Independent(Model):
    kind: ClassVar[str] = "independent"
    label: ClassVar[str] = "Independent"
    long_label: ClassVar[str] = "Bayes: independent Beta(1, 1)"
    parameters: ClassVar[dict[str, str]] = {"p": "unit"}
    default_priors: ClassVar[dict[str, Prior]] = {"p": Prior("Beta", (1, 1))}
    closed_form: ClassVar[bool] = True
    pooling: ClassVar[float] = 0.0

    def exact(self, units: Units, level: float) -> dict[str, dict]:
        a0, b0 = self.priors["p"].params
        return {
            g: summarise(*beta_posterior(int(x), int(m), a0, b0), level)
            for g, x, m in zip(units.labels, units.events, units.n)
        }

    def prior_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        return rng.beta(*self.priors["p"].params, size)
