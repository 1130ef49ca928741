"""EXNEX (Neuenschwander et al. 2016): each group exchangeable with probability ``w``, else on its own.

Each group's logit is exchangeable, ``mu + tau * z_g``, with prior
probability ``w``, or non-exchangeable, ``m + s * u_g`` with
``Normal(m, s)`` = ``nex`` (default ``Normal(0, 2)``, about one patient's
worth of information on the rate at p = 0.5).  The discrete indicator is
summed out of the likelihood (``logsumexp`` of the two branches), so NUTS sees
a smooth density; the posterior probability of exchangeability per group is a
deterministic (``pi_ex``), and draws of each group's rate are made afterwards
by drawing the indicator from its full conditional with a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import expit

from analysis.bayes.models.hierarchical import Hierarchical
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units


@dataclass(frozen=True)
class Exnex(Hierarchical):
    exnex_weight: float = 0.5

    kind: ClassVar[str] = "exnex"
    label: ClassVar[str] = "EXNEX"
    long_label: ClassVar[str] = "Bayes: EXNEX"
    parameters: ClassVar[dict[str, str]] = {"mu": "real", "tau": "positive", "nex": "real"}
    default_priors: ClassVar[dict[str, Prior]] = {
        "mu": Prior("Normal", (0, 1.5)),
        "tau": Prior("HalfNormal", (1,)),
        "nex": Prior("Normal", (0, 2)),
    }
    pooling: ClassVar[float] = 0.33

    def __post_init__(self):
        super().__post_init__()
        if self.priors["nex"].dist != "Normal":
            raise ValueError(f"model {self.name!r}: nex must be a Normal prior, got {self.priors['nex']}")
        w = self.exnex_weight
        if not (isinstance(w, int | float) and 0.0 < w < 1.0):
            raise ValueError(f"model {self.name!r}: the EXNEX weight must be a number in (0, 1), got {w!r}")

    def free_parameters(self) -> list[str]:
        return ["mu", "tau", "z", "u"]

    def engine_model(self):
        from analysis.bayes import engine

        return engine.Model.exnex(
            self.priors["mu"], self.priors["tau"], self.priors["nex"].params, self.exnex_weight, name=self.name
        )

    def hyperparameters(self) -> dict[str, float]:
        return {**super().hyperparameters(), "exnex_weight": float(self.exnex_weight)}

    def build(self, units: Units):
        import pymc as pm
        import pytensor.tensor as pt

        with pm.Model(coords={"unit": list(units.labels)}) as model:
            y, n = self._counts(units)
            _, _, theta_ex = self._exchangeable(units)
            loc, scale = (
                pm.Data("nex_0", float(self.priors["nex"].params[0])),
                pm.Data("nex_1", float(self.priors["nex"].params[1])),
            )
            u = pm.Normal("u", 0.0, 1.0, dims="unit")
            theta_nex = pm.Deterministic("theta_nex", loc + scale * u, dims="unit")
            w = pm.Data("exnex_weight", float(self.exnex_weight))
            ll_ex = pm.logp(pm.Binomial.dist(n=n, logit_p=theta_ex), y)
            ll_nex = pm.logp(pm.Binomial.dist(n=n, logit_p=theta_nex), y)
            a, b = pt.log(w) + ll_ex, pt.log1p(-w) + ll_nex
            pm.Potential("y", pt.logaddexp(a, b).sum())
            pm.Deterministic("pi_ex", pt.sigmoid(a - b), dims="unit")
        return model

    def add_draws(self, idata, units: Units, rng: np.random.Generator) -> None:
        post = idata.posterior
        shape = post["mu"].shape
        ex = rng.random(post["pi_ex"].shape) < post["pi_ex"].values
        p = xr.where(ex, expit(post["theta_ex"]), expit(post["theta_nex"]))
        loc, scale = self.priors["nex"].params
        new_ex = rng.random(shape) < self.exnex_weight
        theta_new = xr.where(
            new_ex, post["mu"] + post["tau"] * rng.standard_normal(shape), loc + scale * rng.standard_normal(shape)
        )
        post["p"] = p.transpose("chain", "draw", "unit")
        post["p_new"] = expit(theta_new)

    def prior_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        mu = self.priors["mu"].rvs(size, rng)
        tau = self.priors["tau"].rvs(size, rng)
        theta = mu + tau * rng.standard_normal(size)
        nex = self.priors["nex"].rvs(size, rng)
        return expit(np.where(rng.random(size) < self.exnex_weight, theta, nex))
