"""Mixtures of conjugate densities: the currency of MAP priors (RBesT's ``mixbeta``, ``mixnorm``, ``mixgamma``).

Three families share one base class, :class:`Mixture`:

- :class:`BetaMixture` ``[(w, a, b), ...]``: a response rate; binomial data (``r`` responders of ``n``).
- :class:`NormalMixture` ``[(w, m, s), ...]`` with reference scale ``sigma``: a mean of a continuous
  endpoint with known sampling standard deviation ``sigma``; data are a sample mean of ``n``
  observations (standard error ``sigma / sqrt(n)``).  As in RBesT, ``sigma`` is the unit of the ESS.
- :class:`GammaMixture` ``[(w, a, b), ...]`` (shape ``a``, rate ``b``) with ``likelihood`` ``'poisson'``
  (a rate of counts; data: the total count of ``n`` unit-exposure observations) or ``'exp'``
  (an exponential event rate; data: the total time of ``n`` events).

Each family knows its *statistic*, the sufficient summary of a trial with ``n`` units (responders,
sample mean, total count, total time), its sampling distribution given the parameter, and the
conjugate update from it.  The design functions (``decision1S``, ``oc1S``, ...) are written once
against these hooks.

This module imports nothing else from :mod:`analysis.priors` (the other modules import it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy import optimize, stats
from scipy.special import betaln, gammaln, logsumexp, xlogy

FAMILIES = ("beta", "normal", "gamma")


class Mixture:
    """A finite mixture of one conjugate family; weights are positive and sum to 1 (within 1e-6).

    Parameters
    ----------
    components : iterable of (float, float, float)
        ``(weight, p1, p2)`` per component, ``p1`` and ``p2`` the family's two parameters (:attr:`params`).

    References
    ----------
    Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors with the
    R Bayesian evidence synthesis tools. Journal of Statistical Software 100(19):1-32.
    """

    family: str = ""
    #: labels of the two component parameters, for messages and JSON
    params: tuple[str, str] = ("p1", "p2")
    #: the statistic is discrete (responders, counts) or continuous (mean, total time)
    discrete: bool = False
    #: the posterior increases stochastically with the statistic (False for exponential times)
    increasing: bool = True

    def __init__(self, components: Iterable[tuple[float, float, float]]):
        comps = [tuple(float(v) for v in c) for c in components]
        if not comps:
            raise ValueError(f"a {type(self).__name__} needs at least one (w, {', '.join(self.params)}) component")
        for i, c in enumerate(comps):
            if len(c) != 3:
                raise ValueError(f"component {i}: expected (w, {', '.join(self.params)}), got {c}")
            if not all(math.isfinite(v) for v in c) or not c[0] > 0:
                raise ValueError(f"component {i}: need a finite weight w > 0, got {c}")
            self._check_component(i, c[1], c[2])
        total = sum(c[0] for c in comps)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"weights sum to {total:.8g}; expected 1")
        w = np.array([c[0] for c in comps])
        # weights that sum to 1 up to rounding are kept as given (a robust weight of 0.2 stays 0.2)
        self._w = w if abs(total - 1) <= 8 * np.finfo(float).eps * len(comps) else w / total
        self._p1 = np.array([c[1] for c in comps])
        self._p2 = np.array([c[2] for c in comps])

    # -- family hooks (overridden) ----------------------------------------------------
    def _check_component(self, i: int, p1: float, p2: float) -> None:
        if not (p1 > 0 and p2 > 0):
            raise ValueError(f"component {i}: need {self.params[0]} > 0 and {self.params[1]} > 0, got ({p1}, {p2})")

    def _new(self, w, p1, p2) -> Mixture:
        """A mixture of the same family and settings (sigma, likelihood) with these components."""
        return type(self)(list(zip(w, p1, p2)))

    def _comp_mean_var(self, p1, p2):
        raise NotImplementedError

    def _comp_logpdf(self, x, p1, p2):
        raise NotImplementedError

    def _comp_cdf(self, x, p1, p2):
        raise NotImplementedError

    def _comp_sf(self, x, p1, p2):
        raise NotImplementedError

    def _comp_ppf(self, q, p1, p2):
        raise NotImplementedError

    def _comp_dlog(self, x, p1, p2):
        """First and second derivatives of each component's log density at x (for ESS)."""
        raise NotImplementedError

    support: tuple[float, float] = (-np.inf, np.inf)

    # -- representation -------------------------------------------------------------------
    @property
    def components(self) -> list[tuple[float, float, float]]:
        return [(float(w), float(a), float(b)) for w, a, b in zip(self._w, self._p1, self._p2)]

    @property
    def weights(self) -> np.ndarray:
        return self._w.copy()

    def __len__(self) -> int:
        return len(self._w)

    def _extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        inner = ", ".join(f"({w:.4g}, {a:.4g}, {b:.4g})" for w, a, b in self.components)
        return f"{type(self).__name__}([{inner}]{self._extra_repr()})"

    def _settings(self) -> tuple:
        return ()

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and len(self) == len(other)
            and self._settings() == other._settings()
            and np.allclose(
                np.c_[self._w, self._p1, self._p2], np.c_[other._w, other._p1, other._p2], rtol=1e-12, atol=0
            )
        )

    def __hash__(self) -> int:
        return hash(
            (type(self).__name__, self._settings(), tuple(np.round(np.c_[self._w, self._p1, self._p2], 12).ravel()))
        )

    def to_dict(self) -> dict:
        k1, k2 = self.params
        return {"family": self.family, "components": [{"w": w, k1: a, k2: b} for w, a, b in self.components]}

    @staticmethod
    def from_dict(d: dict) -> Mixture:
        """Inverse of :meth:`to_dict` for every family (a dict without ``family`` is a Beta mixture)."""
        fam = d.get("family", "beta")
        if fam == "beta":
            return BetaMixture([(c["w"], c["a"], c["b"]) for c in d["components"]])
        if fam == "normal":
            return NormalMixture([(c["w"], c["m"], c["s"]) for c in d["components"]], sigma=d.get("sigma"))
        if fam == "gamma":
            return GammaMixture(
                [(c["w"], c["a"], c["b"]) for c in d["components"]], likelihood=d.get("likelihood", "poisson")
            )
        raise ValueError(
            f"unknown mixture family {fam!r}; expected one of {list(FAMILIES)} (MvNormalMixture.from_dict reads "
            "'mvnormal')"
        )

    # -- summaries ----------------------------------------------------------------------------
    def mean(self) -> float:
        m, _ = self._comp_mean_var(self._p1, self._p2)
        return float(np.sum(self._w * m))

    def var(self) -> float:
        m, v = self._comp_mean_var(self._p1, self._p2)
        return float(np.sum(self._w * (v + m**2)) - self.mean() ** 2)

    def sd(self) -> float:
        return math.sqrt(self.var())

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def logpdf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        with np.errstate(divide="ignore"):
            return logsumexp(np.log(self._w) + self._comp_logpdf(x[..., None], self._p1, self._p2), axis=-1)

    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return np.sum(self._w * self._comp_cdf(x[..., None], self._p1, self._p2), axis=-1)

    def sf(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return np.sum(self._w * self._comp_sf(x[..., None], self._p1, self._p2), axis=-1)

    def quantile(self, q):
        """Inverse CDF by bracketed root finding (to ~1e-12 relative)."""
        qs = np.atleast_1d(np.asarray(q, float))
        if np.any((qs < 0) | (qs > 1)):
            raise ValueError(f"quantile levels must be in [0, 1], got {q}")
        out = []
        for qi in qs:
            if qi == 0.0 or qi == 1.0:
                out.append(self.support[0] if qi == 0 else self.support[1])
                continue
            cq = self._comp_ppf(qi, self._p1, self._p2)
            lo, hi = float(np.min(cq)), float(np.max(cq))
            if lo == hi or float(self.cdf(lo)) >= qi:  # rounding at the bracket ends
                out.append(lo)
                continue
            if float(self.cdf(hi)) <= qi:
                out.append(hi)
                continue
            out.append(optimize.brentq(lambda x, qi=qi: float(self.cdf(x)) - qi, lo, hi, xtol=1e-14, rtol=1e-13))
        out = np.array(out)
        return float(out[0]) if np.ndim(q) == 0 else out

    def mode(self) -> float:
        """The highest-density point (numerically; on the boundary when the density is unbounded there)."""
        lo, hi = self.quantile([1e-6, 1 - 1e-6])
        lo = max(lo, self.support[0] + 1e-9) if np.isfinite(self.support[0]) else lo
        hi = min(hi, self.support[1] - 1e-9) if np.isfinite(self.support[1]) else hi
        grid = np.linspace(lo, hi, 4001)
        i = int(np.argmax(self.logpdf(grid)))
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        res = optimize.minimize_scalar(
            lambda x: -float(self.logpdf(x)), bounds=(a, b), method="bounded", options={"xatol": 1e-12 * max(1, abs(b))}
        )
        return float(res.x)

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    # -- data model: the statistic of n units ---------------------------------------------------
    def stat_dist(self, theta, n):
        """The scipy distribution of the statistic of ``n`` units at parameter ``theta``."""
        raise NotImplementedError

    def _post_params(self, y, n):
        """Posterior (log weights unnormalised, p1, p2), vectorised over statistic values ``y`` (shape (..., K))."""
        raise NotImplementedError

    def posterior_stat(self, y, n) -> Mixture:
        """The posterior after observing statistic ``y`` from ``n`` units (RBesT's ``postmix``)."""
        lw, p1, p2 = self._post_params(np.asarray(y, float), n)
        w = np.exp(lw - logsumexp(lw, axis=-1, keepdims=True))
        return self._new(w, p1, p2)

    def post_cdf(self, x, y, n, **kw) -> np.ndarray:
        """P(theta <= x | statistic y) for an array of statistics ``y`` at once (shape of ``y``)."""
        lw, p1, p2 = self._post_params(np.asarray(y, float), n, **kw)
        w = np.exp(lw - logsumexp(lw, axis=-1, keepdims=True))
        return np.sum(w * self._comp_cdf(x, p1, p2), axis=-1)

    def post_sf(self, x, y, n, **kw) -> np.ndarray:
        """P(theta > x | statistic y), vectorised over ``y``."""
        lw, p1, p2 = self._post_params(np.asarray(y, float), n, **kw)
        w = np.exp(lw - logsumexp(lw, axis=-1, keepdims=True))
        return np.sum(w * self._comp_sf(x, p1, p2), axis=-1)

    # -- robustification --------------------------------------------------------------------------
    def _robust_component(self, mean: float, n: float) -> tuple[float, float]:
        raise NotImplementedError

    def robustify(self, weight: float, mean: float | None = None, n: float = 1) -> Mixture:
        """Add a vague component of mean ``mean`` worth ``n`` observations with weight ``weight`` (RBesT's
        ``robustify``); the informative weights are scaled by ``1 - weight`` (Schmidli et al. 2014).

        Beta: Beta(mean (n + 1), (1 - mean)(n + 1)), default mean 0.5, n = 1 (Beta(1, 1)); n = 0 gives
        Beta(0.5, 0.5).  Normal: N(mean, sigma / sqrt(n)), default the mixture mean and n = 1 (a unit-
        information prior).  Gamma: mean ``mean`` worth n = 1 observation (Poisson: Gamma(mean n, n);
        exponential: Gamma(n, n / mean)), default the mixture mean.
        """
        if not 0 < weight < 1:
            raise ValueError(f"robust weight must be in (0, 1), got {weight}")
        mean = self._default_robust_mean() if mean is None else float(mean)
        p1, p2 = self._robust_component(mean, float(n))
        w = np.r_[(1 - weight) * self._w, weight]
        return self._new(w, np.r_[self._p1, p1], np.r_[self._p2, p2])

    def _default_robust_mean(self) -> float:
        return self.mean()


# ------------------------------------------------------------------------------------------------
class BetaMixture(Mixture):
    """A finite mixture of Beta(a, b) densities for a response rate (RBesT's ``mixbeta``).

    Parameters
    ----------
    components : iterable of (float, float, float)
        ``(weight, a, b)`` per component, ``a, b > 0``.
    """

    family = "beta"
    params = ("a", "b")
    discrete = True
    support = (0.0, 1.0)

    def _comp_mean_var(self, a, b):
        m = a / (a + b)
        return m, a * b / ((a + b) ** 2 * (a + b + 1))

    def _comp_logpdf(self, x, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = xlogy(a - 1, x) + xlogy(b - 1, 1 - x) - betaln(a, b)
        return np.where((x < 0) | (x > 1), -np.inf, out)

    def _comp_cdf(self, x, a, b):
        return stats.beta.cdf(x, a, b)

    def _comp_sf(self, x, a, b):
        return stats.beta.sf(x, a, b)

    def _comp_ppf(self, q, a, b):
        return stats.beta.ppf(q, a, b)

    def _comp_dlog(self, x, a, b, omx=None):
        omx = 1 - x if omx is None else omx
        return (a - 1) / x - (b - 1) / omx, -(a - 1) / x**2 - (b - 1) / omx**2

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self), size=size, p=self._w)
        return rng.beta(self._p1[k], self._p2[k])

    # legacy accessors
    @property
    def _a(self):
        return self._p1

    @property
    def _b(self):
        return self._p2

    def stat_dist(self, theta, n):
        return stats.binom(int(n), theta)

    def log_marginal(self, events, n) -> np.ndarray:
        """log P(events | n) under the prior, per component (beta-binomial), shape (..., K)."""
        y = np.asarray(events, float)[..., None]
        n = np.asarray(n, float)[..., None]
        log_choose = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
        return log_choose + betaln(self._p1 + y, self._p2 + n - y) - betaln(self._p1, self._p2)

    def _post_params(self, y, n):
        yk = np.asarray(y, float)[..., None]
        lw = np.log(self._w) + betaln(self._p1 + yk, self._p2 + n - yk) - betaln(self._p1, self._p2)
        return lw, self._p1 + yk, self._p2 + n - yk

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
        return BetaMixture(list(zip(w, self._p1 + events, self._p2 + n - events)))

    def posterior_stat(self, y, n) -> BetaMixture:
        return self.posterior(int(y), int(n))

    def _default_robust_mean(self) -> float:
        return 0.5

    def _robust_component(self, mean: float, n: float) -> tuple[float, float]:
        if not 0 < mean < 1 or not n >= 0:
            raise ValueError(f"robust component needs 0 < mean < 1 and n >= 0, got mean={mean}, n={n}")
        return mean * (n + 1), (1 - mean) * (n + 1)


# ------------------------------------------------------------------------------------------------
class NormalMixture(Mixture):
    """A finite mixture of Normal(m, s) densities with reference scale ``sigma`` (RBesT's ``mixnorm``).

    ``sigma`` is the known sampling standard deviation of one observation; the data of ``n`` units are
    their mean, with standard error ``sigma / sqrt(n)``.  ``sigma`` may be omitted, but then it must be
    passed to the functions that need it (ESS, designs).

    Parameters
    ----------
    components : iterable of (float, float, float)
        ``(weight, m, s)`` per component, ``s > 0``.
    sigma : float, optional
        The reference scale: the sampling standard deviation of one observation.
    """

    family = "normal"
    params = ("m", "s")
    discrete = False

    def __init__(self, components, sigma: float | None = None):
        super().__init__(components)
        if sigma is not None and not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"reference scale sigma must be > 0, got {sigma}")
        self.sigma = None if sigma is None else float(sigma)

    def _check_component(self, i, m, s):
        if not s > 0:
            raise ValueError(f"component {i}: need s > 0, got ({m}, {s})")

    def _new(self, w, p1, p2):
        return NormalMixture(list(zip(w, p1, p2)), sigma=self.sigma)

    def with_sigma(self, sigma: float) -> NormalMixture:
        return NormalMixture(self.components, sigma=sigma)

    def _settings(self):
        return (self.sigma,)

    def _extra_repr(self):
        return f", sigma={self.sigma:g}" if self.sigma is not None else ""

    def to_dict(self) -> dict:
        return {**super().to_dict(), "sigma": self.sigma}

    def _sigma(self, sigma=None) -> float:
        s = self.sigma if sigma is None else sigma
        if s is None:
            raise ValueError("this NormalMixture has no reference scale sigma; pass sigma=...")
        return float(s)

    def _comp_mean_var(self, m, s):
        return m, s**2

    def _comp_logpdf(self, x, m, s):
        return stats.norm.logpdf(x, m, s)

    def _comp_cdf(self, x, m, s):
        return stats.norm.cdf(x, m, s)

    def _comp_sf(self, x, m, s):
        return stats.norm.sf(x, m, s)

    def _comp_ppf(self, q, m, s):
        return stats.norm.ppf(q, m, s)

    def _comp_dlog(self, x, m, s, omx=None):
        return -(x - m) / s**2, np.broadcast_to(-1 / s**2, np.broadcast_shapes(np.shape(x), np.shape(s)))

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self), size=size, p=self._w)
        return rng.normal(self._p1[k], self._p2[k])

    def stat_dist(self, theta, n, sigma=None):
        return stats.norm(theta, self._sigma(sigma) / np.sqrt(n))

    def _post_params(self, y, n, sigma=None, se=None):
        se = self._sigma(sigma) / np.sqrt(n) if se is None else float(se)
        y = np.asarray(y, float)[..., None]
        m, s = self._p1, self._p2
        lw = np.log(self._w) + stats.norm.logpdf(y, m, np.sqrt(s**2 + se**2))
        prec = 1 / s**2 + 1 / se**2
        return lw, (m / s**2 + y / se**2) / prec, np.broadcast_to(1 / np.sqrt(prec), np.shape(lw))

    def posterior(self, mean: float, n: float | None = None, se: float | None = None) -> NormalMixture:
        """Conjugate update with an observed mean of ``n`` units (se = sigma / sqrt(n)) or with a given ``se``."""
        if (n is None) == (se is None):
            raise ValueError("give exactly one of n (with the reference scale sigma) or se")
        lw, p1, p2 = self._post_params(float(mean), n, se=se)
        w = np.exp(lw - logsumexp(lw))
        return self._new(w, p1, p2)

    def posterior_stat(self, y, n):
        return self.posterior(float(y), n=n)

    def _robust_component(self, mean: float, n: float):
        if not n > 0:
            raise ValueError(f"robust component needs n > 0, got n={n}")
        return mean, self._sigma() / math.sqrt(n)


# ------------------------------------------------------------------------------------------------
class GammaMixture(Mixture):
    """A finite mixture of Gamma(a, b) densities (shape a, rate b) (RBesT's ``mixgamma``).

    ``likelihood='poisson'``: a rate of counts; the statistic of n units is the total count
    (posterior Gamma(a + total, b + n)).  ``likelihood='exp'``: an exponential rate; the statistic of
    n events is the total time (posterior Gamma(a + n, b + total)).

    Parameters
    ----------
    components : iterable of (float, float, float)
        ``(weight, a, b)`` per component, shape ``a`` and rate ``b`` both > 0.
    likelihood : {"poisson", "exp"}
        The data model the rate belongs to.
    """

    family = "gamma"
    params = ("a", "b")
    support = (0.0, np.inf)

    def __init__(self, components, likelihood: str = "poisson"):
        super().__init__(components)
        if likelihood not in ("poisson", "exp"):
            raise ValueError(f"likelihood must be 'poisson' or 'exp', got {likelihood!r}")
        self.likelihood = likelihood
        self.discrete = likelihood == "poisson"
        self.increasing = likelihood == "poisson"

    def _new(self, w, p1, p2):
        return GammaMixture(list(zip(w, p1, p2)), likelihood=self.likelihood)

    def _settings(self):
        return (self.likelihood,)

    def _extra_repr(self):
        return f", likelihood={self.likelihood!r}"

    def to_dict(self) -> dict:
        return {**super().to_dict(), "likelihood": self.likelihood}

    def _comp_mean_var(self, a, b):
        return a / b, a / b**2

    def _comp_logpdf(self, x, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = xlogy(a, b) + xlogy(a - 1, x) - b * x - gammaln(a)
        return np.where(x < 0, -np.inf, out)

    def _comp_cdf(self, x, a, b):
        return stats.gamma.cdf(x, a, scale=1 / b)

    def _comp_sf(self, x, a, b):
        return stats.gamma.sf(x, a, scale=1 / b)

    def _comp_ppf(self, q, a, b):
        return stats.gamma.ppf(q, a, scale=1 / b)

    def _comp_dlog(self, x, a, b, omx=None):
        return (a - 1) / x - b, -(a - 1) / x**2

    def rvs(self, size: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self), size=size, p=self._w)
        return rng.gamma(self._p1[k], 1 / self._p2[k])

    def stat_dist(self, theta, n):
        theta = np.asarray(theta, float)
        if self.likelihood == "poisson":
            return stats.poisson(n * theta)
        return stats.gamma(n, scale=1 / theta)

    def _post_params(self, y, n):
        y = np.asarray(y, float)[..., None]
        a, b = self._p1, self._p2
        if self.likelihood == "poisson":
            lw = np.log(self._w) + gammaln(a + y) - gammaln(a) + xlogy(a, b) - xlogy(a + y, b + n)
            return lw, a + y, np.broadcast_to(b + n, np.shape(lw))
        lw = np.log(self._w) + gammaln(a + n) - gammaln(a) + xlogy(a, b) - xlogy(a + n, b + y)
        return lw, np.broadcast_to(a + n, np.shape(lw)), b + y

    def posterior(self, total: float, n: float) -> GammaMixture:
        """Conjugate update with the total count of ``n`` unit exposures (Poisson) or total time of ``n`` events (exp)."""
        if total < 0 or n < 0:
            raise ValueError(f"need total >= 0 and n >= 0, got total={total}, n={n}")
        if self.likelihood == "poisson" and int(total) != total:
            raise ValueError(f"a Poisson total count must be a whole number, got {total}")
        lw, p1, p2 = self._post_params(float(total), n)
        w = np.exp(lw - logsumexp(lw))
        return self._new(w, p1, p2)

    def posterior_stat(self, y, n):
        return self.posterior(float(y), n)

    def _robust_component(self, mean: float, n: float):
        if not (mean > 0 and n > 0):
            raise ValueError(f"robust component needs mean > 0 and n > 0, got mean={mean}, n={n}")
        return (mean * n, n) if self.likelihood == "poisson" else (n, n / mean)
