"""The deterministic posterior engine: inner integrals, grid refinement, brute force, two components."""

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

import analysis.logitnormal as E
from analysis.bayes.engine import Dist, Engine, EngineModel, as_dist, log_q, posterior


def _quad_q(a, b, mu, tau, lower=-np.inf):
    f = lambda t: expit(t) ** a * expit(-t) ** b * stats.norm.pdf(t, mu, tau)  # noqa: E731
    lo, hi = max(lower, mu - 12 * tau), mu + 12 * tau
    pts = np.linspace(lo, hi, 41)
    return sum(integrate.quad(f, x0, x1, epsabs=0, epsrel=1e-13)[0] for x0, x1 in zip(pts[:-1], pts[1:]))


@pytest.mark.parametrize(
    "a,b,mu,tau",
    [
        (0, 24, -1, 1e-3),
        (24, 0, 2, 0.05),
        (12, 12, 0, 0.5),
        (24, 0, 0, 3),
        (1, 23, -3, 2),
        (0, 0, 1, 1),
        (5, 5, 8, 0.2),
    ],
)
def test_inner_integral_matches_adaptive_quadrature(a, b, mu, tau):
    # tau -> 0 and all-responders (b = 0) / no-responders (a = 0) included
    ref = _quad_q(a, b, mu, tau)
    assert np.exp(log_q(a, b, mu, tau)) == pytest.approx(ref, rel=1e-6)
    tail = _quad_q(a, b, mu, tau, lower=-0.5)
    assert np.exp(log_q(a, b, mu, tau, lower=-0.5)) == pytest.approx(tail, rel=1e-6, abs=1e-14)


def test_inner_integral_against_fine_composite_rule():
    # 20,000 random cases over 0 <= a, b <= 60, |mu| <= 15, 1e-3 <= tau <= 1e3 against a 60-panel rule:
    # relative error below 1e-5 (documented: 5e-6 with 12 nodes per panel)
    rng = np.random.default_rng(1)
    N = 20_000
    a = rng.integers(0, 60, N).astype(float)
    b = rng.integers(0, 60, N).astype(float)
    a[rng.random(N) < 0.2] = 0
    b[rng.random(N) < 0.2] = 0
    mu = rng.uniform(-15, 15, N)
    tau = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), N))
    v = log_q(a, b, mu, tau)
    old = E.PANELS
    try:
        E.PANELS = tuple(np.r_[0, np.geomspace(1 / 4096, 1, 60)])
        ref = log_q(a, b, mu, tau, nodes=24)
    finally:
        E.PANELS = old
    assert np.max(np.abs(np.expm1(v - ref))) < 1e-5


def test_log_q_in_blocks_gives_the_numbers_of_one_pass():
    """log_q works through long inputs in cache-sized blocks: the numbers of one pass over the whole array, bit for
    bit (BLAS on one thread, as under make), also when the last block would hold one element (a review found a
    one-row matrix-vector product 1 ulp apart from the same row in a longer one: no such block is made)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")  # PyMC's dependency

    rng = np.random.default_rng(3)
    with threadpoolctl.threadpool_limits(1, "blas"):
        # the review's case: equal inputs, so one pass gives equal values everywhere
        a, b, mu, tau = 8.0, 9.0, 10.379473536883435, 12.859857470069676
        for size in (E.BLOCK + 1, 2 * E.BLOCK + 1):
            v = log_q(np.full(size, a), b, mu, tau)
            assert np.array_equal(v, E._log_q(*np.broadcast_arrays(np.full(size, a), b, mu, tau), None, 12))
            assert (v == v[0]).all(), np.flatnonzero(v != v[0])
        for n in (E.BLOCK - 1, E.BLOCK + 1, 2 * E.BLOCK + 5):
            a, b = rng.integers(0, 40, (2, n)).astype(float)
            mu, tau, lower = rng.uniform(-8, 8, n), np.exp(rng.uniform(-4, 3, n)), rng.uniform(-3, 3, n)
            for low in (None, lower):
                blocked, one_pass = log_q(a, b, mu, tau, low), E._log_q(a, b, mu, tau, low, 12)
                assert np.array_equal(blocked, one_pass), (n, np.flatnonzero(blocked != one_pass))


def test_priors_parse_and_validate():
    assert as_dist("HalfNormal(1)") == Dist("HalfNormal", (1,))
    assert as_dist(("Normal", (0, 1.5))) == Dist("Normal", (0, 1.5))
    with pytest.raises(ValueError, match=r"unknown prior distribution 'Gamma'; expected one of \['Normal'"):
        as_dist("Gamma(2, 1)")
    with pytest.raises(ValueError, match="tau prior"):
        EngineModel.hierarchical("Normal(0, 1)", "Normal(0, 1)")


HIER = EngineModel.hierarchical("Normal(0, 1.5)", "HalfNormal(1)")
EXNEX = EngineModel.exnex("Normal(0, 1.5)", "HalfNormal(1)", (0, 2), 0.5)
DATA = ([10, 0, 24], [24, 24, 24])  # includes no responders and all responders


def test_hierarchical_matches_independent_quadrature():
    # tests/bayes/quadrature.py: an independent (mu, tau) midpoint grid with Gauss-Hermite inner integrals
    from analysis.bayes.models import DEFAULT_MODELS
    from tests.bayes.quadrature import posterior_means

    post = Engine(HIER, 72).posterior(*DATA)
    ref = posterior_means(DEFAULT_MODELS["hierarchical"], *DATA, n_mu=801, n_tau=800, n_gh=100)
    np.testing.assert_allclose(post.mean, ref["p"], atol=1e-5)
    assert post.new_mean == pytest.approx(ref["p_new"], abs=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        HIER,
        EXNEX,
        EngineModel.hierarchical("Normal(-1, 2)", "HalfCauchy(1)"),
        EngineModel.hierarchical("Normal(0, 1)", "Uniform(0, 5)"),
        EngineModel.hierarchical("Normal(0, 1)", "LogNormal(-1, 1)"),
        EngineModel.exnex("Normal(0, 2)", "HalfStudentT(3, 1)", (0, 2), 0.3),
    ],
    ids=["hier", "exnex", "halfcauchy", "uniform", "lognormal", "halft"],
)
def test_grid_refinement(model):
    # doubling the resolution of every grid (and the inner nodes) changes nothing beyond 1e-5
    y, n = [3, 12, 24, 0], [24, 24, 24, 12]
    p1 = Engine(model, 84).posterior(y, n)
    p2 = Engine(model, 84, resolution=2).posterior(y, n)
    np.testing.assert_allclose(p1.mean, p2.mean, atol=1e-5)
    np.testing.assert_allclose(p1.sd, p2.sd, atol=1e-5)
    np.testing.assert_allclose(p1.p_ex, p2.p_ex, atol=1e-5)
    assert p1.new_mean == pytest.approx(p2.new_mean, abs=1e-5)


@pytest.mark.slow
@pytest.mark.xfail(
    reason="known limitation: P(p > x) and quantiles converge only at O(h_mu) where tau << h_mu (the tail is a "
    "step in mu as tau -> 0); measured 7e-5 between resolutions 1 and 2 for EXNEX, above the 1e-5 target",
    strict=False,
)
@pytest.mark.parametrize("model", [HIER, EXNEX], ids=["hier", "exnex"])
def test_grid_refinement_tails(model):
    y, n = [3, 12, 24, 0], [24, 24, 24, 12]
    p1 = Engine(model, 84).posterior(y, n)
    p2 = Engine(model, 84, resolution=2).posterior(y, n)
    np.testing.assert_allclose(p1.quantile([0.025, 0.975]), p2.quantile([0.025, 0.975]), atol=1e-5)
    np.testing.assert_allclose(p1.prob_above(0.3), p2.prob_above(0.3), atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [HIER, EXNEX, EngineModel.exnex("Normal(0, 2)", "HalfStudentT(3, 1)", (0, 2), 0.3)],
    ids=["hier", "exnex", "exnex-halft"],
)
def test_grid_refinement_tails_meet_the_required_1e4(model):
    """The issue's accuracy requirement for P(p_k > x) and quantiles is 1e-4, at the default grid.  With one mu
    spacing for every tau the EXNEX tails moved by 1.7e-4 when the grid was refined; with the spacing halved where
    tau is below it (down to a quarter) they move by at most 4e-5 (measured) against a 3x finer grid."""
    y, n = [3, 12, 24, 0], [24, 24, 24, 12]
    p1 = Engine(model, 84).posterior(y, n)
    p3 = Engine(model, 84, resolution=3).posterior(y, n)
    np.testing.assert_allclose(p1.quantile([0.025, 0.975]), p3.quantile([0.025, 0.975]), atol=1e-4)
    np.testing.assert_allclose(p1.prob_above(0.3), p3.prob_above(0.3), atol=1e-4)
    for x in (0.1, 0.2, 0.5, 0.7, 0.9):
        np.testing.assert_allclose(p1.prob_above(x), p3.prob_above(x), atol=1e-4, err_msg=f"P(p_k > {x})")


def _brute_force(model, y, n, n_mu=601, n_tau=400, n_theta=4000):
    """Dense tensor grid in (mu, tau, theta) with exact normal bin masses: independent of the engine."""
    comp = model.components[0]
    m, s = comp.mu.params
    mu = np.linspace(m - 8 * s, m + 8 * s, n_mu)
    u = (np.arange(n_tau) + 0.5) / n_tau  # midpoints on the prior CDF scale of tau
    tau = comp.tau.ppf(u)
    edges = np.linspace(-15, 15, n_theta + 1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    y, n = np.asarray(y), np.asarray(n)
    lik = stats.binom.pmf(y[:, None], n[:, None], expit(mid)[None, :])  # (K, T)
    logpost = np.zeros((n_mu, n_tau)) + comp.mu.logpdf(mu)[:, None]
    num = []
    for ti in range(n_tau):
        cdf = stats.norm.cdf((edges[None, :] - mu[:, None]) / tau[ti])
        mass = np.diff(cdf, axis=1)  # (mu, T)
        Lk = mass @ lik.T  # (mu, K)
        Mk = mass @ (lik * expit(mid)).T
        if model.is_exnex:
            w = model.group_weights(len(y))[:, 0]
            nm, ns = model.group_nex(len(y))[0]
            nmass = np.diff(stats.norm.cdf((edges - nm) / ns))
            Ln, Mn = lik @ nmass, (lik * expit(mid)) @ nmass
            Lk, Mk = w * Lk + (1 - w) * Ln, w * Mk + (1 - w) * Mn
        logpost[:, ti] += np.log(Lk).sum(1)
        num.append(Mk / Lk)
    post = np.exp(logpost - logpost.max())
    post /= post.sum()
    cond = np.stack(num, axis=1)  # (mu, tau, K)
    return np.einsum("ij,ijk->k", post, cond)


@pytest.mark.slow
@pytest.mark.parametrize("model", [HIER, EXNEX], ids=["hier", "exnex"])
def test_against_brute_force(model):
    y, n = [5, 20], [24, 24]
    ref = _brute_force(model, y, n)
    post = Engine(model, 48).posterior(y, n)
    np.testing.assert_allclose(post.mean, ref, atol=1e-4)


def test_two_components_equal_direct_four_dimensional_grid():
    # the subset expansion (2^K terms) equals the direct sum over the (mu1, tau1) x (mu2, tau2) grid
    m2 = EngineModel(
        (("Normal(-1.5, 1)", "HalfNormal(0.5)"), ("Normal(1, 1)", "HalfNormal(0.5)")),
        weights=[[0.45, 0.45]] * 3,
        nex=(0, 2),
        name="two",
    )
    y, n = np.array([2, 12, 20]), np.array([24, 24, 24])
    eng = Engine(m2, 72, resolution=0.5)
    post = eng.posterior(y, n)
    g1, g2 = eng.grids()
    L1 = np.stack([np.exp(eng.table(24, 0).loglik[yk]) for yk in y])
    L2 = np.stack([np.exp(eng.table(24, 1).loglik[yk]) for yk in y])
    M1 = np.stack([eng.table(24, 0).m1[yk] for yk in y])
    M2 = np.stack([eng.table(24, 1).m1[yk] for yk in y])
    nt = [eng.nex_table(24, 0, 2) for _ in y]
    Ln = np.array([np.exp(t.loglik[yk, 0]) for t, yk in zip(nt, y)])
    Mn = np.array([t.m1[yk, 0] for t, yk in zip(nt, y)])
    p1, p2 = np.exp(g1.logw), np.exp(g2.logw)
    fac = [0.45 * L1[k][:, None] + 0.45 * L2[k][None, :] + 0.1 * Ln[k] for k in range(3)]
    joint = p1[:, None] * p2[None, :] * fac[0] * fac[1] * fac[2]
    Z = joint.sum()
    for k in range(3):
        num = 0.45 * L1[k][:, None] * M1[k][:, None] + 0.45 * L2[k][None, :] * M2[k][None, :] + 0.1 * Ln[k] * Mn[k]
        assert post.mean[k] == pytest.approx((joint / fac[k] * num).sum() / Z, rel=1e-9)
        ex1 = (joint / fac[k] * 0.45 * L1[k][:, None]).sum() / Z
        assert post.p_ex[k, 0] == pytest.approx(ex1, rel=1e-9)


def test_batch_equals_single_posteriors():
    eng = Engine(EXNEX, 72)
    Y = np.array([[0, 5, 24], [12, 12, 12], [24, 24, 0]])
    b = eng.batch(Y, [24, 24, 24], [0.3, 0.3, 0.3])
    for i, y in enumerate(Y):
        p = eng.posterior(y, [24, 24, 24])
        np.testing.assert_allclose(b["mean"][i], p.mean, atol=1e-12)
        np.testing.assert_allclose(b["p_ex"][i], p.p_ex[:, 0], atol=1e-12)
        np.testing.assert_allclose(b["p_above"][i], p.prob_above(0.3), atol=1e-9)


def test_bad_data_rejected():
    with pytest.raises(ValueError, match="0 <= y <= n"):
        Engine(HIER).posterior([5, 30], [24, 24])


def test_one_off_posterior_tabulates_only_its_counts_and_equals_the_full_engine():
    """:func:`posterior` on the table path (``direct=False``) builds tables for the observed counts only; every
    summary equals the full tables'."""
    from analysis.bayes.engine import posterior
    from analysis.bayes.engine.direct import clear_one_off_engines

    clear_one_off_engines()
    y, n = [3, 12, 0], [24, 24, 12]
    full = Engine(EXNEX, 60).posterior(y, n, thresholds=[0.3])  # the one-off engine tabulates the tails it is asked
    one = posterior(EXNEX, y, n, direct=False)
    assert one._engine.table(24).ys.tolist() == [3, 12]
    np.testing.assert_array_equal(one.mean, full.mean)
    np.testing.assert_array_equal(one.sd, full.sd)
    np.testing.assert_array_equal(one.prob_above(0.3), full.prob_above(0.3))
    np.testing.assert_array_equal(one.quantile([0.025, 0.975]), full.quantile([0.025, 0.975]))
    assert one.new_mean == full.new_mean
    with pytest.raises(ValueError, match="hold only the counts"):
        Engine(EXNEX, 60, counts={24: {3, 12}, 12: {0}}).posterior([4, 12, 0], n)


def test_three_components_equal_direct_six_dimensional_grid():
    # J = 3: the subset convolution of the three components' integrals equals the direct sum over the product of
    # their (mu, tau) grids (coarse grids, so that the 6-D product fits in memory; the identity is exact on any grid)
    m3 = EngineModel(
        (
            ("Normal(-1.5, 1)", "HalfNormal(0.5)"),
            ("Normal(0, 1)", "HalfNormal(0.5)"),
            ("Normal(1.5, 1)", "HalfNormal(0.5)"),
        ),
        weights=[[0.3, 0.3, 0.3], [0.5, 0.2, 0.2], [0.1, 0.3, 0.5]],
        nex=[(0, 2), (0, 2), (-1, 1.5)],
        name="three",
    )
    y, n = np.array([2, 9, 14]), np.array([12, 16, 20])
    eng = Engine(m3, 48, resolution=0.1)
    post = eng.posterior(y, n)
    grids = eng.grids()
    W = m3.group_weights(3)
    nex = m3.group_nex(3)
    L = [[np.exp(eng.table(n[k], j).loglik[y[k]]) for j in range(3)] for k in range(3)]
    M = [[eng.table(n[k], j).m1[y[k]] for j in range(3)] for k in range(3)]
    Ln = [np.exp(eng.nex_table(n[k], *nex[k]).loglik[y[k], 0]) for k in range(3)]
    Mn = [eng.nex_table(n[k], *nex[k]).m1[y[k], 0] for k in range(3)]
    shapes = [(-1, 1, 1), (1, -1, 1), (1, 1, -1)]
    p = [np.exp(g.logw).reshape(s) for g, s in zip(grids, shapes)]
    fac, num = [], []
    for k in range(3):
        terms = [W[k, j] * L[k][j].reshape(shapes[j]) for j in range(3)]
        rest = (1 - W[k].sum()) * Ln[k]
        fac.append(sum(terms) + rest)
        num.append(sum(t * M[k][j].reshape(shapes[j]) for j, t in enumerate(terms)) + rest * Mn[k])
    joint = p[0] * p[1] * p[2] * fac[0] * fac[1] * fac[2]
    Z = joint.sum()
    for k in range(3):
        assert post.mean[k] == pytest.approx((joint / fac[k] * num[k]).sum() / Z, rel=1e-9)
        for j in range(3):
            exj = (joint / fac[k] * W[k, j] * L[k][j].reshape(shapes[j])).sum() / Z
            assert post.p_ex[k, j] == pytest.approx(exj, rel=1e-9)
    assert post.log_evidence == pytest.approx(math.log(Z), abs=1e-9)


def test_a_component_of_weight_zero_changes_nothing():
    two = EngineModel((("Normal(-1, 1)", "HalfNormal(0.5)"), ("Normal(1, 1)", "HalfNormal(0.5)")), [0.4, 0.4], (0, 2))
    three = EngineModel(
        (("Normal(-1, 1)", "HalfNormal(0.5)"), ("Normal(1, 1)", "HalfNormal(0.5)"), ("Normal(0, 3)", "HalfNormal(2)")),
        [0.4, 0.4, 0.0],
        (0, 2),
    )
    y, n = [1, 7, 12, 3], [12, 12, 14, 6]
    a, b = posterior(two, y, n), posterior(three, y, n)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-12)
    np.testing.assert_allclose(b.p_ex[:, :2], a.p_ex, rtol=1e-12)
    np.testing.assert_allclose(b.prob_above(0.3), a.prob_above(0.3), rtol=1e-10)
    assert b.p_ex[:, 2].max() == 0


def test_batch_with_two_components_equals_single_posteriors():
    m2 = EngineModel(
        (("Normal(-2.197, 3.18)", "HalfNormal(1)"), ("Normal(-0.847, 1.94)", "HalfNormal(1)")),
        weights=[0.25, 0.25],
        nex=(-1.386, 2.5),
        name="two",
    )
    n = [20, 20, 10, 10]
    eng = Engine(m2, 60, resolution=0.5)  # a coarser grid: the identity holds on any grid
    Y = np.array([[0, 2, 1, 5], [2, 2, 3, 3], [20, 0, 10, 0]])
    b = eng.batch(Y, n, [0.1, 0.1, 0.1, 0.1])
    for i, y in enumerate(Y):
        p = eng.posterior(y, n)
        np.testing.assert_allclose(b["mean"][i], p.mean, rtol=1e-10)
        np.testing.assert_allclose(b["m2"][i], p.sd**2 + p.mean**2, rtol=1e-9)
        np.testing.assert_allclose(b["p_ex"][i], p.p_ex.sum(1), rtol=1e-10)
        np.testing.assert_allclose(b["p_above"][i], p.prob_above(0.1), atol=1e-9)


def test_mode_search_does_not_bounce_far_from_the_prior_mean():
    """0 of 400 responders with mu = 3.84, tau = 0.19: plain bracketed Newton bounced between the bracket's ends
    for 200 iterations and returned a point far from the mode (log_q 0.5 too small, NaN posterior means)."""
    a, b, mu, tau = 0.0, 400.0, 3.84, 0.18820893
    mode, _ = E._mode(np.array([a]), np.array([b]), np.array([mu]), np.array([tau]))
    grad = a * expit(-mode) - b * expit(mode) - (mode - mu) / tau**2
    assert abs(grad[0]) < 1e-6
    # reference: the integral in log space about the true mode (scipy's adaptive quadrature)
    f = lambda t: np.exp(b * np.log(expit(-t)) + stats.norm.logpdf(t, mu, tau) - (-453.0))  # noqa: E731
    ref = np.log(integrate.quad(f, -3, 2, epsabs=0, epsrel=1e-12, points=[mode[0]])[0]) - 453.0
    assert log_q(a, b, mu, tau) == pytest.approx(ref, abs=1e-6)
    y = np.array([0, 200, 400] * 3)
    post = posterior(EngineModel.exnex("Normal(-1, 1)", "HalfNormal(0.1)", (0, 2), 0.9), y, np.full(9, 400))
    assert np.isfinite(post.mean).all() and post.mean[0] < 0.01 < 0.99 < post.mean[2]
