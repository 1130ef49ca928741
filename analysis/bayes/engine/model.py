"""What the engine computes: exchangeable :class:`Component` s and the hierarchical or EXNEX :class:`EngineModel`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.bayes.prior import Prior, as_prior


@dataclass(frozen=True)
class Component:
    """An exchangeable component: ``theta ~ Normal(mu, tau)``, ``mu ~ Normal(m, s)``, ``tau ~`` a positive prior."""

    mu: Prior
    tau: Prior

    def __post_init__(self):
        object.__setattr__(self, "mu", as_prior(self.mu))
        object.__setattr__(self, "tau", as_prior(self.tau))
        if self.mu.name != "Normal":
            raise ValueError(f"mu prior must be Normal(m, s), got {self.mu}")
        if not self.tau.is_positive:
            raise ValueError(f"tau prior must be on tau > 0 (HalfNormal, HalfCauchy, ...), got {self.tau}")


@dataclass(frozen=True)
class EngineModel:
    """Hierarchical (no ``nex``) or EXNEX model for K groups.

    ``weights``: exchangeability weights, a scalar (J = 1, all groups), a
    length-J sequence (all groups) or a K x J nested sequence; the rest of
    each group's probability goes to its non-exchangeable ``Normal(m, s)``
    (``nex``: one prior for all groups or one per group, each a
    :class:`~analysis.bayes.prior.Prior`, its spelling ``"Normal(m, s)"`` or
    the pair ``(m, s)``, as ``mu`` and ``tau`` of a :class:`Component`;
    stored as ``(m, s)`` pairs).
    ``new_weights``: the weights of a new group (default: the mean of the
    groups' weights) and ``new_nex`` its non-exchangeable prior (default:
    the first group's).
    """

    components: tuple[Component, ...]
    weights: object = None
    nex: object = None
    new_weights: object = None
    new_nex: object = None
    name: str = "model"

    def __post_init__(self):
        comps = tuple(c if isinstance(c, Component) else Component(*c) for c in self.components)
        if len(comps) < 1:
            raise ValueError(f"{self.name}: need at least one exchangeable component")
        object.__setattr__(self, "components", comps)
        if self.nex is not None:
            object.__setattr__(self, "nex", _nex_priors(self.nex, f"{self.name}: nex"))
        if self.new_nex is not None:
            new = _nex_prior(self.new_nex, f"{self.name}: new_nex")
            if new is None:
                raise ValueError(f"{self.name}: new_nex must be one Normal(m, s), got {self.new_nex!r}")
            object.__setattr__(self, "new_nex", new)
        if self.nex is None and self.weights is not None:
            w = np.asarray(self.weights, float)
            totals = w if w.ndim == 0 else w.sum(-1)  # per group (K x J) or for all groups (J)
            if np.any(totals < 1 - 1e-12):
                raise ValueError(f"{self.name}: exchangeability weights summing below 1 need a non-exchangeable prior")
        if self.new_weights is not None:
            nw = np.atleast_1d(np.asarray(self.new_weights, float))
            if nw.shape != (len(comps),) or np.any(nw < 0) or nw.sum() > 1 + 1e-12:
                raise ValueError(
                    f"{self.name}: new_weights must have one weight >= 0 per component ({len(comps)}) summing to at "
                    f"most 1, got {nw.tolist()}"
                )

    @classmethod
    def hierarchical(cls, mu, tau, name: str = "hierarchical") -> EngineModel:
        return cls((Component(mu, tau),), name=name)

    @classmethod
    def exnex(cls, mu, tau, nex, w=0.5, name: str = "exnex", **kw) -> EngineModel:
        return cls((Component(mu, tau),), weights=w, nex=nex, name=name, **kw)

    @property
    def J(self) -> int:
        return len(self.components)

    @property
    def is_exnex(self) -> bool:
        return self.nex is not None

    def group_weights(self, K: int) -> np.ndarray:
        """K x J exchangeability weights."""
        if self.weights is None:
            if self.J != 1:
                raise ValueError(f"{self.name}: several components need explicit weights")
            return np.ones((K, 1))
        w = np.asarray(self.weights, float)
        if w.ndim == 0:
            w = np.full((K, self.J), float(w) / self.J)
        elif w.ndim == 1:
            if w.shape[0] != self.J:
                raise ValueError(f"{self.name}: weights {w.tolist()} should have one entry per component ({self.J})")
            w = np.tile(w, (K, 1))
        if w.shape != (K, self.J):
            raise ValueError(f"{self.name}: weights have shape {w.shape}; expected ({K}, {self.J})")
        if np.any(w < 0) or np.any(w.sum(1) > 1 + 1e-12):
            raise ValueError(f"{self.name}: weights must be >= 0 and sum to at most 1 per group")
        return w

    def group_nex(self, K: int) -> np.ndarray:
        """K x 2 non-exchangeable (m, s)."""
        if self.nex is None:
            return np.tile([0.0, 1.0], (K, 1))
        v = np.asarray(self.nex, float)
        if v.ndim == 1:
            v = np.tile(v, (K, 1))
        if v.shape != (K, 2) or np.any(v[:, 1] <= 0):
            raise ValueError(f"{self.name}: nex must be (m, s) with s > 0, or one such pair per group")
        return v

    def new_group(self, K: int) -> tuple[np.ndarray, tuple[float, float]]:
        w = (
            self.group_weights(K).mean(0)
            if self.new_weights is None
            else np.atleast_1d(np.asarray(self.new_weights, float))
        )
        nex = tuple(self.group_nex(K)[0]) if self.new_nex is None else self.new_nex
        return w, nex


def _nex_prior(v, what: str) -> tuple[float, float] | None:
    """``(m, s)`` of one non-exchangeable ``Normal(m, s)`` (a Prior, its spelling, ``("Normal", (m, s))`` or the
    pair itself); ``None`` when ``v`` is not one prior (a sequence of one per group)."""
    if isinstance(v, tuple | list) and len(v) == 2 and isinstance(v[0], str) and "(" not in v[0]:
        v = as_prior(v)
    if isinstance(v, str | Prior):
        p = as_prior(v)
        if p.dist != "Normal":
            raise ValueError(f"{what} must be Normal(m, s), got {p}")
        return p.params
    try:
        a = np.asarray(v, float)
    except (TypeError, ValueError):
        return None
    return (float(a[0]), float(a[1])) if a.shape == (2,) else None


def _nex_priors(v, what: str) -> tuple:
    """One ``(m, s)`` pair for every group, or a tuple of one pair per group (see :func:`_nex_prior`)."""
    one = _nex_prior(v, what)
    if one is not None:
        return one
    try:
        per_group = tuple(_nex_prior(x, what) for x in v)
    except TypeError as err:
        raise ValueError(f"{what}: expected Normal(m, s), (m, s), or one of these per group; got {v!r}") from err
    if not per_group or any(x is None for x in per_group):
        raise ValueError(f"{what}: expected Normal(m, s), (m, s), or one of these per group; got {v!r}")
    return per_group
