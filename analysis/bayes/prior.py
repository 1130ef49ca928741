"""One distribution type: :class:`Prior`, a family name and its parameters, and the family registry.

A :class:`Prior` is a value object with a readable repr and equality (after
bambi), so that a model's priors can be printed, compared, hashed into the
provenance record and overridden from the command line
(``--prior tau=HalfNormal(0.5)``).  Every place that reads a distribution
reads it here, with one spelling (:meth:`Prior.parse`): a model's priors, the
CLI's ``--prior`` and ``--nex-prior``, a basket design file, a MAP prior's
hyperpriors and the deterministic engine (:mod:`analysis.bayes.engine`, whose
``Dist`` and ``as_dist`` are :class:`Prior` and :func:`as_prior`).  So a
spelling accepted in one place is accepted in all, and refused in all with the
same message.

Each family is a :class:`Family` in :data:`FAMILIES`: its parameter names,
its support (``"real"``, ``"positive"`` or ``"unit"``), the checks on its
parameters, and its conversions (scipy frozen distribution, PyMC random
variable, NumPy draws).  A new family is one :class:`Family` plus one
:func:`register_family` call.  Each model parameter declares the support it
needs (a logit location is real, a scale positive, a conjugate rate in (0, 1)),
and :meth:`analysis.bayes.models.Model.with_priors` refuses a prior whose
support does not match, naming model, parameter and the families it accepts.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import stats
from scipy.special import gammaln

SUPPORT_NAMES = {"real": "the real line", "positive": "positive values", "unit": "(0, 1)"}

#: the one spelling of a distribution: ``Name(p1, p2, ...)``
SPELLING = re.compile(r"\s*(\w+)\s*\(([^)]*)\)\s*")
#: the largest parameter of a Beta prior: a prior worth a million patients, the data files' largest count
#: (Beta(1e308, 1e308) overflowed to NaN estimates and tracebacks)
MAX_BETA = 1_000_000


@dataclass(frozen=True)
class Family:
    """A distribution family: what a :class:`Prior` of this name is and how it converts.

    Parameters
    ----------
    name : str
        The spelling in ``Name(...)``.
    params : tuple of str
        Parameter names, in order (PyMC's keyword names).
    support : str or callable
        ``"real"``, ``"positive"`` or ``"unit"``, or a function of the parameters returning one.
    check : callable
        ``check(params) -> str | None``: what is wrong with the (finite) parameters, or ``None``.
    scipy : callable
        ``scipy(params)``: a frozen distribution with ``logpdf``, ``cdf``, ``sf``, ``ppf``, ``mean``, ``std``.
    pymc : callable
        ``pymc(name, params, **kw)``: the PyMC random variable in the current model context.
    rvs : callable
        ``rvs(params, size, rng)``: independent draws from a NumPy generator.
    supports : tuple of str
        The supports the family can have (listed in messages); defaults to ``(support,)``.
    """

    name: str
    params: tuple[str, ...]
    support: str | Callable[[tuple[float, ...]], str]
    check: Callable[[tuple[float, ...]], str | None]
    scipy: Callable[[tuple[float, ...]], object]
    pymc: Callable[..., object]
    rvs: Callable[[tuple[float, ...], int, np.random.Generator], np.ndarray]
    supports: tuple[str, ...] = ()

    def support_of(self, params: tuple[float, ...]) -> str:
        return self.support(params) if callable(self.support) else self.support

    def can_have(self, support: str) -> bool:
        return support in (self.supports or (self.support,))


#: family name -> :class:`Family`, in the order of messages
FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add a distribution family; a :class:`Prior` of its name is then accepted everywhere.

    Parameters
    ----------
    family : Family
        Its name (an identifier, spelled ``Name(...)``), parameters, support, checks and conversions.

    Returns
    -------
    Family
        The family, registered (so that the call can stand as the one registration line).
    """
    if not family.name.isidentifier():
        raise ValueError(f"family name {family.name!r} must be an identifier (it is spelled Name(...))")
    FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> None:
    FAMILIES.pop(name, None)


def accepted(support: str) -> list[str]:
    """The families that can have this support."""
    return [name for name, f in FAMILIES.items() if f.can_have(support)]


def _scale(i: int, what: str = "the scale") -> Callable[[tuple[float, ...]], str | None]:
    return lambda p: None if p[i] > 0 else f"{what} must be > 0"


class _HalfT:
    """Half Student-t(nu, sigma): the scipy frozen-distribution methods (scipy has no half-t)."""

    def __init__(self, nu: float, sigma: float):
        self.nu, self.sigma = nu, sigma
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

    def mean(self) -> float:
        """``2 sigma sqrt(nu / pi) Gamma((nu + 1) / 2) / (Gamma(nu / 2) (nu - 1))`` for ``nu > 1``."""
        nu = self.nu
        if nu <= 1:
            return math.inf
        return float(
            2 * self.sigma * math.sqrt(nu / math.pi) * math.exp(gammaln((nu + 1) / 2) - gammaln(nu / 2)) / (nu - 1)
        )

    def std(self) -> float:
        """From ``E[X^2] = sigma^2 nu / (nu - 2)`` for ``nu > 2``."""
        if self.nu <= 2:
            return math.inf
        return math.sqrt(self.sigma**2 * self.nu / (self.nu - 2) - self.mean() ** 2)


def _pm(name: str, **keys: str):
    """A PyMC constructor ``pm.<name>(rv, <key>=params[i], ...)`` in the order of ``keys``."""

    def make(rv: str, params, **kw):
        import pymc as pm

        return getattr(pm, name)(rv, **{k: params[i] for i, k in enumerate(keys.values())}, **kw)

    return make


for _family in (
    Family(
        "Normal",
        ("mu", "sigma"),
        "real",
        _scale(1),
        lambda p: stats.norm(p[0], p[1]),
        _pm("Normal", mu="mu", sigma="sigma"),
        lambda p, size, rng: rng.normal(p[0], p[1], size),
    ),
    Family(
        "HalfNormal",
        ("sigma",),
        "positive",
        _scale(0),
        lambda p: stats.halfnorm(scale=p[0]),
        _pm("HalfNormal", sigma="sigma"),
        lambda p, size, rng: np.abs(rng.normal(0.0, p[0], size)),
    ),
    Family(
        "HalfCauchy",
        ("beta",),
        "positive",
        _scale(0),
        lambda p: stats.halfcauchy(scale=p[0]),
        _pm("HalfCauchy", beta="beta"),
        lambda p, size, rng: np.abs(p[0] * rng.standard_cauchy(size)),
    ),
    Family(
        "HalfStudentT",
        ("nu", "sigma"),
        "positive",
        lambda p: "the degrees of freedom must be > 0" if p[0] <= 0 else _scale(1)(p),
        lambda p: _HalfT(p[0], p[1]),
        _pm("HalfStudentT", nu="nu", sigma="sigma"),
        lambda p, size, rng: np.abs(p[1] * rng.standard_t(p[0], size)),
    ),
    Family(
        "Uniform",
        ("lower", "upper"),
        lambda p: "positive" if p[0] >= 0 else "real",
        lambda p: None if p[0] < p[1] else "need lower < upper",
        lambda p: stats.uniform(p[0], p[1] - p[0]),
        _pm("Uniform", lower="lower", upper="upper"),
        lambda p, size, rng: rng.uniform(p[0], p[1], size),
        supports=("real", "positive"),
    ),
    Family(
        "LogNormal",
        ("mu", "sigma"),
        "positive",
        _scale(1),
        lambda p: stats.lognorm(s=p[1], scale=math.exp(p[0])),
        _pm("LogNormal", mu="mu", sigma="sigma"),
        lambda p, size, rng: rng.lognormal(p[0], p[1], size),
    ),
    Family(
        "Beta",
        ("alpha", "beta"),
        "unit",
        lambda p: (
            "both parameters must be > 0"
            if not min(p) > 0
            else None
            if max(p) <= MAX_BETA
            else f"both parameters must be at most {MAX_BETA:,} (a prior worth a million patients)"
        ),
        lambda p: stats.beta(p[0], p[1]),
        _pm("Beta", alpha="alpha", beta="beta"),
        lambda p, size, rng: rng.beta(p[0], p[1], size),
    ),
):
    register_family(_family)


@dataclass(frozen=True)
class Prior:
    """A univariate distribution: a family name and its parameters (``Prior('HalfNormal', (1,))``).

    Parameters
    ----------
    dist : str
        A family of :data:`FAMILIES` (``Normal``, ``HalfNormal``, ``HalfCauchy``, ``HalfStudentT``,
        ``Uniform``, ``LogNormal``, ``Beta``, and any registered with :func:`register_family`).
    params : tuple of float
        Its parameters in the family's order, finite (stored as floats).

    Raises
    ------
    ValueError
        An unknown family (the message lists the known ones), a wrong number of parameters, a parameter
        that is not a finite number, or one outside the family's range.
    """

    dist: str
    params: tuple[float, ...]

    def __post_init__(self):
        family = FAMILIES.get(self.dist)
        if family is None:
            raise ValueError(f"unknown prior distribution {self.dist!r}; expected one of {list(FAMILIES)}")
        params = tuple(self.params) if isinstance(self.params, tuple | list) else (self.params,)
        if len(params) != len(family.params):
            raise ValueError(f"{self.dist} takes {len(family.params)} parameter(s), got {self.params}")
        if not all(isinstance(p, numbers.Real) and not isinstance(p, bool) and math.isfinite(p) for p in params):
            raise ValueError(f"{self.dist}{params}: parameters must be finite numbers")
        object.__setattr__(self, "params", tuple(float(p) for p in params))
        problem = family.check(self.params)
        if problem:
            raise ValueError(f"{self}: {problem}")

    def __repr__(self) -> str:
        return f"{self.dist}({', '.join(f'{p:g}' for p in self.params)})"

    __str__ = __repr__

    # -- reading ----------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> Prior:
        """``'HalfNormal(0.5)'`` -> ``Prior('HalfNormal', (0.5,))``: the one spelling of every distribution."""
        m = SPELLING.fullmatch(text)
        if not m:
            raise ValueError(f"cannot read prior {text!r}; expected e.g. 'Normal(0, 1.5)'")
        try:
            params = tuple(float(x) for x in m.group(2).split(","))
        except ValueError as err:
            raise ValueError(f"cannot read the parameters of prior {text!r}") from err
        return cls(m.group(1), params)

    # -- what it is ---------------------------------------------------------------
    @property
    def name(self) -> str:
        """The family name (the engine's spelling of :attr:`dist`)."""
        return self.dist

    @property
    def family(self) -> Family:
        return FAMILIES[self.dist]

    @property
    def support(self) -> str:
        return self.family.support_of(self.params)

    @property
    def is_positive(self) -> bool:
        """Whether the support lies in ``(0, inf)`` (a scale such as ``tau`` may take this prior)."""
        return self.support in ("positive", "unit")

    # -- conversions --------------------------------------------------------------
    @cached_property
    def frozen(self):
        """The scipy frozen distribution (``logpdf``, ``cdf``, ``sf``, ``ppf``, ``mean``, ``std``)."""
        return self.family.scipy(self.params)

    def logpdf(self, x):
        return self.frozen.logpdf(x)

    def cdf(self, x):
        return self.frozen.cdf(x)

    def sf(self, x):
        return self.frozen.sf(x)

    def ppf(self, q):
        return self.frozen.ppf(q)

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` independent draws from ``rng`` (the models' prior predictive)."""
        return self.family.rvs(self.params, size, rng)

    def pymc(self, name: str, params=None, **kw):
        """This prior as a PyMC random variable inside the current model context.

        ``params`` replaces the numbers by tensors of the same order (for example ``pm.Data``, so that one
        compiled graph serves other priors of the same family).
        """
        return self.family.pymc(name, self.params if params is None else params, **kw)


def as_prior(obj) -> Prior:
    """A :class:`Prior` from a Prior, its spelling (``'HalfNormal(1)'``), a ``(name, params)`` pair, or an object
    with ``.dist`` and ``.params``."""
    if isinstance(obj, Prior):
        return obj
    if isinstance(obj, str):
        return Prior.parse(obj)
    if isinstance(obj, tuple | list) and len(obj) == 2 and isinstance(obj[0], str):
        params = obj[1] if isinstance(obj[1], tuple | list) else (obj[1],)
        return Prior(obj[0], tuple(params))
    if hasattr(obj, "dist") and hasattr(obj, "params"):
        return Prior(obj.dist, tuple(obj.params))
    raise ValueError(f"cannot interpret {obj!r} as a distribution; expected e.g. 'HalfNormal(1)'")
