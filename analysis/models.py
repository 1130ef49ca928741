"""What each Bayesian model *is*: its priors, declared in one table.

How PyMC builds a model lives in :mod:`analysis.fit`; this module only
declares.  A :class:`Prior` is a small value object with a readable repr and
equality, so that a model's priors can be printed, compared, hashed into the
provenance record and overridden from the command line (``--prior
tau=HalfNormal(0.5)``).

Default priors (logit scale unless stated):

- independent and pooled: ``p ~ Beta(1, 1)`` (uniform; conjugate).
- hierarchical: ``mu ~ Normal(0, 1.5)`` puts a roughly flat prior on the
  typical response rate (its implied 95% range is about 0.05 to 0.95);
  ``tau ~ HalfNormal(1)`` allows substantial between-disease heterogeneity
  (Neuenschwander et al. 2010 call a between-trial sd of 1 'substantial').
- EXNEX (Neuenschwander et al. 2016): the exchangeable part as above; a
  non-exchangeable ``Normal(0, 2)`` per disease, about one patient's worth
  of information on the rate at p = 0.5; prior probability of
  exchangeability ``w = 0.5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Prior:
    """A univariate prior: a distribution name and its parameters."""

    dist: str
    params: tuple[float, ...]

    _KNOWN = {"Normal": 2, "HalfNormal": 1, "Beta": 2}

    def __post_init__(self):
        if self.dist not in self._KNOWN:
            raise ValueError(f"unknown prior distribution {self.dist!r}; expected one of {list(self._KNOWN)}")
        if len(self.params) != self._KNOWN[self.dist]:
            raise ValueError(f"{self.dist} takes {self._KNOWN[self.dist]} parameter(s), got {self.params}")
        if self.dist in ("Normal", "HalfNormal") and self.params[-1] <= 0:
            raise ValueError(f"{self}: the scale must be > 0")
        if self.dist == "Beta" and min(self.params) <= 0:
            raise ValueError(f"{self}: both parameters must be > 0")

    def __repr__(self) -> str:
        return f"{self.dist}({', '.join(f'{p:g}' for p in self.params)})"

    __str__ = __repr__

    @classmethod
    def parse(cls, text: str) -> Prior:
        """``'HalfNormal(0.5)'`` -> ``Prior('HalfNormal', (0.5,))``."""
        m = re.fullmatch(r"\s*(\w+)\s*\(([^)]*)\)\s*", text)
        if not m:
            raise ValueError(f"cannot read prior {text!r}; expected e.g. 'Normal(0, 1.5)'")
        try:
            params = tuple(float(x) for x in m.group(2).split(","))
        except ValueError as err:
            raise ValueError(f"cannot read the parameters of prior {text!r}") from err
        return cls(m.group(1), params)

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        if self.dist == "Normal":
            return rng.normal(self.params[0], self.params[1], size)
        if self.dist == "HalfNormal":
            return np.abs(rng.normal(0.0, self.params[0], size))
        return rng.beta(*self.params, size)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        if self.dist == "Normal":
            return stats.norm.logpdf(x, *self.params)
        if self.dist == "HalfNormal":
            return stats.halfnorm.logpdf(x, scale=self.params[0])
        return stats.beta.logpdf(x, *self.params)


@dataclass(frozen=True)
class ModelSpec:
    """A model: its kind and named priors (and, for EXNEX, the weight)."""

    name: str
    kind: str  # "independent" | "pooled" | "hierarchical" | "exnex"
    priors: dict[str, Prior] = field(default_factory=dict)
    exnex_weight: float | None = None

    @property
    def method(self) -> str:
        return f"bayes-{self.kind}"

    def with_priors(self, **overrides: Prior) -> ModelSpec:
        unknown = set(overrides) - set(self.priors)
        if unknown:
            raise ValueError(f"model {self.name!r} has no parameter(s) {sorted(unknown)}; it has {sorted(self.priors)}")
        return replace(self, priors={**self.priors, **overrides})

    def describe(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "priors": {k: repr(v) for k, v in self.priors.items()}}
        if self.exnex_weight is not None:
            out["exnex_weight"] = self.exnex_weight
        return out


#: The default models, in the order of every table.
DEFAULT_MODELS: dict[str, ModelSpec] = {
    "independent": ModelSpec("independent", "independent", {"p": Prior("Beta", (1, 1))}),
    "pooled": ModelSpec("pooled", "pooled", {"p": Prior("Beta", (1, 1))}),
    "hierarchical": ModelSpec(
        "hierarchical", "hierarchical", {"mu": Prior("Normal", (0, 1.5)), "tau": Prior("HalfNormal", (1,))}
    ),
    "exnex": ModelSpec(
        "exnex",
        "exnex",
        {"mu": Prior("Normal", (0, 1.5)), "tau": Prior("HalfNormal", (1,)), "nex": Prior("Normal", (0, 2))},
        exnex_weight=0.5,
    ),
}
