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
with ``python -m analysis bayes --model exnex2``.  Per group, as in
:class:`~analysis.bayes.models.exnex.Exnex`: ``group_weights`` rows
``(label, w1, w2)`` and ``group_nex`` rows ``(label, m, s)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import expit

from analysis.bayes.models.base import Model
from analysis.bayes.models.exnex import check_nex, per_group
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units


@dataclass(frozen=True)
class Exnex2(Model):
    weight1: float = 0.4
    weight2: float = 0.4
    #: (label, w1, w2) rows (or a mapping label -> (w1, w2)): a group's own component weights
    group_weights: tuple = ()
    #: (label, m, s) rows (or a mapping label -> (m, s)): a group's own NEX prior Normal(m, s)
    group_nex: tuple = ()

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

        def check_w(label, v):
            if not (0 < v[0] < 1 and 0 < v[1] < 1 and v[0] + v[1] < 1):
                raise ValueError(f"model {self.name!r}, group {label!r}: need w1, w2 > 0 with w1 + w2 < 1, got {v}")

        object.__setattr__(self, "group_weights", per_group(self.name, self.group_weights, 2, check_w))
        object.__setattr__(self, "group_nex", per_group(self.name, self.group_nex, 2, check_nex(self.name)))

    def unit_weights(self, labels: Sequence[str]) -> np.ndarray:
        """(groups, 2): each group's weights of components 1 and 2."""
        own = {r[0]: r[1:] for r in self.group_weights}
        default = (float(self.weight1), float(self.weight2))
        return np.array([own.get(g, default) for g in labels], dtype=float).reshape(len(labels), 2)

    def unit_nex(self, labels: Sequence[str]) -> np.ndarray:
        own = {r[0]: r[1:] for r in self.group_nex}
        default = tuple(float(v) for v in self.priors["nex"].params)
        return np.array([own.get(g, default) for g in labels], dtype=float).reshape(len(labels), 2)

    def unit_hyperparameters(self, labels: Sequence[str]) -> dict[str, np.ndarray]:
        w, nex = self.unit_weights(labels), self.unit_nex(labels)
        return {"weight1": w[:, 0], "weight2": w[:, 1], "nex_0": nex[:, 0], "nex_1": nex[:, 1]}

    def groups_named(self) -> set[str]:
        return {r[0] for r in (*self.group_weights, *self.group_nex)}

    @property
    def weights(self) -> tuple[float, float, float]:
        return (float(self.weight1), float(self.weight2), 1.0 - float(self.weight1) - float(self.weight2))

    def free_parameters(self) -> list[str]:
        return ["mu", "tau", "mu2", "tau2", "z", "z2", "u"]

    def hyperparameters(self) -> dict[str, float]:
        """Scalars: the components' prior parameters (the weights and NEX priors are per unit)."""
        return {k: v for k, v in super().hyperparameters().items() if not k.startswith("nex_")}

    def engine_model(self, labels: Sequence[str] | None = None):
        from analysis.bayes import engine

        comps = (
            engine.Component(self.priors["mu"], self.priors["tau"]),
            engine.Component(self.priors["mu2"], self.priors["tau2"]),
        )
        if labels is None:
            w, nex = self.weights[:2], self.priors["nex"].params
        else:
            w, nex = self.unit_weights(labels), self.unit_nex(labels)
        return engine.Model(
            comps, weights=w, nex=nex, name=self.name, new_weights=self.weights[:2], new_nex=self.priors["nex"].params
        )

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
            hyper = self.unit_hyperparameters(units.labels)
            loc, scale = (pm.Data(k, hyper[k], dims="unit") for k in ("nex_0", "nex_1"))
            thetas = [
                pm.Deterministic("theta_ex", mu + tau * z, dims="unit"),
                pm.Deterministic("theta_ex2", mu2 + tau2 * z2, dims="unit"),
                pm.Deterministic("theta_nex", loc + scale * u, dims="unit"),
            ]
            w1, w2 = (pm.Data(k, hyper[k], dims="unit") for k in ("weight1", "weight2"))
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
