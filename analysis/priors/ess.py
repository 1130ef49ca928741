"""Effective sample size of a mixture prior, by three methods (RBesT's ``ess``).

Families and units (RBesT's conventions): Beta/binomial in patients; Normal in observations of the
reference scale ``sigma`` (a single N(m, s) has ESS sigma^2 / s^2); Gamma/Poisson in unit exposures
(a single Gamma(a, b) has ESS b); Gamma/exponential in events (ESS a for moment and Morita; ELIR
gives a - 1, as in RBesT).  The Beta details follow; the other families use the same definitions
with their Fisher information (1/sigma^2, 1/theta, 1/theta^2) and vague baselines.

Beta mixtures:

- ``moment``: a + b of the Beta with the mixture's mean and variance.
- ``morita``: Morita, Thall & Mueller (2008), as revised by Neuenschwander
  et al. (2020): the number of Bernoulli observations whose expected
  information, added to a vague version of the prior, matches the prior's
  curvature at its *mode* ``t``::

      ESS = (-(log p)''(t) + 1/t^2 + 1/(1-t)^2) / (m/t^2 + (1-m)/(1-t)^2)

  where ``m`` is the prior mean.  The ``1/t^2 + 1/(1-t)^2`` term is the
  curvature of the vague baseline (the prior's components with parameters
  divided by s, in the limit s -> infinity; RBesT uses s = 100).
- ``elir``: expected local information ratio (Neuenschwander et al. 2020),
  ``E_p[ -(log p)''(t) / i_F(t) ]`` with Fisher information
  ``i_F(t) = 1/(t(1-t))``; predictively consistent.  It is undefined (the
  expectation diverges) when a component has a < 1 or b < 1, and it can be
  negative for some mixtures (RBesT issue 22): both are reported as errors.

For a single Beta(a, b) all three equal a + b.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from analysis.priors.mixture import BetaMixture, GammaMixture, Mixture, NormalMixture

METHODS = ("moment", "morita", "elir")


class ESSError(ValueError):
    """The ESS is not defined for this prior and method."""


def _derivatives(mix, x: np.ndarray, omx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p, p' and p'' of the mixture density at ``x`` (``omx`` = 1 - x, passed exactly near 1)."""
    from scipy.special import betaln, xlogy

    x = np.asarray(x, float)[..., None]
    omx = 1 - x if omx is None else np.asarray(omx, float)[..., None]
    w, a, b = mix.weights, mix._p1, mix._p2
    f = w * np.exp(xlogy(a - 1, x) + xlogy(b - 1, omx) - betaln(a, b))
    g = (a - 1) / x - (b - 1) / omx
    dg = -(a - 1) / x**2 - (b - 1) / omx**2
    return f.sum(-1), (f * g).sum(-1), (f * (g**2 + dg)).sum(-1)


def neg_log_curvature(mix, x) -> np.ndarray:
    """-(d^2/dx^2) log p(x)."""
    p, d1, d2 = _derivatives(mix, x)
    return -(d2 / p) + (d1 / p) ** 2


def ess_moment(mix) -> float:
    m, v = mix.mean(), mix.var()
    return m * (1 - m) / v - 1


def _ess_moment_other(mix, sigma=None) -> float:
    m, v = mix.mean(), mix.var()
    if isinstance(mix, NormalMixture):
        return mix._sigma(sigma) ** 2 / v
    return m / v if mix.likelihood == "poisson" else m**2 / v  # Gamma(b) or Gamma(a) matched


def _curvature(mix, x) -> np.ndarray:
    """-(log p)'' at x for any family."""
    x = np.asarray(x, float)[..., None]
    w, p1, p2 = mix.weights, mix._p1, mix._p2
    f = w * np.exp(mix._comp_logpdf(x, p1, p2))
    g, dg = mix._comp_dlog(x, p1, p2)
    p, d1, d2 = f.sum(-1), (f * g).sum(-1), (f * (g**2 + dg)).sum(-1)
    return -(d2 / p) + (d1 / p) ** 2


def _ess_morita_other(mix, sigma=None) -> float:
    t = mix.mode()
    curv = float(_curvature(mix, t))
    if isinstance(mix, NormalMixture):
        return curv * mix._sigma(sigma) ** 2  # vague baseline curvature -> 0; information 1/sigma^2
    if not t > 1e-12:
        raise ESSError(f"Morita ESS is undefined: the prior mode {t:.3g} is on the boundary of (0, inf)")
    # vague baseline Gamma(a/s, b/s), s -> infinity: curvature -1/t^2 removed; expected information of
    # one observation at t: E[y]/t^2 = mean/t^2 (Poisson) or 1/t^2 (exponential)
    info = mix.mean() / t**2 if mix.likelihood == "poisson" else 1 / t**2
    return (curv + 1 / t**2) / info


def _ess_elir_other(mix, sigma=None) -> float:
    if isinstance(mix, NormalMixture):
        s2 = mix._sigma(sigma) ** 2
        lo, hi = mix.quantile([1e-12, 1 - 1e-12])
        pts = sorted({float(m) for m in mix._p1 if lo < m < hi})
        val = integrate.quad(
            lambda x: float(_curvature(mix, x) * mix.pdf(x)) * s2,
            lo,
            hi,
            points=pts or None,
            limit=500,
            epsabs=1e-10,
            epsrel=1e-10,
        )[0]
    else:
        if mix.likelihood == "poisson" and np.any(mix._p1 < 1):
            raise ESSError("ELIR ESS is undefined for a Gamma/Poisson mixture with a shape parameter < 1")
        inv_fisher = (lambda x: x) if mix.likelihood == "poisson" else (lambda x: x**2)

        def integrand(x):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                v = float(_curvature(mix, x) * mix.pdf(x) * inv_fisher(x))
            return v if np.isfinite(v) else 0.0

        hi = float(mix.quantile(1 - 1e-13))
        pts = sorted({float(a / b) for a, b in zip(mix._p1, mix._p2) if 0 < a / b < hi})
        val = integrate.quad(integrand, 0.0, hi, points=pts or None, limit=500, epsabs=1e-10, epsrel=1e-10)[0]
    if val < 0:
        raise ESSError(f"ELIR ESS is negative ({val:.3g}) for this mixture; use the moment or Morita ESS instead")
    return val


def ess_morita(mix) -> float:
    t = mix.mode()
    if not 1e-6 < t < 1 - 1e-6:
        raise ESSError(f"Morita ESS is undefined: the prior mode {t:.3g} is on the boundary of (0, 1)")
    m = mix.mean()
    curvature = float(neg_log_curvature(mix, t))
    return (curvature + 1 / t**2 + 1 / (1 - t) ** 2) / (m / t**2 + (1 - m) / (1 - t) ** 2)


def ess_elir(mix) -> float:
    if len(mix) == 1:
        # closed form for a single Beta (a, b > 1): E[(a-1)(1-t)/t + (b-1)t/(1-t)] = a + b; RBesT's convention
        # keeps a + b at the boundary a = 1 or b = 1 as well
        _, a, b = mix.components[0]
        if a < 1 or b < 1:
            raise ESSError(f"ELIR ESS is undefined when a Beta parameter is < 1 (Beta({a:g}, {b:g}))")
        return a + b
    small = [(a, b) for _, a, b in mix.components if a < 1 or b < 1]
    if small:
        raise ESSError(
            f"ELIR ESS is undefined when a Beta parameter is < 1 (components {small}): the expected "
            "information ratio diverges"
        )

    def integrand(x: float, omx: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p, d1, d2 = _derivatives(mix, np.array([x]), np.array([omx]))
            val = (-d2[0] + d1[0] ** 2 / p[0]) * x * omx
        return float(val) if np.isfinite(val) else 0.0

    # Components with a (or b) just above 1 make the integrand behave like x^(a-2) at 0 (or (1-x)^(b-2)
    # at 1): integrable but hard for quadrature.  The substitutions x = h u^m and x = 1 - h u^m with
    # m = 1/(min parameter - 1) make it bounded.
    def power(params) -> float:
        above = [v for v in params if v > 1]
        return max(1.0, min(50.0, 1.0 / (min(above) - 1))) if above else 1.0

    m0 = power([a for _, a, _ in mix.components])
    m1 = power([b for _, _, b in mix.components])
    half = 0.5

    def left(u: float) -> float:
        x = half * u**m0
        return integrand(x, 1 - x) * half * m0 * u ** (m0 - 1)

    def right(u: float) -> float:
        omx = half * u**m1
        return integrand(1 - omx, omx) * half * m1 * u ** (m1 - 1)

    total = 0.0
    for fn, m, side in ((left, m0, "lower"), (right, m1, "upper")):
        # break points at the component means, mapped to u
        brk = sorted(
            {
                (mean / half) ** (1 / m) if side == "lower" else ((1 - mean) / half) ** (1 / m)
                for mean in (a / (a + b) for _, a, b in mix.components)
            }
        )
        brk = [u for u in brk if 0 < u < 1]
        val, abserr = integrate.quad(fn, 0.0, 1.0, points=brk or None, limit=500, epsabs=1e-9, epsrel=1e-9)[:2]
        if abserr > 1e-6 * max(1.0, abs(val)):
            raise ESSError(
                f"ELIR ESS: the numerical integral did not converge on the {side} half of (0, 1) "
                f"(error estimate {abserr:.2g}); the mixture is too close to a singular density"
            )
        total += val
    if total < 0:
        raise ESSError(
            f"ELIR ESS is negative ({total:.3g}) for this mixture (see RBesT issue 22): the prior's "
            "information is not summarised by a sample size; use the moment or Morita ESS instead"
        )
    return total


def ess(mix: Mixture, method: str = "elir", sigma: float | None = None) -> float:
    """ESS of ``mix`` by ``'elir'`` (default, as RBesT), ``'moment'`` or ``'morita'``.

    ``sigma`` overrides a Normal mixture's reference scale.
    """
    if method not in METHODS:
        raise ValueError(f"unknown ESS method {method!r}; expected one of {list(METHODS)}")
    if isinstance(mix, BetaMixture):
        return {"moment": ess_moment, "morita": ess_morita, "elir": ess_elir}[method](mix)
    if isinstance(mix, (NormalMixture, GammaMixture)):
        if isinstance(mix, GammaMixture) and method == "elir" and len(mix) == 1 and mix._p1[0] >= 1:
            a, b = mix._p1[0], mix._p2[0]
            return float(b if mix.likelihood == "poisson" else a - 1)  # closed forms (RBesT)
        return {"moment": _ess_moment_other, "morita": _ess_morita_other, "elir": _ess_elir_other}[method](mix, sigma)
    raise TypeError(f"no ESS for {type(mix).__name__}")
