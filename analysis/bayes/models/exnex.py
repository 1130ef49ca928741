"""EXNEX (Neuenschwander et al. 2016): each group exchangeable with probability ``w``, else on its own.

Per group (Neuenschwander et al. 2016 give every stratum its own weight and
non-exchangeable prior): ``group_weights`` overrides ``exnex_weight`` and
``group_nex`` the ``nex`` prior for the groups it names, for example
``Exnex(group_weights={"SSc": 0.25}, group_nex={"SSc": (-1.4, 2)})``.  They
enter the compiled sampler as per-unit data, so they share its program.

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import expit

from analysis.bayes.models.hierarchical import Hierarchical
from analysis.bayes.prior import Prior
from analysis.bayes.units import Units


def per_group(name: str, items, width: int, check) -> tuple:
    """Per-group overrides as a sorted tuple of ``(label, value, ...)`` rows (from a mapping or rows); checked."""
    rows = items.items() if isinstance(items, dict) else items
    out = []
    for row in rows:
        label, *values = (row[0], *row[1]) if isinstance(row[1], (tuple, list)) else row
        if not isinstance(label, str) or not label or label != label.strip():
            raise ValueError(f"model {name!r}: group label {label!r} must be non-empty text without outer spaces")
        if len(values) != width:
            raise ValueError(f"model {name!r}, group {label!r}: expected {width} number(s), got {values!r}")
        values = tuple(float(v) for v in values)
        check(label, values)
        out.append((label, *values))
    labels = [r[0] for r in out]
    if len(set(labels)) != len(labels):
        raise ValueError(f"model {name!r}: groups named twice in the per-group settings: {labels}")
    return tuple(sorted(out))


def check_nex(name: str):
    def check(label, values):
        if not (np.isfinite(values).all() and values[1] > 0):
            raise ValueError(
                f"model {name!r}, group {label!r}: the NEX prior needs a finite mean and sd > 0, got {values}"
            )

    return check


class PerGroupNex:
    """What the EXNEX models share about per-group settings: the NEX prior per unit, the groups named, and the
    engine's weights and NEX priors (``prior_weights``: the components' prior weights of a group not named)."""

    def unit_nex(self, labels: Sequence[str]) -> np.ndarray:
        """Each group's NEX prior (m, s), one row per group."""
        own = {r[0]: r[1:] for r in self.group_nex}
        default = tuple(float(v) for v in self.priors["nex"].params)
        return np.array([own.get(g, default) for g in labels], dtype=float).reshape(len(labels), 2)

    def groups_named(self) -> set[str]:
        return {r[0] for r in (*self.group_weights, *self.group_nex)}

    def hyperparameters(self) -> dict[str, float]:
        """Scalars: the prior parameters of mu and tau (the weights and NEX priors are per unit)."""
        return {k: v for k, v in super().hyperparameters().items() if not k.startswith("nex_")}

    def _engine_weights_nex(self, labels: Sequence[str] | None):
        """The engine model's weights and NEX priors: per group (labels given) or the model's own."""
        if labels is None:
            if self.groups_named():
                raise ValueError(f"model {self.name!r} has per-group settings: give the groups' labels")
            return self.prior_weights, self.priors["nex"].params
        return np.asarray(self.unit_weights(labels), float).reshape(len(labels), -1), self.unit_nex(labels)


@dataclass(frozen=True)
class Exnex(PerGroupNex, Hierarchical):
    exnex_weight: float = 0.5
    #: (label, weight) rows (or a mapping): a group's own prior probability of exchangeability
    group_weights: tuple = ()
    #: (label, m, s) rows (or a mapping label -> (m, s)): a group's own NEX prior Normal(m, s)
    group_nex: tuple = ()

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

        def check_w(label, values):
            if not 0.0 < values[0] < 1.0:
                raise ValueError(
                    f"model {self.name!r}, group {label!r}: the EXNEX weight must be in (0, 1), got {values[0]}"
                )

        object.__setattr__(self, "group_weights", per_group(self.name, self.group_weights, 1, check_w))
        object.__setattr__(self, "group_nex", per_group(self.name, self.group_nex, 2, check_nex(self.name)))

    @property
    def prior_weights(self) -> tuple[float]:
        return (float(self.exnex_weight),)

    def unit_weights(self, labels: Sequence[str]) -> np.ndarray:
        """Each group's prior probability of exchangeability."""
        own = {r[0]: r[1] for r in self.group_weights}
        return np.array([own.get(g, float(self.exnex_weight)) for g in labels])

    def unit_hyperparameters(self, labels: Sequence[str]) -> dict[str, np.ndarray]:
        nex = self.unit_nex(labels)
        return {"exnex_weight": self.unit_weights(labels), "nex_0": nex[:, 0], "nex_1": nex[:, 1]}

    def free_parameters(self) -> list[str]:
        return ["mu", "tau", "z", "u"]

    def engine_model(self, labels: Sequence[str] | None = None):
        from analysis.bayes import engine

        w, nex = self._engine_weights_nex(labels)
        return engine.EngineModel.exnex(
            self.priors["mu"],
            self.priors["tau"],
            nex,
            w,
            name=self.name,
            new_weights=self.prior_weights,
            new_nex=self.priors["nex"].params,
        )

    def build(self, units: Units):
        import pymc as pm
        import pytensor.tensor as pt

        with pm.Model(coords={"unit": list(units.labels)}) as model:
            y, n = self._counts(units)
            _, _, theta_ex = self._exchangeable(units)
            hyper = self.unit_hyperparameters(units.labels)
            loc, scale = (pm.Data(k, hyper[k], dims="unit") for k in ("nex_0", "nex_1"))
            u = pm.Normal("u", 0.0, 1.0, dims="unit")
            theta_nex = pm.Deterministic("theta_nex", loc + scale * u, dims="unit")
            w = pm.Data("exnex_weight", hyper["exnex_weight"], dims="unit")
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
