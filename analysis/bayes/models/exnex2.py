"""EXNEX with several exchangeable components (Neuenschwander et al. 2016, section 2.2).

Each group's logit belongs to exchangeable component ``j``
(``mu_j + tau_j * z_j``) with prior probability ``w_j`` (``j = 1..J``,
default two components, weights 0.4 and 0.4), or is non-exchangeable
(``Normal(m, s)`` = ``nex``) with probability ``1 - sum_j w_j``; each
component has its own mu and tau priors (``mu``/``tau`` for the first,
``mu2``/``tau2``, ``mu3``/``tau3``, ... for the others).  Use it when the
groups may form clusters (for example diseases expected to respond well and
diseases expected to respond poorly).  The indicator is summed out of the
likelihood; each group's posterior probability of each component is a
deterministic (``pi``), and draws of the group's rate pick the component
from its full conditional with a seeded generator.  Not part of the paper's
model set (``in_paper = False``): fit it with ``python -m analysis bayes
--model exnex2``, or in Python with more components:
``Exnex2(component_weights=(0.3, 0.3, 0.3))``.

Per group, as in :class:`~analysis.bayes.models.exnex.Exnex`:
``group_weights`` rows ``(label, w_1, ..., w_J)`` and ``group_nex`` rows
``(label, m, s)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import expit

from analysis.bayes.models.base import Model
from analysis.bayes.models.exnex import PerGroupNex, check_nex, per_group
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units

#: default priors of components 3, 4, ... (components 1 and 2 have their own, in ``default_priors``)
EXTRA_MU = Prior("Normal", (0, 1.5))
EXTRA_TAU = Prior("HalfNormal", (0.5,))


def _names(j: int) -> tuple[str, str]:
    """The mu and tau parameter names of component ``j`` (0-based): mu/tau, mu2/tau2, ..."""
    return ("mu", "tau") if j == 0 else (f"mu{j + 1}", f"tau{j + 1}")


@dataclass(frozen=True)
class Exnex2(PerGroupNex, Model):
    weight1: float = 0.4
    weight2: float = 0.4
    #: the weights of J >= 2 components (replaces weight1 and weight2 when given)
    component_weights: tuple = ()
    #: (label, w_1, ..., w_J) rows (or a mapping label -> weights): a group's own component weights
    group_weights: tuple = ()
    #: (label, m, s) rows (or a mapping label -> (m, s)): a group's own NEX prior Normal(m, s)
    group_nex: tuple = ()

    kind: ClassVar[str] = "exnex2"
    label: ClassVar[str] = "EXNEX, several components"
    long_label: ClassVar[str] = "Bayes: EXNEX (several exchangeable components)"
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
        w = tuple(float(v) for v in self.component_weights) if self.component_weights else None
        if w is not None:
            object.__setattr__(self, "component_weights", w)
        J = len(w) if w is not None else 2
        if J < 2:
            raise ValueError(f"model {self.name or self.kind!r}: several components need >= 2 weights, got {w}")
        # the parameters and default priors of this instance's J components
        params, defaults = {}, {}
        for j in range(J):
            mu, tau = _names(j)
            params |= {mu: "real", tau: "positive"}
            defaults |= {
                mu: type(self).default_priors.get(mu, EXTRA_MU),
                tau: type(self).default_priors.get(tau, EXTRA_TAU),
            }
        object.__setattr__(self, "parameters", params | {"nex": "real"})
        object.__setattr__(self, "default_priors", defaults | {"nex": type(self).default_priors["nex"]})
        super().__post_init__()
        if self.priors["nex"].dist != "Normal":
            raise ValueError(f"model {self.name!r}: nex must be a Normal prior, got {self.priors['nex']}")
        self._check_weights(None, self.weights[:-1])

        object.__setattr__(self, "group_weights", per_group(self.name, self.group_weights, J, self._check_weights))
        object.__setattr__(self, "group_nex", per_group(self.name, self.group_nex, 2, check_nex(self.name)))

    def _check_weights(self, label, v) -> None:
        if not (all(0 < x < 1 for x in v) and sum(v) < 1):
            where = f"model {self.name!r}" + (f", group {label!r}" if label is not None else "")
            raise ValueError(f"{where}: need weights w1, w2, ... > 0 with w1 + w2 + ... < 1, got {tuple(v)}")

    @property
    def J(self) -> int:
        return len(self.weights) - 1

    @property
    def weights(self) -> tuple[float, ...]:
        """The components' prior weights and, last, the non-exchangeable one."""
        w = self.component_weights or (float(self.weight1), float(self.weight2))
        return (*w, 1.0 - sum(w))

    @property
    def prior_weights(self) -> tuple[float, ...]:
        return self.weights[:-1]

    def unit_weights(self, labels: Sequence[str]) -> np.ndarray:
        """(groups, J): each group's component weights."""
        own = {r[0]: r[1:] for r in self.group_weights}
        return np.array([own.get(g, self.prior_weights) for g in labels], dtype=float).reshape(len(labels), self.J)

    def unit_hyperparameters(self, labels: Sequence[str]) -> dict[str, np.ndarray]:
        w, nex = self.unit_weights(labels), self.unit_nex(labels)
        return {**{f"weight{j + 1}": w[:, j] for j in range(self.J)}, "nex_0": nex[:, 0], "nex_1": nex[:, 1]}

    def free_parameters(self) -> list[str]:
        hyper = [name for j in range(self.J) for name in _names(j)]
        return [*hyper, "z", *(f"z{j + 1}" for j in range(1, self.J)), "u"]

    def engine_model(self, labels: Sequence[str] | None = None):
        from analysis.bayes import engine

        comps = tuple(engine.Component(self.priors[_names(j)[0]], self.priors[_names(j)[1]]) for j in range(self.J))
        w, nex = self._engine_weights_nex(labels)
        return engine.EngineModel(
            comps, weights=w, nex=nex, name=self.name, new_weights=self.prior_weights, new_nex=self.priors["nex"].params
        )

    def build(self, units: Units):
        import pymc as pm
        import pytensor.tensor as pt

        J = self.J
        components = ["ex1", *(f"ex{j + 1}" for j in range(1, J)), "nex"]
        with pm.Model(coords={"unit": list(units.labels), "component": components}) as model:
            y, n = self._counts(units)
            thetas = []
            for j in range(J):
                mu_name, tau_name = _names(j)
                mu, tau = self._prior_rv(mu_name), self._prior_rv(tau_name)
                z = pm.Normal("z" if j == 0 else f"z{j + 1}", 0.0, 1.0, dims="unit")
                name = "theta_ex" if j == 0 else f"theta_ex{j + 1}"
                thetas.append(pm.Deterministic(name, mu + tau * z, dims="unit"))
            u = pm.Normal("u", 0.0, 1.0, dims="unit")
            hyper = self.unit_hyperparameters(units.labels)
            loc, scale = (pm.Data(k, hyper[k], dims="unit") for k in ("nex_0", "nex_1"))
            thetas.append(pm.Deterministic("theta_nex", loc + scale * u, dims="unit"))
            w = [pm.Data(f"weight{j + 1}", hyper[f"weight{j + 1}"], dims="unit") for j in range(J)]
            logw = [pt.log(wj) for wj in w] + [pt.log1p(-sum(w))]
            terms = pt.stack(
                [lw + pm.logp(pm.Binomial.dist(n=n, logit_p=t), y) for lw, t in zip(logw, thetas)], axis=-1
            )
            total = pt.logsumexp(terms, axis=-1)
            pm.Potential("y", total.sum())
            pm.Deterministic("pi", pt.exp(terms - total[:, None]), dims=("unit", "component"))
        return model

    def _theta_names(self) -> list[str]:
        return ["theta_ex", *(f"theta_ex{j + 1}" for j in range(1, self.J)), "theta_nex"]

    def add_draws(self, idata, units: Units, rng: np.random.Generator) -> None:
        post = idata.posterior
        pi = post["pi"].values  # chain, draw, unit, component
        u = rng.random(pi.shape[:-1])[..., None]
        which = (u > np.cumsum(pi, axis=-1)).sum(-1)  # the component per chain, draw, unit
        which = np.minimum(which, pi.shape[-1] - 1)
        stacked = np.stack([post[name].values for name in self._theta_names()], -1)
        theta = np.take_along_axis(stacked, which[..., None], -1)[..., 0]
        post["p"] = xr.DataArray(expit(theta), dims=("chain", "draw", "unit"), coords=post["theta_ex"].coords)
        shape = post["mu"].shape
        comp = rng.choice(self.J + 1, size=shape, p=self.weights)
        loc, scale = self.priors["nex"].params
        ex = [post[_names(j)[0]].values + post[_names(j)[1]].values * rng.standard_normal(shape) for j in range(self.J)]
        new = np.select([comp == j for j in range(self.J)], ex, loc + scale * rng.standard_normal(shape))
        post["p_new"] = xr.DataArray(expit(new), dims=("chain", "draw"), coords=post["mu"].coords)

    def prior_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        ex = [
            self.priors[_names(j)[0]].rvs(size, rng)
            + self.priors[_names(j)[1]].rvs(size, rng) * rng.standard_normal(size)
            for j in range(self.J)
        ]
        nex = self.priors["nex"].rvs(size, rng)
        comp = rng.choice(self.J + 1, size=size, p=self.weights)
        return expit(np.select([comp == j for j in range(self.J)], ex, nex))
