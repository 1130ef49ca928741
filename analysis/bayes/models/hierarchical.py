"""Hierarchical logit-normal model: ``logit p_g = mu + tau * z_g``, ``z_g ~ Normal(0, 1)``.

Non-centred, because with every patient responding the posterior of ``tau``
has a funnel near 0 (see :mod:`analysis.bayes.sampling`).  Defaults:
``mu ~ Normal(0, 1.5)`` puts a roughly flat prior on the typical response
rate (its implied 95% range is about 0.05 to 0.95); ``tau ~ HalfNormal(1)``
allows substantial between-disease heterogeneity (Neuenschwander et al. 2010
call a between-trial sd of 1 'substantial').
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import expit

from analysis.bayes.models.base import Model
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units


@dataclass(frozen=True)
class Hierarchical(Model):
    kind: ClassVar[str] = "hierarchical"
    label: ClassVar[str] = "Hierarchical"
    long_label: ClassVar[str] = "Bayes: hierarchical"
    parameters: ClassVar[dict[str, str]] = {"mu": "real", "tau": "positive"}
    default_priors: ClassVar[dict[str, Prior]] = {"mu": Prior("Normal", (0, 1.5)), "tau": Prior("HalfNormal", (1,))}
    pooling: ClassVar[float] = 0.67
    predicts_new_group: ClassVar[bool] = True

    def free_parameters(self) -> list[str]:
        return ["mu", "tau", "z"]

    def engine_model(self, labels=None):
        from analysis.bayes import engine

        return engine.EngineModel.hierarchical(self.priors["mu"], self.priors["tau"], name=self.name)

    def _exchangeable(self, units: Units):
        import pymc as pm

        mu = self._prior_rv("mu")
        tau = self._prior_rv("tau")
        z = pm.Normal("z", 0.0, 1.0, dims="unit")
        return mu, tau, pm.Deterministic("theta_ex", mu + tau * z, dims="unit")

    def build(self, units: Units):
        import pymc as pm

        with pm.Model(coords={"unit": list(units.labels)}) as model:
            events, trials = self._counts(units)
            _, _, theta = self._exchangeable(units)
            pm.Binomial("y", n=trials, logit_p=theta, observed=events, dims="unit")
        return model

    def add_draws(self, idata, units: Units, rng: np.random.Generator) -> None:
        post = idata.posterior
        theta_new = post["mu"] + post["tau"] * rng.standard_normal(post["mu"].shape)
        post["p"] = expit(post["theta_ex"]).transpose("chain", "draw", "unit")
        post["p_new"] = expit(theta_new)

    def prior_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        mu = self.priors["mu"].rvs(size, rng)
        tau = self.priors["tau"].rvs(size, rng)
        return expit(mu + tau * rng.standard_normal(size))
