"""What every Bayesian model declares: the base class of the model registry.

A model kind is one class in one file (after bambi's family registry and
RBesT's one verb per file).  The class declares, once:

- ``kind``, ``label`` (tables) and ``long_label`` (figure legends);
- ``parameters``: each prior-carrying parameter and the support its prior
  must have (``"real"``, ``"positive"`` or ``"unit"``), checked whenever a
  prior is set;
- ``default_priors``;
- ``closed_form``: whether the posterior is exact (conjugate) or sampled;
- ``pooling``: its place on the no-pooling (0) to complete-pooling axis,
  which orders the shrinkage figure;

and implements how it is built in PyMC (:meth:`build`), its free parameters,
its prior predictive draws of one group's rate, and how its posterior draws
of each group's rate (``p``) and of a new group's rate (``p_new``) are made.
Closed-form models implement :meth:`exact` instead of :meth:`build`.

A model *instance* is a value: its name, its priors and any setting (the EXNEX
weight).  ``describe()`` is what the provenance records and the fit cache
keys on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

import numpy as np

from analysis.bayes.prior import SUPPORT_NAMES, Prior, accepted
from analysis.bayes.units import Units


class PriorError(ValueError):
    """A prior does not fit the parameter it is set on."""


@dataclass(frozen=True)
class Model:
    """A Bayesian model of binomial units; subclasses are the registry's entries."""

    name: str = ""
    priors: dict[str, Prior] = field(default_factory=dict)

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    long_label: ClassVar[str] = ""
    parameters: ClassVar[dict[str, str]] = {}
    default_priors: ClassVar[dict[str, Prior]] = {}
    closed_form: ClassVar[bool] = False
    pooling: ClassVar[float] = 0.5
    #: whether the model defines the rate of a new, exchangeable group
    predicts_new_group: ClassVar[bool] = False
    #: part of the paper's model set (DEFAULT_MODELS); any registered model can be fitted from the CLI
    in_paper: ClassVar[bool] = True

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", self.kind)
        object.__setattr__(self, "priors", {**self.default_priors, **dict(self.priors)})
        for key, prior in self.priors.items():
            self._check_prior(key, prior)

    def _check_prior(self, key: str, prior: Prior) -> None:
        if key not in self.parameters:
            raise PriorError(f"model {self.name!r} has no parameter {key!r}; it has {sorted(self.parameters)}")
        need = self.parameters[key]
        if not isinstance(prior, Prior):
            raise PriorError(f"model {self.name!r}, parameter {key!r}: expected a Prior, got {prior!r}")
        if prior.support != need:
            raise PriorError(
                f"model {self.name!r}, parameter {key!r}: {prior} has support {SUPPORT_NAMES[prior.support]}, "
                f"but {key} needs a prior on {SUPPORT_NAMES[need]}; use one of {accepted(need)}"
            )

    # -- values ---------------------------------------------------------------
    @property
    def method(self) -> str:
        """The results contract's method label (``bayes-<kind>``)."""
        return f"bayes-{self.kind}"

    def settings(self) -> dict:
        """Settings other than the priors (for example the EXNEX weight)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("name", "priors")}

    def with_priors(self, **overrides: Prior) -> Model:
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise PriorError(
                f"model {self.name!r} has no parameter(s) {sorted(unknown)}; it has {sorted(self.parameters)}"
            )
        return replace(self, priors={**self.priors, **overrides})

    def with_settings(self, **settings) -> Model:
        return replace(self, **settings)

    def describe(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "priors": {k: repr(v) for k, v in self.priors.items()}}
        out.update({k: v for k, v in self.settings().items() if v is not None and v != ()})
        return out

    # -- the compiled sampler: numbers as data -----------------------------------
    def hyperparameters(self) -> dict[str, float]:
        """Every number of the priors and settings that the PyMC graph takes as data (``pm.Data``), by name.

        ``<parameter>_<i>`` is the i-th parameter of that parameter's prior; subclasses add settings (the
        EXNEX weight).  Two instances that differ only here share one compiled sampler
        (:mod:`analysis.bayes.sampling`).
        """
        return {f"{key}_{i}": float(v) for key, prior in self.priors.items() for i, v in enumerate(prior.params)}

    def unit_hyperparameters(self, labels) -> dict[str, np.ndarray]:
        """Per-group numbers the graph takes as data (one value per unit, for example EXNEX weights by group)."""
        return {}

    def groups_named(self) -> set[str]:
        """The group labels that per-group settings name (checked against the data before fitting)."""
        return set()

    def structure(self) -> tuple:
        """What the compiled graph depends on besides the number of units: the kind and each prior's family."""
        return (self.kind, tuple(sorted((k, p.dist) for k, p in self.priors.items())))

    def _prior_rv(self, key: str, **kw):
        """The prior of ``key`` as a PyMC variable whose parameters are ``pm.Data`` named ``<key>_<i>``."""
        import pymc as pm

        prior = self.priors[key]
        return prior.pymc(key, params=[pm.Data(f"{key}_{i}", float(v)) for i, v in enumerate(prior.params)], **kw)

    @staticmethod
    def _counts(units: Units):
        """The data as ``pm.Data`` (``events``, ``trials``), so that one compiled graph serves any data of its shape."""
        import pymc as pm

        return (
            pm.Data("events", np.asarray(units.events, dtype="int64"), dims="unit"),
            pm.Data("trials", np.asarray(units.n, dtype="int64"), dims="unit"),
        )

    # -- what subclasses implement -----------------------------------------------
    def free_parameters(self) -> list[str]:
        """The sampled parameters whose diagnostics are gated."""
        return []

    def build(self, units: Units):
        """The PyMC model for ``units`` (MCMC models); hyperparameters and counts enter as ``pm.Data``
        (:meth:`hyperparameters`, :meth:`_counts`)."""
        raise NotImplementedError(f"model {self.name!r} ({self.kind}) has a closed form and is not sampled")

    def add_draws(self, idata, units: Units, rng: np.random.Generator) -> None:
        """Add ``p`` (chain, draw, unit) and, where defined, ``p_new`` to ``idata.posterior``."""
        raise NotImplementedError

    def exact(self, units: Units, level: float) -> dict[str, dict] | None:
        """Exact posterior summaries per unit (closed-form models), else ``None``."""
        return None

    def engine_model(self, labels=None):
        """The model for the deterministic posterior engine (:mod:`analysis.bayes.engine`), or ``None``.

        ``labels``: the groups, in data order, for models with per-group settings."""
        return None

    def exact_draws(self, exact: dict[str, dict], units: Units, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws (size, unit) from the exact Beta posteriors of a closed-form model, for plots."""
        return np.stack([rng.beta(exact[g]["a"], exact[g]["b"], size) for g in units.labels], axis=-1)

    def prior_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws of one group's response probability implied by the priors."""
        raise NotImplementedError
