import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.frequentist.intervals import interval, interval_table, upper_bound


@pytest.mark.parametrize("n", [1, 3, 4, 8, 15, 40])
def test_clopper_pearson_all_responders_closed_form(n):
    lo, hi = interval(n, n, "clopper-pearson", 0.95)
    assert_allclose(lo, 0.025 ** (1 / n), rtol=1e-10)
    assert hi == 1.0


@pytest.mark.parametrize("n", [3, 15])
def test_clopper_pearson_zero_events_closed_form(n):
    lo, hi = interval(0, n, "clopper-pearson", 0.95)
    assert lo == 0.0
    assert_allclose(hi, 1 - 0.025 ** (1 / n), rtol=1e-10)


@pytest.mark.parametrize(("x", "n"), [(3, 10), (11, 15), (1, 15)])
def test_wilson_closed_form(x, n):
    z = stats.norm.ppf(0.975)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert_allclose(interval(x, n, "wilson"), (centre - half, centre + half), rtol=1e-10)


@pytest.mark.parametrize(("x", "n"), [(3, 10), (11, 15)])
def test_jeffreys_is_beta_quantiles(x, n):
    expected = stats.beta.ppf([0.025, 0.975], x + 0.5, n - x + 0.5)
    assert_allclose(interval(x, n, "jeffreys"), expected, rtol=1e-10)


def test_jeffreys_boundary_modification():
    assert interval(8, 8, "jeffreys")[1] == 1.0
    assert interval(0, 8, "jeffreys")[0] == 0.0


def test_one_sided_upper_bound_zero_events_is_exact_rule_of_three():
    assert_allclose(upper_bound(0, 15, 0.95), 1 - 0.05 ** (1 / 15), rtol=1e-10)


def test_bad_counts_are_rejected():
    with pytest.raises(ValueError, match="0 <= events <= n"):
        interval(9, 8, "wilson")
    with pytest.raises(ValueError, match="unknown interval method"):
        interval(1, 8, "wald")


def test_table_adds_one_sided_bound_only_for_zero_events():
    counts = pd.DataFrame({"endpoint": ["a", "b"], "group": ["all", "all"], "n": [15, 15], "events": [0, 1]})
    t = interval_table(counts)
    upper_rows = t[t["method"] == "clopper-pearson-upper"]
    assert list(upper_rows["endpoint"]) == ["a"]
    assert upper_rows["lower"].iloc[0] == 0.0
    assert set(t["level"]) == {0.95}


@pytest.mark.parametrize(("n", "expected"), [(3, 0.37), (4, 0.47), (8, 0.69), (15, 0.82)])
def test_one_sided_lower_bound_for_all_responders(n, expected):
    """The statistical referee's values: exact one-sided 95% lower bounds for IIM 3/3, SSc 4/4, SLE 8/8, all 15/15.

    Closed form for x = n: 0.05 ** (1 / n) (Clopper and Pearson 1934)."""
    from analysis.frequentist.intervals import lower_bound

    assert lower_bound(n, n) == pytest.approx(0.05 ** (1 / n), rel=1e-12)
    assert round(lower_bound(n, n), 2) == expected


def test_one_sided_lower_bound_is_where_the_exact_test_stops_rejecting():
    from analysis.frequentist.intervals import lower_bound

    for x, n in [(3, 10), (7, 9), (1, 1)]:
        lb = lower_bound(x, n)
        assert stats.binomtest(x, n, lb, alternative="greater").pvalue == pytest.approx(0.05, rel=1e-6)
