"""Mixtures of multivariate normal densities (RBesT's ``mixmvnorm``): a prior on several parameters at
once, e.g. the intercept and slope of a MAP meta-regression.

A :class:`MvNormalMixture` is ``[(w, mean, cov), ...]`` with mean vectors of one dimension ``d`` and
symmetric positive-definite ``d x d`` covariances; ``sigma`` (optional) is the known sampling
covariance of one observation (RBesT's reference scale), so that the mean of ``n`` observations has
covariance ``sigma / n``.

- moments: ``E = sum_k w_k mu_k``, ``Cov = sum_k w_k (S_k + mu_k mu_k') - E E'``;
- posterior (RBesT's ``postmix`` for ``mvnormMix`` with known covariance): after a mean ``m`` with
  covariance ``V`` (``sigma / n``) each component becomes ``N(mu_k*, S_k*)`` with
  ``S_k* = (S_k^-1 + V^-1)^-1``, ``mu_k* = S_k* (S_k^-1 mu_k + V^-1 m)`` and weight proportional to
  ``w_k N(m; mu_k, S_k + V)``;
- as a PyMC prior: :func:`analysis.priors.pymc_prior.as_pymc`.

References
----------
RBesT ``R/mixmvnorm.R`` (``mixmvnorm``, ``summary.mvnormMix``), ``R/postmix.R``.
Bernardo & Smith (1994), Bayesian Theory, Section 5.2 (conjugate normal updating).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy import stats
from scipy.special import logsumexp


def _psd_check(cov: np.ndarray, what: str) -> np.ndarray:
    cov = np.asarray(cov, float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{what}: a covariance must be a square matrix, got shape {cov.shape}")
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{what}: the covariance has values that are not finite")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.max(np.abs(cov))))):
        raise ValueError(f"{what}: the covariance is not symmetric")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        ev = np.linalg.eigvalsh(cov)
        raise ValueError(
            f"{what}: the covariance is not positive definite (smallest eigenvalue {ev.min():.3g})"
        ) from None
    return (cov + cov.T) / 2


class MvNormalMixture:
    """A finite mixture of multivariate normal densities (RBesT's ``mixmvnorm``)."""

    family = "mvnormal"

    def __init__(self, components: Iterable, sigma=None):
        comps = list(components)
        if not comps:
            raise ValueError("components: a MvNormalMixture needs at least one (w, mean, cov) component")
        w, means, covs = [], [], []
        for i, c in enumerate(comps):
            if len(c) != 3:
                raise ValueError(f"components: component {i}: expected (w, mean, cov), got {len(c)} items")
            wi = float(c[0])
            if not (math.isfinite(wi) and wi > 0):
                raise ValueError(f"components: component {i}: the weight must be finite and > 0, got {c[0]!r}")
            mu = np.atleast_1d(np.asarray(c[1], float))
            if mu.ndim != 1 or not np.all(np.isfinite(mu)):
                raise ValueError(f"components: component {i}: the mean must be a finite vector, got {c[1]!r}")
            cov = _psd_check(c[2], f"components: component {i}")
            if cov.shape[0] != mu.size:
                raise ValueError(
                    f"components: component {i}: mean of dimension {mu.size} but covariance of {cov.shape[0]}"
                )
            w.append(wi)
            means.append(mu)
            covs.append(cov)
        if len({m.size for m in means}) != 1:
            raise ValueError(f"components: the means have different dimensions {[m.size for m in means]}")
        total = sum(w)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"components: the weights sum to {total:.8g}; expected 1")
        self._w = np.array(w) / total
        self._mu = np.array(means)
        self._cov = np.array(covs)
        self.sigma = None if sigma is None else _psd_check(sigma, "sigma")
        if self.sigma is not None and self.sigma.shape[0] != self.dim:
            raise ValueError(f"sigma: dimension {self.sigma.shape[0]}, expected {self.dim}")

    @classmethod
    def from_msr(cls, components: Iterable, sigma=None) -> MvNormalMixture:
        """From ``(w, mean, sd, corr)`` per component (RBesT's ``param = "msr"``): cov = D corr D."""
        out = []
        for i, (w, mean, sd, corr) in enumerate(components):
            sd = np.atleast_1d(np.asarray(sd, float))
            corr = np.asarray(corr, float)
            if np.any(sd <= 0) or not np.all(np.isfinite(sd)):
                raise ValueError(f"components: component {i}: standard deviations must be > 0, got {sd.tolist()}")
            if corr.shape != (sd.size, sd.size) or not np.allclose(np.diag(corr), 1):
                raise ValueError(f"components: component {i}: corr must be a {sd.size} x {sd.size} correlation matrix")
            out.append((w, mean, corr * np.outer(sd, sd)))
        return cls(out, sigma=sigma)

    # -- representation ----------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self._mu.shape[1])

    @property
    def weights(self) -> np.ndarray:
        return self._w.copy()

    @property
    def components(self) -> list[tuple[float, np.ndarray, np.ndarray]]:
        return [(float(w), m.copy(), c.copy()) for w, m, c in zip(self._w, self._mu, self._cov)]

    def __len__(self) -> int:
        return len(self._w)

    def __repr__(self) -> str:
        inner = ", ".join(f"({w:.4g}, {m.tolist()}, {c.tolist()})" for w, m, c in self.components)
        return f"MvNormalMixture([{inner}])"

    def to_dict(self) -> dict:
        return {
            "family": self.family,
            "components": [{"w": w, "mean": m.tolist(), "cov": c.tolist()} for w, m, c in self.components],
            "sigma": None if self.sigma is None else self.sigma.tolist(),
        }

    # -- summaries -------------------------------------------------------------------------------
    def mean(self) -> np.ndarray:
        return self._w @ self._mu

    def cov(self) -> np.ndarray:
        m = self.mean()
        second = np.einsum("k,kij->ij", self._w, self._cov + np.einsum("ki,kj->kij", self._mu, self._mu))
        return second - np.outer(m, m)

    def logpdf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        if x.shape[-1] != self.dim:
            raise ValueError(f"x: the last axis must have length {self.dim}, got shape {x.shape}")
        comp = np.stack([stats.multivariate_normal(m, c).logpdf(x) for m, c in zip(self._mu, self._cov)], axis=-1)
        return logsumexp(np.log(self._w) + comp, axis=-1)

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self), size=size, p=self._w)
        out = np.empty((size, self.dim))
        for j in range(len(self)):
            idx = k == j
            out[idx] = rng.multivariate_normal(self._mu[j], self._cov[j], size=int(idx.sum()))
        return out

    # -- conjugate update ----------------------------------------------------------------------------
    def posterior(self, mean, n: float | None = None, cov=None) -> MvNormalMixture:
        """The posterior after an observed mean vector of ``n`` observations (covariance ``sigma / n``)
        or with a given sampling covariance ``cov`` of the mean (RBesT's ``postmix``)."""
        if (n is None) == (cov is None):
            raise ValueError("give exactly one of n (with the reference covariance sigma) or cov")
        y = np.atleast_1d(np.asarray(mean, float))
        if y.shape != (self.dim,) or not np.all(np.isfinite(y)):
            raise ValueError(f"mean: expected a finite vector of length {self.dim}, got {mean!r}")
        if n is not None:
            if self.sigma is None:
                raise ValueError("n: this MvNormalMixture has no reference covariance sigma; pass cov=...")
            if not (math.isfinite(n) and n > 0):
                raise ValueError(f"n must be > 0, got {n!r}")
            V = self.sigma / float(n)
        else:
            V = _psd_check(cov, "cov")
            if V.shape[0] != self.dim:
                raise ValueError(f"cov: dimension {V.shape[0]}, expected {self.dim}")
        Vinv = np.linalg.inv(V)
        lw, mus, covs = [], [], []
        for w, mu, S in zip(self._w, self._mu, self._cov):
            Sinv = np.linalg.inv(S)
            post_cov = np.linalg.inv(Sinv + Vinv)
            post_cov = (post_cov + post_cov.T) / 2
            mus.append(post_cov @ (Sinv @ mu + Vinv @ y))
            covs.append(post_cov)
            lw.append(math.log(w) + stats.multivariate_normal(mu, S + V).logpdf(y))
        lw = np.array(lw)
        w = np.exp(lw - logsumexp(lw))
        w = w / w.sum()
        return MvNormalMixture(list(zip(w, mus, covs)), sigma=self.sigma)


def mixmvnorm(components: Iterable, sigma=None) -> MvNormalMixture:
    """A multivariate normal mixture ``[(w, mean, cov), ...]`` (RBesT's ``mixmvnorm``); see :class:`MvNormalMixture`."""
    return MvNormalMixture(components, sigma=sigma)
