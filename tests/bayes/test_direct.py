"""The one-off posterior's row-wise rule (:mod:`analysis.bayes.engine.direct`) against the table path's per-point
rule (``log_q``), against the full tables' posteriors, and against an independent brute-force sum over the EX/NEX
assignments on a grid of its own."""

import itertools

import numpy as np
import pytest
from scipy.special import logit

from analysis.bayes.engine import Engine, EngineModel, posterior
from analysis.bayes.engine.direct import FLOOR, DirectEngine, clear_one_off_engines, fast_log_q, fast_tail
from analysis.logitnormal import log_q

# Neuenschwander et al. (2016), Table V: two exchangeable components and NEX (the speed target's model)
TWO = EngineModel(
    (("Normal(-2.1972246, 3.18)", "HalfNormal(1)"), ("Normal(-0.8472979, 1.94)", "HalfNormal(1)")),
    weights=[0.25, 0.25],
    nex=(-1.3862944, 2.5),
)
EXNEX = EngineModel.exnex("Normal(0, 1.5)", "HalfNormal(1)", (0, 2), 0.5)
HIER = EngineModel.hierarchical("Normal(0, 1.5)", "HalfNormal(1)")
# per-group weights and NEX priors (unequal nulls: NEX centred on each group's own null logit)
UNEQUAL = EngineModel.exnex(
    "Normal(-1, 1.5)",
    "HalfNormal(0.5)",
    [(float(logit(0.3)), 2.0), (float(logit(0.3)), 2.0), (float(logit(0.2)), 2.0), (float(logit(0.1)), 1.5)],
    np.array([[0.7], [0.5], [0.5], [0.3]]),
)
N = [20, 20, 10, 10]
DATA = ([2, 5, 1, 4], [0, 0, 0, 0], [20, 20, 10, 10], [0, 20, 10, 0], [7, 1, 9, 3])


@pytest.mark.parametrize("n", [10, 24, 60])
def test_row_rule_equals_log_q_with_many_nodes(n):
    """Every count's log Q(y + m, n - y) (m = 0, 1, 2) on an engine grid, where it is not negligible (within 100 of
    the largest), within 1e-8 of log_q with 24 nodes per panel (its own error: about 1e-9 at the worst points)."""
    g = Engine(TWO, 2 * n).grids()[0]
    ys = np.array([0, 1, n // 3, n - 1, n], float)
    a = np.concatenate([ys, ys + 1, ys + 2])
    b = np.tile(n - ys, 3)
    fast = fast_log_q(a, b, g)
    moments = fast_log_q(ys, n - ys, g, moments=2)  # the same columns, as moments of the counts' integrands
    for c in range(a.size):
        ref = log_q(a[c], b[c], g.mu, g.tau, None, 24)
        rel = ref > ref.max() - 100
        for rule in (fast, moments):
            np.testing.assert_allclose(rule[c, rel], ref[rel], rtol=0, atol=1e-8)
            assert np.all(rule[c, ~rel] < ref.max() - 90)  # the negligible ones stay negligible


@pytest.mark.parametrize("x", [0.05, 0.3, 0.9])
def test_row_rule_tails_equal_log_q_with_many_nodes(x):
    n = 20
    g = Engine(EXNEX, 60).grids()[0]
    ys = np.array([0, 3, 10, 20], float)
    l0 = fast_log_q(ys, n - ys, g)
    tails = fast_tail(ys, n - ys, float(logit(x)), g, l0)
    for c, y in enumerate(ys):
        ref = np.exp(log_q(y, n - y, g.mu, g.tau, float(logit(x)), 24) - log_q(y, n - y, g.mu, g.tau, None, 24))
        rel = l0[c] > l0[c].max() - 100
        np.testing.assert_allclose(tails[c, rel], np.minimum(ref[rel], 1), rtol=0, atol=1e-8)
        assert np.all((tails[c] >= 0) & (tails[c] <= 1))


@pytest.mark.parametrize("model", [TWO, EXNEX, HIER, UNEQUAL], ids=["two-components", "exnex", "hier", "unequal"])
def test_one_off_posterior_equals_the_full_tables(model):
    """The default one-off posterior (the row rule) against an engine with every count's table (log_q per point):
    the same grid, so only the inner integrals differ (log_q: relative 5e-6 at most, far less where the posterior
    has its weight)."""
    clear_one_off_engines()
    full = Engine(model, sum(N), resolution=0.5)  # a coarse grid, so that every count's table is quick to build
    for y in DATA:
        one = posterior(model, y, N, resolution=0.5)
        assert isinstance(one._engine, DirectEngine)
        ref = full.posterior(y, N, thresholds=[0.1, 0.35])
        for a, b in ((one.mean, ref.mean), (one.sd, ref.sd), (one.p_ex, ref.p_ex)):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)
        for x in (0.1, 0.35):
            np.testing.assert_allclose(one.prob_above(x), ref.prob_above(x), rtol=0, atol=1e-8)
        assert one.new_mean == pytest.approx(ref.new_mean, abs=1e-8)
        assert one.log_evidence == pytest.approx(ref.log_evidence, abs=1e-6)
        for name, h in one.hyper.items():
            assert h["mu"] == pytest.approx(ref.hyper[name]["mu"], abs=1e-8)
            assert h["tau"] == pytest.approx(ref.hyper[name]["tau"], abs=1e-8)
        np.testing.assert_allclose(one.quantile([0.05, 0.5]), ref.quantile([0.05, 0.5]), rtol=0, atol=1e-7)


def test_one_off_engine_is_kept_and_computes_only_new_counts():
    clear_one_off_engines()
    first = posterior(TWO, [2, 5, 1, 4], N)
    again = posterior(TWO, [3, 5, 1, 4], N)
    assert again._engine is first._engine
    assert first._engine.table(20, 1).ys.tolist() == [2, 3, 5]
    assert posterior(TWO, [2, 5, 1, 4], N, direct=False)._engine is not first._engine  # the table path's own


def _gh_q(y, n, mu, tau, x, w, extra=0):
    """Q(y + extra, n - y) on a (mu, tau) grid by Gauss-Hermite in the normal's variable (no engine code)."""
    t = mu[..., None] + tau[..., None] * x
    lp = -np.logaddexp(0, -t)
    return np.exp((y + extra) * lp + (n - y) * (lp - t)) @ w


def _brute_force_means(model, y, n, J):
    """Posterior means of each p_k by summing over all (J + 1)^K assignments of groups to components or NEX, each
    component's integral on its own fine (mu, tau) grid: independent of the engine's grids, inner rule and subset
    convolutions."""
    x, w = np.polynomial.hermite_e.hermegauss(150)
    w = w / np.sqrt(2 * np.pi)
    K = len(y)
    W = model.group_weights(K)
    nex = model.group_nex(K)
    comps = []
    for c in model.components:
        m, s = c.mu.params
        # Gauss-Legendre in mu over m +- 8 s and in tau over (0, 6 x the HalfNormal's scale] (the integrand is smooth
        # in tau down to 0, unlike the engine's rule in log tau)
        u, wu = np.polynomial.legendre.leggauss(200)
        v, wv = np.polynomial.legendre.leggauss(100)
        mu, tau = m + 8 * s * u, 3 * c.tau.params[0] * (v + 1)
        M, T = np.meshgrid(mu, tau, indexing="ij")
        p = np.exp(c.mu.logpdf(M) + c.tau.logpdf(T)) * np.outer(wu, wv)
        p /= p.sum()
        Q0 = np.stack([_gh_q(y[k], n[k], M, T, x, w) for k in range(K)])
        Q1 = np.stack([_gh_q(y[k], n[k], M, T, x, w, 1) for k in range(K)])
        comps.append((p, Q0, Q1))
    q_nex = [_gh_q(y[k], n[k], nex[k, 0], nex[k, 1], x, w) for k in range(K)]
    m_nex = [_gh_q(y[k], n[k], nex[k, 0], nex[k, 1], x, w, 1) / q_nex[k] for k in range(K)]
    Z, num = 0.0, np.zeros(K)
    for a in itertools.product(range(J + 1), repeat=K):  # a[k] == J: NEX
        term, cond = 1.0, np.zeros(K)
        for k in range(K):
            term *= W[k, a[k]] if a[k] < J else 1 - W[k].sum()
        for j, (p, Q0, Q1) in enumerate(comps):
            S = [k for k in range(K) if a[k] == j]
            prod = p * np.prod(Q0[S], axis=0) if S else p
            F = prod.sum()
            term *= F
            for k in S:
                cond[k] = (prod * Q1[k] / Q0[k]).sum() / F
        for k in range(K):
            if a[k] == J:
                term *= q_nex[k]
                cond[k] = m_nex[k]
        Z += term
        num += term * cond
    return num / Z


@pytest.mark.parametrize("y", [[2, 9, 0], [12, 1, 6]])
def test_one_off_posterior_equals_a_brute_force_sum_over_assignments(y):
    """EXNEX with two exchangeable components and per-group NEX (K = 3, all 27 assignments): the means agree with
    the independent grid to its own accuracy (Gauss-Legendre on 200 x 100 points, 150 Gauss-Hermite nodes: with 60 nodes, too few where tau is large, it was 7e-5 off)."""
    model = EngineModel(
        (("Normal(-1.5, 1)", "HalfNormal(0.5)"), ("Normal(0.5, 1)", "HalfNormal(0.5)")),
        weights=[[0.4, 0.4], [0.2, 0.6], [0.5, 0.3]],
        nex=[(-1, 2), (-1, 2), (0, 1.5)],
    )
    n = [12, 16, 8]
    clear_one_off_engines()
    post = posterior(model, y, n)
    np.testing.assert_allclose(post.mean, _brute_force_means(model, y, n, 2), rtol=0, atol=1e-6)


def test_floor_marks_underflow_only():
    """Grid points far from a count's likelihood get FLOOR (no weight), never NaN or +inf."""
    g = Engine(HIER, 400).grids()[0]
    out = fast_log_q(np.array([0.0, 400.0]), np.array([400.0, 0.0]), g)
    assert np.isfinite(out).all() and out.min() >= FLOOR
