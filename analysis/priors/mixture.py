"""Beta mixture densities: the currency of MAP priors (RBesT's ``mixbeta``).

``BetaMixture([(w, a, b), ...])`` is a prior for a response rate.  It has
the usual summaries, the conjugate update (``posterior``), robustification
(``robustify``) and effective sample sizes (``ess``); the MAP, design and
operating-characteristics functions of :mod:`analysis.priors` take it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy import optimize, stats
from scipy.special import betaln, gammaln, logsumexp


class BetaMixture:
    """A finite mixture of Beta densities.

    Parameters
    ----------
    components
        ``(weight, a, b)`` triples.  Weights must be positive and sum to 1
        (within 1e-6; they are then renormalised exactly).
    """

    def __init__(self, components: Iterable[tuple[float, float, float]]):
        comps = [tuple(float(v) for v in c) for c in components]
        if not comps:
            raise ValueError("a BetaMixture needs at least one (w, a, b) component")
        for i, c in enumerate(comps):
            if len(c) != 3:
                raise ValueError(f"component {i}: expected (w, a, b), got {c}")
            w, a, b = c
            if not (w > 0 and a > 0 and b > 0) or not all(math.isfinite(v) for v in c):
                raise ValueError(f"component {i}: need w > 0, a > 0, b > 0, got (w={w}, a={a}, b={b})")
        total = sum(c[0] for c in comps)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"weights sum to {total:.8g}; expected 1")
        self._w = np.array([c[0] for c in comps]) / total
        self._a = np.array([c[1] for c in comps])
        self._b = np.array([c[2] for c in comps])

    # -- representation -------------------------------------------------
    @property
    def components(self) -> list[tuple[float, float, float]]:
        return [(float(w), float(a), float(b)) for w, a, b in zip(self._w, self._a, self._b)]

    @property
    def weights(self) -> np.ndarray:
        return self._w.copy()

    def __len__(self) -> int:
        return len(self._w)

    def __repr__(self) -> str:
        inner = ", ".join(f"({w:.4g}, {a:.4g}, {b:.4g})" for w, a, b in self.components)
        return f"BetaMixture([{inner}])"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BetaMixture)
            and len(self) == len(other)
            and np.allclose(np.c_[self._w, self._a, self._b], np.c_[other._w, other._a, other._b], rtol=1e-12, atol=0)
        )

    def __hash__(self) -> int:
        return hash(tuple(np.round(np.c_[self._w, self._a, self._b], 12).ravel()))

    def to_dict(self) -> dict:
        return {"components": [{"w": w, "a": a, "b": b} for w, a, b in self.components]}

    @classmethod
    def from_dict(cls, d: dict) -> BetaMixture:
        return cls([(c["w"], c["a"], c["b"]) for c in d["components"]])

    @classmethod
    def from_draws(cls, draws, max_components: int = 4, criterion: str = "aic") -> BetaMixture:
        """Fit a mixture to draws by EM, choosing 1..max_components by AIC or BIC (RBesT's ``automixfit``)."""
        from analysis.priors.mixfit import automixfit

        return automixfit(draws, max_components, criterion)[0]

    # -- summaries ---------------------------------------------------------
    def mean(self) -> float:
        return float(np.sum(self._w * self._a / (self._a + self._b)))

    def var(self) -> float:
        m = self._a / (self._a + self._b)
        v = self._a * self._b / ((self._a + self._b) ** 2 * (self._a + self._b + 1))
        return float(np.sum(self._w * (v + m**2)) - self.mean() ** 2)

    def sd(self) -> float:
        return math.sqrt(self.var())

    def pdf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return np.sum(self._w * stats.beta.pdf(x[..., None], self._a, self._b), axis=-1)

    def logpdf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return logsumexp(np.log(self._w) + stats.beta.logpdf(x[..., None], self._a, self._b), axis=-1)

    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return np.sum(self._w * stats.beta.cdf(x[..., None], self._a, self._b), axis=-1)

    def sf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return np.sum(self._w * stats.beta.sf(x[..., None], self._a, self._b), axis=-1)

    def quantile(self, q):
        """Inverse CDF by root finding (exact to ~1e-12)."""
        qs = np.atleast_1d(np.asarray(q, float))
        if np.any((qs < 0) | (qs > 1)):
            raise ValueError(f"quantile levels must be in [0, 1], got {q}")
        out = []
        for qi in qs:
            if qi in (0.0, 1.0):
                out.append(qi)
                continue
            out.append(optimize.brentq(lambda x, qi=qi: float(self.cdf(x)) - qi, 0.0, 1.0, xtol=1e-14, rtol=1e-14))
        out = np.array(out)
        return float(out[0]) if np.ndim(q) == 0 else out

    def mode(self) -> float:
        """The highest-density point (numerically; on the boundary when the density is unbounded there)."""
        grid = np.linspace(1e-6, 1 - 1e-6, 4001)
        x0 = grid[np.argmax(self.logpdf(grid))]
        lo, hi = max(1e-9, x0 - 1 / 4000), min(1 - 1e-9, x0 + 1 / 4000)
        res = optimize.minimize_scalar(
            lambda x: -float(self.logpdf(x)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
        )
        return float(res.x)

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self), size=size, p=self._w)
        return rng.beta(self._a[k], self._b[k])

    # -- operations ---------------------------------------------------------
    def log_marginal(self, events, n) -> np.ndarray:
        """log P(events | n) under the prior, per component (beta-binomial), shape (..., K)."""
        y = np.asarray(events, float)[..., None]
        n = np.asarray(n, float)[..., None]
        log_choose = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
        return log_choose + betaln(self._a + y, self._b + n - y) - betaln(self._a, self._b)

    def predictive_pmf(self, n: int) -> np.ndarray:
        """Prior predictive probabilities of 0..n responders out of n."""
        y = np.arange(n + 1)
        return np.exp(logsumexp(np.log(self._w) + self.log_marginal(y, n), axis=-1))

    def posterior(self, events: int, n: int) -> BetaMixture:
        """Conjugate update: components Beta(a + r, b + n - r), weights by marginal likelihood."""
        if not (0 <= events <= n) or int(events) != events or int(n) != n:
            raise ValueError(f"need whole numbers 0 <= events <= n, got events={events}, n={n}")
        lw = np.log(self._w) + self.log_marginal(events, n)
        w = np.exp(lw - logsumexp(lw))
        return BetaMixture(list(zip(w, self._a + events, self._b + n - events)))

    def robustify(self, weight: float, mean: float = 0.5, n: float = 1) -> BetaMixture:
        """Add a vague component of mean ``mean`` and prior sample size ``n + 1`` with weight ``weight``.

        With the defaults the robust component is Beta(1, 1); the informative
        weights are scaled by ``1 - weight`` (Schmidli et al. 2014).
        """
        if not 0 < weight < 1:
            raise ValueError(f"robust weight must be in (0, 1), got {weight}")
        if not 0 < mean < 1 or n <= 0:
            raise ValueError(f"robust component needs 0 < mean < 1 and n > 0, got mean={mean}, n={n}")
        informative = [((1 - weight) * w, a, b) for w, a, b in self.components]
        return BetaMixture([*informative, (weight, mean * (n + 1), (1 - mean) * (n + 1))])

    def ess(self, method: str = "elir") -> float:
        """Effective sample size by ``'moment'``, ``'morita'`` or ``'elir'`` (see :mod:`analysis.priors.ess`)."""
        from analysis.priors.ess import ess

        return ess(self, method)
