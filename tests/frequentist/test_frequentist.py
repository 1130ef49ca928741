import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.data import load_cohorts
from analysis.frequentist.benchmarks import benchmark_tests
from analysis.frequentist.heterogeneity import freeman_halton
from analysis.frequentist.meta import SCENARIOS, logit_effects, pool_dl, select


def test_benchmark_p_value_for_all_responders_is_p0_to_the_n():
    counts = pd.DataFrame({"endpoint": ["response"], "group": ["IIM"], "n": [3], "events": [3]})
    t = benchmark_tests(counts, (0.2, 0.5))
    assert_allclose(t["p_value"], [0.2**3, 0.5**3], rtol=1e-10)
    assert list(t["reject"]) == [True, False]


def test_heterogeneity_degenerate_when_everyone_responded():
    res = freeman_halton([8, 3, 4], [8, 3, 4])
    assert res.degenerate and res.p_value is None
    assert "not testable" in res.note


def test_heterogeneity_matches_fisher_for_two_groups():
    res = freeman_halton([7, 2], [8, 6])
    expected = stats.fisher_exact([[7, 1], [2, 4]]).pvalue
    assert_allclose(res.p_value, expected, rtol=1e-10)


def test_heterogeneity_three_groups_sums_to_one_at_least_observed():
    res = freeman_halton([1, 3, 4], [8, 3, 4])
    assert 0 < res.p_value < 0.05
    assert res.n_tables > 1


def test_logit_effect_with_continuity():
    eff, var = logit_effects(np.array([3]), np.array([3]), 0.5)
    assert_allclose(eff, np.log(3.5 / 0.5))
    assert_allclose(var, 1 / 3.5 + 1 / 0.5)


def test_pool_truncates_negative_tau2_to_fixed_effect():
    res = pool_dl([3, 1], [3, 1])
    eff, var = logit_effects(np.array([3, 1]), np.array([3, 1]), 0.5)
    w = 1 / var
    fixed = (w * eff).sum() / w.sum()
    se = np.sqrt(1 / w.sum())
    assert res["tau2"] == 0.0
    assert_allclose(res["estimate"], 1 / (1 + np.exp(-fixed)), rtol=1e-8)
    assert_allclose(res["lower"], 1 / (1 + np.exp(-(fixed - 1.959964 * se))), rtol=1e-5)


def test_pool_single_and_empty():
    assert pool_dl([3], [3])["k"] == 1
    assert np.isnan(pool_dl([], [])["estimate"])


def test_selection_keeps_one_row_per_overlap_group_and_no_pooled_rows():
    cohorts = load_cohorts()
    for scenario in SCENARIOS:
        chosen = select(cohorts, scenario)
        groups = chosen.loc[chosen["overlap_group"] != "", "overlap_group"]
        if scenario.pooled_only:
            assert set(groups) == {"POOLED"} and list(chosen["study_id"]) == ["SR_SLE_DORIS"]
            continue
        assert not groups.duplicated().any(), scenario.name
        assert "POOLED" not in set(groups)
    primary = select(cohorts, SCENARIOS[0])
    assert "MULLER24_SLE" in set(primary["study_id"]) and "MACKENSEN22" not in set(primary["study_id"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_restrictions_are_applied(scenario):
    chosen = select(load_cohorts(), scenario)
    assert not chosen["endpoint_class"].isin(scenario.exclude_endpoint_classes).any()
    if scenario.products:
        assert chosen["product_class"].isin(scenario.products).all()


def test_heterogeneity_large_tables_fall_back_to_monte_carlo_quickly():
    """Issue 23: 3 groups of 1e5 or 10 groups of 20 enumerated every table for minutes; the Monte Carlo exact
    test answers in about a second, seeded, and says why."""
    import time

    from analysis.frequentist.heterogeneity import MAX_ENUMERATION, enumeration_size

    for events, n in (([50_000, 50_500, 49_000], [100_000] * 3), ([10] * 9 + [15], [20] * 10)):
        assert enumeration_size(n) > MAX_ENUMERATION
        t0 = time.perf_counter()
        res = freeman_halton(events, n)
        assert time.perf_counter() - t0 < 30
        assert res.method == "monte-carlo" and 0 < res.p_value <= 1
        assert "the exact enumeration would visit" in res.note and f"{MAX_ENUMERATION:,}" in res.note
        assert freeman_halton(events, n).p_value == res.p_value  # seeded


def test_heterogeneity_monte_carlo_agrees_with_the_exact_enumeration():
    """The Monte Carlo exact test estimates the enumerated p-value (within 4 Monte Carlo SE), for 2 groups the
    p-value of Fisher's exact test (scipy.stats.fisher_exact) and for 3 groups the Freeman-Halton p-value."""
    for events, n in (([7, 2], [8, 6]), ([1, 3, 4], [8, 3, 4]), ([3, 5, 2, 6], [9, 8, 7, 10])):
        exact = freeman_halton(events, n)
        mc = freeman_halton(events, n, max_tables=0, draws=200_000, seed=7)
        assert exact.method == "exact" and mc.method == "monte-carlo"
        assert abs(mc.p_value - exact.p_value) < 4 * mc.mcse + 1e-5, (events, exact.p_value, mc.p_value)
    assert_allclose(freeman_halton([7, 2], [8, 6]).p_value, stats.fisher_exact([[7, 1], [2, 4]]).pvalue, rtol=1e-10)
