"""MEM and Fujikawa's JSD weights on the null's scale (analysis.basket.methods.nullscale), checked against
an independent computation by adaptive quadrature (scipy.integrate.quad) and against the closed Beta forms
of the probability scale where the two scales agree (equal nulls)."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln, expit, logit, logsumexp

from analysis.basket.design import exact_oc
from analysis.basket.methods import nullscale
from analysis.basket.methods.jsd import jsd_beta, jsd_posterior, jsd_weights
from analysis.basket.methods.mem import mem_posterior
from analysis.basket.spec import parse


def _quad(f, lo, hi, at=()):
    return integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=500, points=[x for x in at if lo < x < hi] or None)[
        0
    ]


def _pooled(p, k, members, y, n, p0):
    """Likelihood of the pooled indications seen from indication k at rate p (the null-scale map g_j)."""
    v = 1.0
    for j in members:
        g = expit(logit(p) - logit(p0[k]) + logit(p0[j]))
        v *= g ** y[j] * (1 - g) ** (n[j] - y[j])
    return v


def brute_mem(y, n, p0, prior=(1.0, 1.0), inclusion=0.5):
    """Symmetric MEM on the null scale for one data row, each configuration's integrals by quad."""
    K = len(y)
    a, b = prior
    pairs = list(itertools.combinations(range(K), 2))
    out = np.zeros((K, 3))
    logs, per = [], []
    for E in itertools.product([0, 1], repeat=len(pairs)):
        M = np.eye(K, dtype=int)
        for e, (i, j) in zip(E, pairs):
            M[i, j] = M[j, i] = e
        lp = sum(math.log(inclusion) if e else math.log1p(-inclusion) for e in E)
        rows = []
        for k in range(K):
            members = [j for j in range(K) if M[k, j]]
            dens = lambda p, k=k, m=members: stats.beta.pdf(p, a, b) * _pooled(p, k, m, y, n, p0)  # noqa: E731
            Z = _quad(dens, 0, 1, (p0[k],))
            mean = _quad(lambda p, d=dens: p * d(p), 0, 1, (p0[k],)) / Z
            m2 = _quad(lambda p, d=dens: p * p * d(p), 0, 1, (p0[k],)) / Z
            above = _quad(dens, p0[k], 1) / Z
            own = sum(betaln(a + y[j], b + n[j] - y[j]) - betaln(a, b) for j in range(K) if not M[k, j])
            lp += math.log(Z) + own
            rows.append((mean, m2, above))
        logs.append(lp)
        per.append(rows)
    w = np.exp(np.array(logs) - logsumexp(logs))
    for c, rows in enumerate(per):
        out += w[c] * np.array(rows)
    return out


@pytest.mark.parametrize("y", [(3, 12, 2), (10, 10, 5), (0, 24, 0)])
def test_mem_null_scale_matches_brute_force_quadrature(y):
    y, n, p0 = np.array(y), np.array([24, 24, 12]), np.array([0.3, 0.3, 0.1])
    got = mem_posterior(y[None], n[None], (1.0, 1.0), 0.5, p0, "symmetric", "null")
    want = brute_mem(y, n, p0)
    for i, q in enumerate(("mean", "m2", "p_above")):
        np.testing.assert_allclose(got[q][0], want[:, i], rtol=1e-9, atol=1e-12, err_msg=q)


def test_null_scale_quadrature_is_exact_where_the_scales_agree():
    """Equal nulls: the pooled posterior is Beta(a + sum y, b + sum (n - y)); the null-scale rule must find it."""
    rng = np.random.default_rng(11)
    y, n = rng.integers(0, 13, (40, 3)), np.array([[24, 24, 12]] * 40)
    R = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1]])
    for prior in [(1.0, 1.0), (0.5, 0.5), (2.0, 3.0)]:
        got = nullscale.mem_rows(y, n, prior, np.array([0.3, 0.3, 0.3]), 0, R)
        A, B = prior[0] + y @ R.T, prior[1] + (n - y) @ R.T
        np.testing.assert_allclose(got["lm"], betaln(A, B) - betaln(*prior), rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["mean"], A / (A + B), rtol=0, atol=1e-13)
        np.testing.assert_allclose(got["p_above"], stats.beta.sf(0.3, A, B), rtol=0, atol=1e-13)


def _jsd_quad(a1, b1, a2, b2):
    P, Q = stats.beta(a1, b1), stats.beta(a2, b2)

    def f(x):
        lp, lq = P.logpdf(x), Q.logpdf(x)
        lm = np.logaddexp(lp, lq) - math.log(2)
        return 0.5 * (math.exp(lp) * (lp - lm) + math.exp(lq) * (lq - lm))

    return integrate.quad(f, 0, 1, limit=1000, epsabs=1e-14, epsrel=1e-12, points=[a1 / (a1 + b1), a2 / (a2 + b2)])[0]


@pytest.mark.parametrize(
    "shapes", [(1, 25, 2, 24), (13, 13, 1, 25), (5, 21, 7, 19), (0.5, 24.5, 1.5, 23.5), (2.44, 0.898, 27.5, 16.1)]
)
def test_jsd_of_betas_matches_quadrature_even_with_shapes_below_one(shapes):
    """Shapes below 1 (Jeffreys' prior with no or all responders): the old rule clipped log(1 - x) at the
    end of [0, 1] and returned the maximum, 1, for (2.44, 0.898) against (27.5, 16.1), whose JSD is 0.288."""
    np.testing.assert_allclose(jsd_beta(*shapes), _jsd_quad(*shapes), rtol=1e-10, atol=1e-14)


def test_gain_jsd_is_the_jsd_of_the_shifted_laws():
    """The JSD of theta = logit(p) - logit(p0) laws, by quadrature over theta, independently of the rule."""
    (A1, B1, o1), (A2, B2, o2) = (4.0, 21.0, logit(0.3)), (3.0, 10.0, logit(0.1))

    def logd(t, A, B, o):
        u = t + o
        return -A * np.logaddexp(0, -u) - B * np.logaddexp(0, u) - betaln(A, B)

    def f(t):
        lp, lq = logd(t, A1, B1, o1), logd(t, A2, B2, o2)
        lm = np.logaddexp(lp, lq) - math.log(2)
        return 0.5 * (math.exp(lp) * (lp - lm) + math.exp(lq) * (lq - lm))

    want = integrate.quad(f, -60, 60, limit=1000, epsabs=1e-14, epsrel=1e-12, points=[-1, 0, 1])[0]
    np.testing.assert_allclose(nullscale.gain_jsd(A1, B1, o1, A2, B2, o2), want, rtol=1e-10)
    # equal shifts: the JSD of the Betas themselves
    np.testing.assert_allclose(nullscale.gain_jsd(A1, B1, o1, A2, B2, o1), jsd_beta(A1, B1, A2, B2), atol=1e-14)


def test_jsd_null_scale_posterior_matches_quadrature_and_equals_fujikawa_at_equal_nulls():
    y, n, p0 = np.array([[3, 12, 2]]), np.array([[24, 24, 12]]), np.array([0.3, 0.3, 0.1])
    w = nullscale.jsd_null_weights(y, n, (1.0, 1.0), 2.0, 0.3, math.e, p0)
    got = nullscale.jsd_null_summaries(y, n, (1.0, 1.0), p0, w)
    A, B = 1.0 + y[0], 1.0 + n[0] - y[0]
    for k in range(3):

        def dens(p, k=k):
            v = 1.0 / (p * (1 - p))
            for j in range(3):
                g = expit(logit(p) - logit(p0[k]) + logit(p0[j]))
                v *= (g ** A[j] * (1 - g) ** B[j]) ** w[0, k, j]
            return v

        Z = _quad(dens, 0, 1, (p0[k],))
        assert got["mean"][0, k] == pytest.approx(_quad(lambda p: p * dens(p), 0, 1, (p0[k],)) / Z, rel=1e-9)
        assert got["p_above"][0, k] == pytest.approx(_quad(dens, p0[k], 1) / Z, rel=1e-9)
    # equal nulls: Fujikawa's Beta posteriors, weights and all
    eq = np.array([0.3, 0.3, 0.3])
    w = jsd_weights(y, n, (1.0, 1.0), 2.0, 0.3)
    np.testing.assert_allclose(nullscale.jsd_null_weights(y, n, (1.0, 1.0), 2.0, 0.3, math.e, eq), w, atol=1e-13)
    a, b = jsd_posterior(y, n, (1.0, 1.0), 2.0, 0.3, weights=w)
    got = nullscale.jsd_null_summaries(y, n, (1.0, 1.0), eq, w)
    np.testing.assert_allclose(got["mean"], a / (a + b), atol=1e-13)
    np.testing.assert_allclose(got["p_above"], stats.beta.sf(0.3, a, b), atol=1e-13)


def _spec(methods):
    return {
        "indication": [
            {"name": "A", "n": 12, "p0": 0.3, "target": 0.6, "c": 0.9},
            {"name": "B", "n": 12, "p0": 0.3, "target": 0.6, "c": 0.9},
            {"name": "C", "n": 12, "p0": 0.1, "target": 0.4, "c": 0.9},
        ],
        "method": methods,
        "scenarios": {"generate": ["null"]},
    }


def test_mem_and_jsd_default_to_the_null_scale_when_nulls_differ_and_it_curbs_the_lower_nulls_false_go():
    spec = _spec(
        {
            "mem": {"prior": [1, 1]},
            "memp": {"type": "mem", "prior": [1, 1], "scale": "probability"},
            "jsd": {"prior": [1, 1]},
            "jsdp": {"type": "jsd", "prior": [1, 1], "scale": "probability"},
        }
    )
    d = parse(spec, "f.toml")
    assert [m.params["scale"] for m in d.methods] == ["null", "probability", "null", "probability"]
    go = {m.name: exact_oc(d, m)[2]["go"] for m in d.methods}  # C's false go under the global null
    assert go["memp"] > 1.5 * go["mem"] and go["jsdp"] > 1.5 * go["jsd"]
    spec["indication"][2]["p0"] = 0.3
    d = parse(spec, "f.toml")
    assert d.methods[0].params["scale"] == "probability"  # equal nulls: the scales agree, the closed form is used
