"""What the engine computes: exchangeable :class:`Component` s and the hierarchical or EXNEX :class:`Model`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.bayes.engine.dist import Dist, as_dist


@dataclass(frozen=True)
class Component:
    """An exchangeable component: ``theta ~ Normal(mu, tau)``, ``mu ~ Normal(m, s)``, ``tau ~`` a positive prior."""

    mu: Dist
    tau: Dist

    def __post_init__(self):
        object.__setattr__(self, "mu", as_dist(self.mu))
        object.__setattr__(self, "tau", as_dist(self.tau))
        if self.mu.name != "Normal":
            raise ValueError(f"mu prior must be Normal(m, s), got {self.mu}")
        if not self.tau.is_positive:
            raise ValueError(f"tau prior must be on tau > 0 (HalfNormal, HalfCauchy, ...), got {self.tau}")


@dataclass(frozen=True)
class Model:
    """Hierarchical (no ``nex``) or EXNEX model for K groups.

    ``weights``: exchangeability weights, a scalar (J = 1, all groups), a
    length-J sequence (all groups) or a K x J nested sequence; the rest of
    each group's probability goes to its non-exchangeable ``Normal(m, s)``
    (``nex``: one ``(m, s)`` pair for all groups or one per group).
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
    def hierarchical(cls, mu, tau, name: str = "hierarchical") -> Model:
        return cls((Component(mu, tau),), name=name)

    @classmethod
    def exnex(cls, mu, tau, nex, w=0.5, name: str = "exnex", **kw) -> Model:
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
        nex = tuple(self.group_nex(K)[0]) if self.new_nex is None else tuple(float(v) for v in self.new_nex)
        return w, nex
