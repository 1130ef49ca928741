"""Effective sample size of a mixture prior, by three methods (RBesT's ``ess``).

Families and units (RBesT's conventions): Beta/binomial in patients; Normal in observations of the
reference scale ``sigma`` (a single N(m, s) has ESS sigma^2 / s^2); Gamma/Poisson in unit exposures
(a single Gamma(a, b) has ESS b); Gamma/exponential in events (ESS a for moment and Morita; ELIR
gives a - 1, as in RBesT).  A Normal mixture may also be a prior on the linear predictor of a
one-parameter exponential family (RBesT's ``family`` argument): ``family="binomial"`` (logit link:
a prior on logit p) or ``"poisson"`` (log link: a prior on log lambda); its ESS is then in patients
or unit exposures and ``sigma`` plays no role.

The three conventions, with ``p`` the prior density, ``i_F`` the Fisher information of one
observation (Bernoulli ``1/(t(1-t))``; Normal ``1/sigma^2``; Poisson ``1/t``; exponential ``1/t^2``;
on a link scale ``var(linkinv(x))``: ``p(1 - p)`` for logit, ``exp(x)`` for log):

- ``moment``: the conjugate prior with the mixture's mean and variance, and its ESS (Beta: a + b;
  Gamma: b or a).  For Normal mixtures ``E_p[1/i_F] / var`` (``sigma^2 / var`` on the identity link).
  Conservative.
- ``elir``: expected local information ratio (Neuenschwander, Weber, Schmidli & O'Hagan 2020),
  ``E_p[-(log p)''(x) / i_F(x)]``; predictively consistent.  Undefined for a Beta component with a < 1
  or b < 1 (the expectation diverges) and can be negative for some mixtures (RBesT issue 22): both
  are reported as :class:`ESSError`.
- ``morita``: Morita, Thall & Mueller (2008) evaluated at the prior *mode* ``t`` as in RBesT
  (Neuenschwander et al. 2020, Eq. 9): ``(-(log p)''(t) - i_0(t)) / E[i(t | y)]``, where ``i_0`` is
  the curvature of a flattened prior and ``E[i(t | y)]`` the expected information of one observation
  at ``t`` under the prior predictive.  The flattened prior depends on the flattening constant ``s``
  (RBesT's default ``s = 100``; ``s = inf`` is the limit): Beta(t/s, (1-t)/s); Gamma(t/s, 1/s)
  (Poisson) or Gamma(1/s, 1/(s t)) (exponential); N(t, s max_k s_k^2).  For a single Beta(a, b) the
  Morita ESS is a + b as s -> inf and slightly less for finite s (Beta(4, 16): 19.991 at s = 100).
  The mode is RBesT's ``mixmode``: the highest of the maxima of the mixture density over each
  component's central 99% interval; a density that is unbounded at 0 or 1 therefore has its mode
  at the end of that interval, and the ESS is a finite number as in RBesT (no error).

For a single Beta(a, b) moment and ELIR equal a + b.

References
----------
Morita S, Thall PF, Mueller P (2008). Determining the effective sample size of a parametric prior.
Biometrics 64:595-602.
Neuenschwander B, Weber S, Schmidli H, O'Hagan A (2020). Predictively consistent prior effective
sample sizes. Biometrics 76:578-587.
RBesT ``R/mixess.R`` (``ess.betaMix``, ``ess.gammaMix``, ``ess.normMix``) and ``R/mixmode.R``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, stats

from analysis.priors.mixture import BetaMixture, GammaMixture, Mixture, NormalMixture

METHODS = ("moment", "morita", "elir")
#: RBesT's default flattening constant of the Morita ESS
S_DEFAULT = 100.0
#: the link families of a Normal mixture (RBesT's ``family``): identity (gaussian), logit, log
FAMILIES = ("gaussian", "binomial", "poisson")
_EPS = float(np.finfo(float).eps)


class ESSError(ValueError):
    """The ESS is not defined for this prior and method."""


def _check_s(s) -> float:
    try:
        val = float(s)
    except (TypeError, ValueError):
        raise ValueError(f"s (the Morita flattening constant) must be a number > 0, got {s!r}") from None
    if math.isnan(val) or not val > 0:
        raise ValueError(f"s (the Morita flattening constant) must be > 0 (default 100, or inf), got {s!r}")
    return val


def mixmode(mix: Mixture, interval: float = 0.99) -> float:
    """The mode as RBesT's ``mixmode``: the mixture log density maximised over each component's central
    ``interval``; the highest of these maxima.  A density unbounded at the edge of the support gets the
    end of the component's interval (never the edge itself)."""
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    best, best_lp = None, -np.inf
    for p1, p2 in zip(mix._p1, mix._p2):
        lo, hi = (float(v) for v in mix._comp_ppf(np.array([lo_q, hi_q]), p1, p2))
        if not hi > lo:
            t = lo
        else:
            res = optimize.minimize_scalar(
                lambda x: -float(mix.logpdf(x)),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-10 * max(1.0, abs(hi))},
            )
            t = float(res.x)
            # the bounded search stops within xatol of an end where the density keeps rising
            for end in (lo, hi):
                if float(mix.logpdf(end)) > float(mix.logpdf(t)):
                    t = end
        lp = float(mix.logpdf(t))
        if lp > best_lp:
            best, best_lp = t, lp
    return float(best)


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


def _beta_curvature(mix, t: float) -> float:
    """-(log p)''(t) of a Beta mixture, stable near 0 and 1 (the derivatives of each component's log
    density weighted by its posterior share at t, as RBesT's ``mixInfo``)."""
    t = min(max(t, _EPS), 1 - _EPS)
    x, omx = np.array(t), np.array(1 - t)
    lw = np.log(mix.weights) + mix._comp_logpdf(x[..., None], mix._p1, mix._p2)
    r = np.exp(lw - lw.max())
    r /= r.sum()
    a, b = mix._p1, mix._p2
    g = (a - 1) / t - (b - 1) / omx
    h = -(a - 1) / t**2 - (b - 1) / omx**2
    return float(np.sum(r * g) ** 2 - np.sum(r * (g**2 + h)))


def ess_moment(mix) -> float:
    m, v = mix.mean(), mix.var()
    return m * (1 - m) / v - 1


def _curvature(mix, x) -> np.ndarray:
    """-(log p)'' at x for any family."""
    x = np.asarray(x, float)[..., None]
    w, p1, p2 = mix.weights, mix._p1, mix._p2
    lf = np.log(w) + mix._comp_logpdf(x, p1, p2)
    f = np.exp(lf - np.max(lf, axis=-1, keepdims=True))
    g, dg = mix._comp_dlog(x, p1, p2)
    p, d1, d2 = f.sum(-1), (f * g).sum(-1), (f * (g**2 + dg)).sum(-1)
    return -(d2 / p) + (d1 / p) ** 2


def _inv_fisher(family: str):
    """1 / i_F on the linear-predictor scale of a Normal mixture: 1 / var(linkinv(x))."""
    if family == "binomial":
        return lambda x: 2.0 + np.exp(x) + np.exp(-x)
    if family == "poisson":
        return lambda x: np.exp(-x)
    return lambda x: np.ones_like(np.asarray(x, float))


def _normal_expect(mix, fn) -> float:
    """E_mix[fn(x)] by quadrature over each component's +-12 sd (break points at the means)."""
    lo = float(np.min(mix._p1 - 12 * mix._p2))
    hi = float(np.max(mix._p1 + 12 * mix._p2))
    pts = sorted({float(m) for m in mix._p1 if lo < m < hi})
    return integrate.quad(
        lambda x: float(fn(x) * mix.pdf(x)), lo, hi, points=pts or None, limit=500, epsabs=1e-12, epsrel=1e-10
    )[0]


def _ess_normal(mix: NormalMixture, method: str, sigma, s: float, family: str) -> float:
    gaussian = family == "gaussian"
    scale = mix._sigma(sigma) ** 2 if gaussian else 1.0  # sigma plays no role on a link scale (RBesT)
    inv_f = _inv_fisher(family)
    if method == "moment":
        expected = 1.0 if gaussian else _normal_expect(mix, inv_f)
        return scale * expected / mix.var()
    if method == "elir":
        return scale * _normal_expect(mix, lambda x: float(_curvature(mix, x)) * float(inv_f(x)))
    t = mixmode(mix)
    curv = float(_curvature(mix, t))
    info0 = 0.0 if math.isinf(s) else 1.0 / (s * float(np.max(mix._p2**2)))
    return (curv - info0) * scale * float(inv_f(t))


def _gamma_pred_mean_info(mix: GammaMixture, t: float, eps: float) -> float:
    """RBesT's E[y] / t^2 for Poisson data of one unit: the predictive (a negative-binomial mixture)
    summed over its central 1 - eps mass."""
    w, a, b = mix.weights, mix._p1, mix._p2
    comps = [stats.nbinom(ai, bi / (bi + 1)) for ai, bi in zip(a, b)]

    def cdf(y):
        return sum(wi * c.cdf(y) for wi, c in zip(w, comps))

    def q(p):
        hi = 1
        while cdf(hi) < p:
            hi *= 2
        lo = -1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
        return hi

    y = np.arange(q(eps / 2), q(1 - eps / 2) + 1)
    pmf = sum(wi * c.pmf(y) for wi, c in zip(w, comps))
    return float(np.sum(pmf * y)) / t**2


def _ess_gamma(mix: GammaMixture, method: str, s: float, eps: float) -> float:
    poisson = mix.likelihood == "poisson"
    if method == "moment":
        m, v = mix.mean(), mix.var()
        return m / v if poisson else m**2 / v  # Gamma(b) or Gamma(a) matched
    if method == "elir":
        if len(mix) == 1 and mix._p1[0] >= 1:
            a, b = mix._p1[0], mix._p2[0]
            return float(b if poisson else a - 1)  # closed forms (RBesT)
        if poisson and np.any(mix._p1 < 1):
            raise ESSError("ELIR ESS is undefined for a Gamma/Poisson mixture with a shape parameter < 1")
        inv_fisher = (lambda x: x) if poisson else (lambda x: x**2)

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
    t = mixmode(mix)
    curv = float(_curvature(mix, t))
    inv_s = 0.0 if math.isinf(s) else 1.0 / s
    if poisson:
        # flattened Gamma(t/s, 1/s): i_0 = (t/s - 1)/t^2; expected information of one unit E[y]/t^2
        info0 = (t * inv_s - 1) / t**2
        info = _gamma_pred_mean_info(mix, t, eps) if eps > 0 else mix.mean() / t**2
    else:
        # flattened Gamma(1/s, 1/(s t)): i_0 = (1/s - 1)/t^2; information of one event 1/t^2
        info0 = (inv_s - 1) / t**2
        info = 1 / t**2
    return (curv - info0) / info


def ess_morita(mix: BetaMixture, s: float = S_DEFAULT) -> float:
    """Morita ESS of a Beta mixture (RBesT ``ess.betaMix``): flattened prior Beta(t/s, (1-t)/s) at the
    mode t, expected information of one Bernoulli observation ``m/t^2 + (1-m)/(1-t)^2``."""
    s = _check_s(s)
    t = min(max(mixmode(mix), _EPS), 1 - _EPS)
    m = mix.mean()
    inv_s = 0.0 if math.isinf(s) else 1.0 / s
    info0 = (t * inv_s - 1) / t**2 + ((1 - t) * inv_s - 1) / (1 - t) ** 2
    expected = m / t**2 + (1 - m) / (1 - t) ** 2
    return (_beta_curvature(mix, t) - info0) / expected


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


def ess(
    mix: Mixture,
    method: str = "elir",
    sigma: float | None = None,
    *,
    s: float = S_DEFAULT,
    family: str | None = None,
    eps: float = 1e-4,
) -> float:
    """Effective sample size of ``mix`` (RBesT's ``ess``).

    Parameters
    ----------
    mix
        A Beta, Normal or Gamma mixture.
    method
        ``'elir'`` (default, as RBesT), ``'moment'`` or ``'morita'`` (conventions in the module docstring).
    sigma
        Overrides a Normal mixture's reference scale (``family='gaussian'`` only).
    s
        Morita's flattening constant, > 0: RBesT's default 100; ``float('inf')`` gives the limit.
    family
        Normal mixtures only: ``'gaussian'`` (default; identity link, ESS in units of ``sigma``),
        ``'binomial'`` (the mixture is a prior on logit p) or ``'poisson'`` (a prior on log lambda).
    eps
        Gamma/Poisson Morita only: predictive mass left out of the expected information (RBesT's 1e-4;
        0 uses the exact mean).

    Returns
    -------
    float

    Raises
    ------
    ESSError
        The ESS is undefined (ELIR with a Beta parameter < 1, or a negative ELIR integral).
    ValueError
        An unknown method or family, ``s <= 0``, or ``family`` given for a Beta or Gamma mixture.

    References
    ----------
    RBesT ``R/mixess.R``; Morita, Thall & Mueller (2008); Neuenschwander et al. (2020).
    """
    if method not in METHODS:
        raise ValueError(f"unknown ESS method {method!r}; expected one of {list(METHODS)}")
    s = _check_s(s)
    if isinstance(mix, NormalMixture):
        fam = "gaussian" if family is None else family
        if fam not in FAMILIES:
            raise ValueError(f"family must be one of {list(FAMILIES)}, got {family!r}")
        return _ess_normal(mix, method, sigma, s, fam)
    if family is not None:
        raise ValueError(
            f"family is only supported for Normal mixtures (RBesT), got family={family!r} for a {type(mix).__name__}"
        )
    if isinstance(mix, BetaMixture):
        if method == "morita":
            return ess_morita(mix, s)
        return {"moment": ess_moment, "elir": ess_elir}[method](mix)
    if isinstance(mix, GammaMixture):
        return _ess_gamma(mix, method, s, eps)
    raise TypeError(f"no ESS for {type(mix).__name__}")
