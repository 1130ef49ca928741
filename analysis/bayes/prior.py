"""A prior as a value object, and the supports that model parameters accept.

A :class:`Prior` is a distribution name and its parameters, with a readable
repr and equality (after bambi), so that a model's priors can be printed,
compared, hashed into the provenance record and overridden from the command
line (``--prior tau=HalfNormal(0.5)``).  Each distribution declares its
support; each model parameter declares the support it needs (a logit location
is real, a scale positive, a conjugate rate in (0, 1)), and
:meth:`analysis.bayes.models.Model.with_priors` refuses a prior whose support
does not match, naming model, parameter and the distributions it accepts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: distribution -> (number of parameters, support)
DISTRIBUTIONS: dict[str, tuple[int, str]] = {
    "Normal": (2, "real"),
    "HalfNormal": (1, "positive"),
    "HalfCauchy": (1, "positive"),
    "Beta": (2, "unit"),
}
SUPPORT_NAMES = {"real": "the real line", "positive": "positive values", "unit": "(0, 1)"}


def accepted(support: str) -> list[str]:
    """The distributions with this support."""
    return [d for d, (_, s) in DISTRIBUTIONS.items() if s == support]


@dataclass(frozen=True)
class Prior:
    """A univariate prior: a distribution name and its parameters."""

    dist: str
    params: tuple[float, ...]

    def __post_init__(self):
        if self.dist not in DISTRIBUTIONS:
            raise ValueError(f"unknown prior distribution {self.dist!r}; expected one of {list(DISTRIBUTIONS)}")
        n_params = DISTRIBUTIONS[self.dist][0]
        if len(self.params) != n_params:
            raise ValueError(f"{self.dist} takes {n_params} parameter(s), got {self.params}")
        if not all(isinstance(p, int | float) and math.isfinite(p) for p in self.params):
            raise ValueError(f"{self.dist}{self.params}: parameters must be finite numbers")
        if self.dist in ("Normal", "HalfNormal", "HalfCauchy") and self.params[-1] <= 0:
            raise ValueError(f"{self}: the scale must be > 0")
        if self.dist == "Beta" and min(self.params) <= 0:
            raise ValueError(f"{self}: both parameters must be > 0")

    def __repr__(self) -> str:
        return f"{self.dist}({', '.join(f'{p:g}' for p in self.params)})"

    __str__ = __repr__

    @property
    def support(self) -> str:
        return DISTRIBUTIONS[self.dist][1]

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
        if self.dist == "HalfCauchy":
            return np.abs(self.params[0] * rng.standard_cauchy(size))
        return rng.beta(*self.params, size)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        if self.dist == "Normal":
            return stats.norm.logpdf(x, *self.params)
        if self.dist == "HalfNormal":
            return stats.halfnorm.logpdf(x, scale=self.params[0])
        if self.dist == "HalfCauchy":
            return stats.halfcauchy.logpdf(x, scale=self.params[0])
        return stats.beta.logpdf(x, *self.params)

    def pymc(self, name: str, params=None, **kw):
        """This prior as a PyMC random variable inside the current model context.

        ``params`` replaces the numbers by tensors of the same order (for example ``pm.Data``, so that one
        compiled graph serves other priors of the same family).
        """
        import pymc as pm

        p = self.params if params is None else params
        if self.dist == "Normal":
            return pm.Normal(name, mu=p[0], sigma=p[1], **kw)
        if self.dist == "HalfNormal":
            return pm.HalfNormal(name, sigma=p[0], **kw)
        if self.dist == "HalfCauchy":
            return pm.HalfCauchy(name, beta=p[0], **kw)
        return pm.Beta(name, alpha=p[0], beta=p[1], **kw)
