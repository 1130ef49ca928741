"""The engine's fast paths against its table path: lazily extended one-off engines, tabulated tails, batch
posteriors from per-count mixed factors, tables shared between basket methods, Beta tails per distinct argument."""

import numpy as np
import pytest

from analysis.bayes.engine import Engine, EngineModel, group_table, posterior
from analysis.bayes.engine.direct import clear_one_off_engines
from analysis.bayes.engine.tables import extend_rows

# Neuenschwander et al. (2016), Table V: two exchangeable components and NEX (the speed target's model), on a
# coarse grid (resolution 0.5) so that the full tables stay quick to build
TWO = EngineModel(
    (("Normal(-2.1972246, 3.18)", "HalfNormal(1)"), ("Normal(-0.8472979, 1.94)", "HalfNormal(1)")),
    weights=[0.25, 0.25],
    nex=(-1.3862944, 2.5),
)
EXNEX = EngineModel.exnex("Normal(0, 1.5)", "HalfNormal(1)", (0, 2), 0.5)
HIER = EngineModel.hierarchical("Normal(0, 1.5)", "HalfNormal(1)")
N = [20, 20, 10, 10]


# A row's numbers do not depend on which other rows are computed with it, except for the last bit: the panel sums'
# matrix-vector product (OpenBLAS's dgemv) rounds the rows left over after its blocks of four differently
ULP = {"rtol": 1e-14, "atol": 1e-300}


def test_extended_table_equals_one_built_at_once():
    eng = Engine(EXNEX, 48, resolution=0.5)
    g = eng.grids()[0]
    part = group_table(12, g, eng.nodes, thresholds=(0.3,), ys=[2, 7])
    extend_rows(part, g, eng.nodes, [0, 7, 12])
    full = group_table(12, g, eng.nodes, thresholds=(0.3,), ys=[0, 2, 7, 12])
    assert part.ys.tolist() == [0, 2, 7, 12]
    for name in ("loglik", "m1", "m2"):
        np.testing.assert_allclose(getattr(part, name), getattr(full, name), **ULP)
    np.testing.assert_allclose(part.tails[0.3], full.tails[0.3], **ULP)
    assert np.isnan(part.loglik[1]).all()  # rows never asked for stay uncomputed


def test_one_off_posteriors_reuse_their_engine_and_equal_the_full_tables():
    """Successive one-off posteriors (new counts each time) equal an engine holding every count's table row."""
    clear_one_off_engines()
    full = Engine(TWO, sum(N), resolution=0.5)
    first = None
    for y in ([2, 5, 1, 4], [3, 5, 1, 4], [3, 5, 1, 4], [0, 20, 10, 0]):
        one = posterior(TWO, y, N, resolution=0.5, direct=False)
        first = first or one._engine
        assert one._engine is first  # kept, not rebuilt
        ref = full.posterior(y, N, thresholds=[0.1])
        for a, b in ((one.mean, ref.mean), (one.sd, ref.sd), (one.p_ex, ref.p_ex)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(one.prob_above(0.1), ref.prob_above(0.1), rtol=1e-12, atol=1e-15)
    assert first.table(20, 1).ys.tolist() == [0, 2, 3, 5, 20]


@pytest.mark.parametrize("model", [TWO, EXNEX], ids=["two-components", "exnex"])
def test_tabulated_tails_agree_with_tails_integrated_per_posterior(model):
    """P(p > x) from the tables (``thresholds``) and integrated over the posterior's grid points: the same
    integral, the second leaving out grid points of relative weight below 1e-16."""
    eng = Engine(model, sum(N), resolution=0.5)
    for y in ([2, 5, 1, 4], [0, 20, 10, 0]):
        tab = eng.posterior(y, N, thresholds=[0.1, 0.4])
        direct = Engine(model, sum(N), resolution=0.5).posterior(y, N)
        for x in (0.1, 0.4):
            np.testing.assert_allclose(tab.prob_above(x), direct.prob_above(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("model", [HIER, EXNEX], ids=["hierarchical", "exnex"])
def test_batch_from_mixed_factors_equals_one_posterior_per_row(model):
    n = [12, 5, 20]
    eng = Engine(model, sum(n), resolution=0.5)
    Y = np.array([[0, 0, 0], [12, 5, 20], [3, 1, 9], [3, 4, 9], [7, 2, 1]])
    b = eng.batch(Y, n, [0.2, 0.3, 0.25])
    for i, y in enumerate(Y):
        p = eng.posterior(y, n, thresholds=[0.2, 0.3, 0.25])
        np.testing.assert_allclose(b["mean"][i], p.mean, rtol=0, atol=1e-13)
        np.testing.assert_allclose(b["m2"][i], p.sd**2 + p.mean**2, rtol=0, atol=1e-13)
        np.testing.assert_allclose(b["p_ex"][i], p.p_ex[:, 0], rtol=0, atol=1e-13)
        pa = [p.prob_above(x)[k] for k, x in enumerate((0.2, 0.3, 0.25))]
        np.testing.assert_allclose(b["p_above"][i], pa, rtol=0, atol=1e-13)


def test_basket_methods_share_shifted_tables_with_the_same_numbers():
    from analysis.basket.methods.logit_normal import _SHIFTED, shifted_table

    a = Engine(HIER, 36, resolution=0.5)
    b = Engine(EXNEX, 36, resolution=0.5)  # the same exchangeable component: the same grid
    _SHIFTED.clear()
    ta = shifted_table(a, 12, 0, -0.85, [0.3])
    assert shifted_table(b, 12, 0, -0.85, [0.3]) is ta
    g = a.grids()[0]
    own = group_table(12, type(g)(g.mu - 0.85, g.tau, g.logw), a.nodes, thresholds=[0.3])
    np.testing.assert_array_equal(ta.loglik, own.loglik)
    np.testing.assert_array_equal(ta.tails[0.3], own.tails[0.3])
    other = Engine(EngineModel.hierarchical("Normal(0, 1)", "HalfNormal(1)"), 36, resolution=0.5)
    assert shifted_table(other, 12, 0, -0.85, [0.3]) is not ta  # another prior: its own grid and table


def test_one_off_engines_are_kept_per_exact_model():
    """Models whose weights differ below a numpy repr's 8 digits get engines of their own."""
    clear_one_off_engines()
    a = EngineModel.exnex("Normal(0, 1.5)", "HalfNormal(1)", (0, 2), np.array([[0.5], [0.3]]))
    b = EngineModel.exnex("Normal(0, 1.5)", "HalfNormal(1)", (0, 2), np.array([[0.5], [0.300000001]]))
    pa = posterior(a, [3, 4], [10, 12], resolution=0.5)
    pb = posterior(b, [3, 4], [10, 12], resolution=0.5)
    assert pa._engine is not pb._engine
    assert posterior(a, [5, 4], [10, 12], resolution=0.5)._engine is pa._engine


def test_batch_rows_do_not_depend_on_the_counts_met_before():
    """Batch factors are computed per count on first use: the same bits whichever trials came first (so that one
    worker and several give identical simulated OC)."""
    n = [12, 5, 20]
    Y = np.array([[3, 1, 9], [0, 5, 20], [7, 2, 1]])
    fresh = Engine(EXNEX, sum(n), resolution=0.5).batch(Y, n, 0.3)
    seasoned = Engine(EXNEX, sum(n), resolution=0.5)
    seasoned.batch(np.array([[3, 4, 9], [12, 0, 0]]), n, 0.3)  # other counts first, one shared (3)
    again = seasoned.batch(Y, n, 0.3)
    for q in ("mean", "m2", "p_above", "p_ex"):
        np.testing.assert_array_equal(again[q], fresh[q])
    assert seasoned.mixed_factor(12, 0.3, np.log(0.5), np.log1p(-0.5), (0.0, 2.0)).have.sum() == 4  # 0, 3, 7, 12
