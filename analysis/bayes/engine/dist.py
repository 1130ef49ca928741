"""Univariate priors of the engine: :class:`Dist` (a name and its parameters) and :func:`as_dist`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import stats

_NPARAMS = {
    "Normal": 2,
    "HalfNormal": 1,
    "HalfCauchy": 1,
    "HalfStudentT": 2,  # (nu, sigma)
    "Uniform": 2,  # (lower, upper); for tau the lower bound must be 0
    "LogNormal": 2,  # (mu, sigma) of log tau
}


@dataclass(frozen=True)
class Dist:
    """A univariate prior: a distribution name and its parameters (``Dist('HalfNormal', (1,))``)."""

    name: str
    params: tuple[float, ...]

    def __post_init__(self):
        if self.name not in _NPARAMS:
            raise ValueError(f"unknown distribution {self.name!r}; expected one of {list(_NPARAMS)}")
        object.__setattr__(self, "params", tuple(float(p) for p in self.params))
        if len(self.params) != _NPARAMS[self.name]:
            raise ValueError(f"{self.name} takes {_NPARAMS[self.name]} parameter(s), got {self.params}")
        if not all(math.isfinite(p) for p in self.params):
            raise ValueError(f"{self}: parameters must be finite")
        if self.name in ("Normal", "LogNormal", "HalfStudentT") and self.params[-1] <= 0:
            raise ValueError(f"{self}: the scale must be > 0")
        if self.name in ("HalfNormal", "HalfCauchy") and self.params[0] <= 0:
            raise ValueError(f"{self}: the scale must be > 0")
        if self.name == "HalfStudentT" and self.params[0] <= 0:
            raise ValueError(f"{self}: the degrees of freedom must be > 0")
        if self.name == "Uniform" and not self.params[0] < self.params[1]:
            raise ValueError(f"{self}: need lower < upper")

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{p:g}' for p in self.params)})"

    __str__ = __repr__

    @cached_property
    def frozen(self):
        p = self.params
        if self.name == "Normal":
            return stats.norm(p[0], p[1])
        if self.name == "HalfNormal":
            return stats.halfnorm(scale=p[0])
        if self.name == "HalfCauchy":
            return stats.halfcauchy(scale=p[0])
        if self.name == "HalfStudentT":
            return _HalfT(p[0], p[1])
        if self.name == "Uniform":
            return stats.uniform(p[0], p[1] - p[0])
        return stats.lognorm(s=p[1], scale=math.exp(p[0]))

    def logpdf(self, x):
        return self.frozen.logpdf(x)

    def cdf(self, x):
        return self.frozen.cdf(x)

    def sf(self, x):
        return self.frozen.sf(x)

    def ppf(self, q):
        return self.frozen.ppf(q)

    @property
    def is_positive(self) -> bool:
        return self.name != "Normal" and not (self.name == "Uniform" and self.params[0] < 0)


class _HalfT:
    """Half Student-t(nu, sigma) with the scipy frozen-distribution methods used here."""

    def __init__(self, nu: float, sigma: float):
        self._t = stats.t(nu, scale=sigma)

    def logpdf(self, x):
        x = np.asarray(x, float)
        return np.where(x >= 0, math.log(2) + self._t.logpdf(x), -np.inf)

    def cdf(self, x):
        return np.clip(2 * self._t.cdf(x) - 1, 0, 1)

    def sf(self, x):
        return 2 * self._t.sf(np.maximum(x, 0))

    def ppf(self, q):
        return self._t.ppf((np.asarray(q, float) + 1) / 2)


def as_dist(obj) -> Dist:
    """A :class:`Dist` from a Dist, a ``(name, params)`` pair, an object with ``.dist``/``.params``, or text."""
    if isinstance(obj, Dist):
        return obj
    if isinstance(obj, str):
        m = re.fullmatch(r"\s*(\w+)\s*\(([^)]*)\)\s*", obj)
        if not m:
            raise ValueError(f"cannot read distribution {obj!r}; expected e.g. 'HalfNormal(1)'")
        try:
            params = tuple(float(x) for x in m.group(2).split(","))
        except ValueError as err:
            raise ValueError(f"cannot read the parameters of {obj!r}") from err
        return Dist(m.group(1), params)
    if hasattr(obj, "dist") and hasattr(obj, "params"):
        return Dist(obj.dist, tuple(obj.params))
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and isinstance(obj[0], str):
        params = obj[1] if isinstance(obj[1], (tuple, list)) else (obj[1],)
        return Dist(obj[0], tuple(params))
    raise ValueError(f"cannot interpret {obj!r} as a distribution")
