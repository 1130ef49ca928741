"""EXNEX with two exchangeable components (Neuenschwander et al. 2016, section 2.2).

Each group's logit belongs to exchangeable component 1 (``mu + tau * z1``)
with prior probability ``w1``, to component 2 (``mu2 + tau2 * z2``) with
probability ``w2``, or is non-exchangeable (``Normal(m, s)`` = ``nex``) with
probability ``1 - w1 - w2``; the components have their own mu and tau priors.
Use it when the groups may form two clusters (for example diseases expected
to respond well and diseases expected to respond poorly).  The three-way
indicator is summed out of the likelihood; each group's posterior
probability of each component is a deterministic (``pi``), and draws of the
group's rate pick the component from its full conditional with a seeded
generator.  Not part of the paper's model set (``in_paper = False``): fit it
with ``python -m analysis bayes --model exnex2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import expit

from analysis.bayes.models.base import Model
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units


@dataclass(frozen=True)
class Exnex2(Model):
    weight1: float = 0.4
    weight2: float = 0.4

    kind: ClassVar[str] = "exnex2"
    label: ClassVar[str] = "EXNEX, two components"
    long_label: ClassVar[str] = "Bayes: EXNEX (two exchangeable components)"
    parameters: ClassVar[dict[str, str]] = {
        "mu": "real",
        "tau": "positive",
        "mu2": "real",
        "tau2": "positive",
        "nex": "real",
    }
    default_priors: ClassVar[dict[str, Prior]] = {
        "mu": Prior("Normal", (1.5, 1.5)),
        "tau": Prior("HalfNormal", (0.5,)),
        "mu2": Prior("Normal", (-1.5, 1.5)),
        "tau2": Prior("HalfNormal", (0.5,)),
        "nex": Prior("Normal", (0, 2)),
    }
    pooling: ClassVar[float] = 0.3
    predicts_new_group: ClassVar[bool] = True
    in_paper: ClassVar[bool] = False

    def __post_init__(self):
        super().__post_init__()
        if self.priors["nex"].dist != "Normal":
            raise ValueError(f"model {self.name!r}: nex must be a Normal prior, got {self.priors['nex']}")
        w1, w2 = self.weight1, self.weight2
        if not (0 < w1 < 1 and 0 < w2 < 1 and w1 + w2 < 1):
            raise ValueError(f"model {self.name!r}: need weights w1, w2 > 0 with w1 + w2 < 1, got {w1}, {w2}")

    @property
    def weights(self) -> tuple[float, float, float]:
        return (float(self.weight1), float(self.weight2), 1.0 - float(self.weight1) - float(self.weight2))

    def free_parameters(self) -> list[str]:
        return ["mu", "tau", "mu2", "tau2", "z", "z2", "u"]

    def hyperparameters(self) -> dict[str, float]:
        return {**super().hyperparameters(), "weight1": float(self.weight1), "weight2": float(self.weight2)}

    def engine_model(self):
        from analysis.bayes import engine

        comps = (
            engine.Component(self.priors["mu"], self.priors["tau"]),
            engine.Component(self.priors["mu2"], self.priors["tau2"]),
        )
        return engine.Model(comps, weights=self.weights[:2], nex=self.priors["nex"].params, name=self.name)

    def build(self, units: Units):
        import pymc as pm
        import pytensor.tensor as pt

        with pm.Model(coords={"unit": list(units.labels), "component": ["ex1", "ex2", "nex"]}) as model:
            y, n = self._counts(units)
            mu, tau = self._prior_rv("mu"), self._prior_rv("tau")
            mu2, tau2 = self._prior_rv("mu2"), self._prior_rv("tau2")
            z = pm.Normal("z", 0.0, 1.0, dims="unit")
            z2 = pm.Normal("z2", 0.0, 1.0, dims="unit")
            u = pm.Normal("u", 0.0, 1.0, dims="unit")
            loc, scale = (
                pm.Data("nex_0", float(self.priors["nex"].params[0])),
                pm.Data("nex_1", float(self.priors["nex"].params[1])),
            )
            thetas = [
                pm.Deterministic("theta_ex", mu + tau * z, dims="unit"),
                pm.Deterministic("theta_ex2", mu2 + tau2 * z2, dims="unit"),
                pm.Deterministic("theta_nex", loc + scale * u, dims="unit"),
            ]
            w1, w2 = pm.Data("weight1", float(self.weight1)), pm.Data("weight2", float(self.weight2))
            logw = [pt.log(w1), pt.log(w2), pt.log1p(-w1 - w2)]
            terms = pt.stack(
                [lw + pm.logp(pm.Binomial.dist(n=n, logit_p=t), y) for lw, t in zip(logw, thetas)], axis=-1
            )
            total = pt.logsumexp(terms, axis=-1)
            pm.Potential("y", total.sum())
            pm.Deterministic("pi", pt.exp(terms - total[:, None]), dims=("unit", "component"))
        return model

    def add_draws(self, idata, units: Units, rng: np.random.Generator) -> None:
        post = idata.posterior
        pi = post["pi"].values  # chain, draw, unit, component
        u = rng.random(pi.shape[:-1])[..., None]
        which = (u > np.cumsum(pi, axis=-1)).sum(-1)  # 0, 1 or 2 per chain, draw, unit
        stacked = np.stack([post["theta_ex"].values, post["theta_ex2"].values, post["theta_nex"].values], -1)
        theta = np.take_along_axis(stacked, which[..., None], -1)[..., 0]
        post["p"] = xr.DataArray(expit(theta), dims=("chain", "draw", "unit"), coords=post["theta_ex"].coords)
        shape = post["mu"].shape
        comp = rng.choice(3, size=shape, p=self.weights)
        loc, scale = self.priors["nex"].params
        new = np.select(
            [comp == 0, comp == 1],
            [
                post["mu"].values + post["tau"].values * rng.standard_normal(shape),
                post["mu2"].values + post["tau2"].values * rng.standard_normal(shape),
            ],
            loc + scale * rng.standard_normal(shape),
        )
        post["p_new"] = xr.DataArray(expit(new), dims=("chain", "draw"), coords=post["mu"].coords)

    def prior_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        t1 = self.priors["mu"].rvs(size, rng) + self.priors["tau"].rvs(size, rng) * rng.standard_normal(size)
        t2 = self.priors["mu2"].rvs(size, rng) + self.priors["tau2"].rvs(size, rng) * rng.standard_normal(size)
        t3 = self.priors["nex"].rvs(size, rng)
        comp = rng.choice(3, size=size, p=self.weights)
        return expit(np.select([comp == 0, comp == 1], [t1, t2], t3))
