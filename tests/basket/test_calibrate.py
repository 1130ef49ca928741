"""Calibrated decision thresholds: baskexact's adjust_lambda, and brute force on small designs."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from analysis.basket.calibrate import Calibration, calibrate, partial_nulls
from analysis.basket.design import Design, Indication, Method, Scenario, exact_oc
from analysis.basket.methods.jsd import jsd_posterior
from analysis.basket.spec import DesignError, parse


def _fwer_baskexact(lam, p_above, P):
    """baskexact's rule: a go when the posterior probability is at least lambda."""
    return float(P @ (p_above >= lam).any(1))


def test_common_threshold_reproduces_baskexact_adjust_lambda():
    """baskexact (github.com/lbau7/baskexact) tests/testthat/test-adjust_lambda.R, first test_that block
    (lines 1-20): k = 3, Beta(1, 1), theta0 = 0.2, n = 15, Fujikawa weights with epsilon = 1, tau = 0,
    logbase = 2, alpha = 0.025.  adjust_lambda returns the smallest lambda with 4 decimals whose exact
    family-wise error (go when P(p > 0.2) >= lambda) is at most alpha; the test asserts FWER(lambda) <=
    0.025 < FWER(lambda - 0.0001).  Our threshold is exact (go when P > c); the 4-decimal lambda is the
    smallest such number above it, and both of baskexact's assertions must hold for it."""
    inds = [Indication(f"B{i}", 15, 0.2, 0.5, 0.99) for i in range(3)]
    m = Method("jsd", "jsd", {"prior": (1, 1), "epsilon": 1.0, "tau": 0.0, "logbase": 2.0})
    d = Design("adjust_lambda", inds, [m], [Scenario("null", (0.2,) * 3)])
    res = calibrate(d, m, Calibration(0.025, "fwer", common=True))
    c = res["thresholds"][0]
    assert np.all(res["thresholds"] == c)
    assert res["rows"][0]["fwer"] <= 0.025
    # the outcome space by brute force, one posterior per outcome
    Y = np.array(list(itertools.product(range(16), repeat=3)))
    a, b = jsd_posterior(Y, np.full_like(Y, 15), (1, 1), 1.0, 0.0, 2.0)
    pa = stats.beta.sf(0.2, a, b)
    P = np.prod(stats.binom.pmf(Y, 15, 0.2), 1)
    lam = math.floor(c * 1e4) / 1e4 + 1e-4
    assert _fwer_baskexact(lam, pa, P) <= 0.025 < _fwer_baskexact(lam - 1e-4, pa, P)
    assert res["rows"][0]["fwer"] == pytest.approx(float(P @ (pa > c).any(1)), abs=1e-12)


def _brute(design, thresholds, p):
    """Per-indication go probabilities of independent Beta(1, 1) analyses, one outcome at a time."""
    ns = [i.n for i in design.indications]
    go = np.zeros(len(ns))
    for ys in itertools.product(*[range(n + 1) for n in ns]):
        pr = math.prod(stats.binom.pmf(y, n, q) for y, n, q in zip(ys, ns, p))
        for k, (y, n, ind) in enumerate(zip(ys, ns, design.indications)):
            if stats.beta.sf(ind.p0, 1 + y, 1 + n - y) > thresholds[k]:
                go[k] += pr
    return go


def test_per_indication_thresholds_are_the_smallest_at_most_alpha_by_brute_force():
    inds = [Indication("A", 7, 0.2, 0.5, 0.9), Indication("B", 9, 0.3, 0.6, 0.9)]
    m = Method("independent", "independent", {"prior": (1.0, 1.0)})
    d = Design("t", inds, [m], [Scenario("null", (0.2, 0.3))])
    res = calibrate(d, m, Calibration(0.1))
    thr = res["thresholds"]
    err = _brute(d, thr, (0.2, 0.3))
    assert np.all(err <= 0.1)
    np.testing.assert_allclose([r["type1"] for r in res["rows"]], err, atol=1e-12)
    # the next lower attainable threshold (the next posterior probability below) breaks alpha
    for k, ind in enumerate(inds):
        probs = np.sort(stats.beta.sf(ind.p0, 1 + np.arange(ind.n + 1), 1 + ind.n - np.arange(ind.n + 1)))
        lower = probs[probs < thr[k]].max()
        t = thr.copy()
        t[k] = lower
        assert _brute(d, t, (0.2, 0.3))[k] > 0.1


def test_partial_null_control_bounds_the_worst_case_of_borrowing():
    inds = [Indication(f"B{i}", 8, 0.2, 0.5, 0.9) for i in range(3)]
    m = Method("jsd", "jsd", {"prior": (1, 1), "epsilon": 2.0, "tau": 0.0})
    scen = [Scenario("null", (0.2,) * 3)]
    d = Design("t", inds, [m], scen)
    each = calibrate(d, m, Calibration(0.05, "each"))
    worst = calibrate(d, m, Calibration(0.05, "partial"))
    assert np.all(worst["thresholds"] >= each["thresholds"])  # protecting the worst case costs threshold
    for k in range(3):
        errs = [
            exact_oc(d, m, [Scenario("p", p)], thresholds=worst["thresholds"])[k]["go"] for p in partial_nulls(d, k)
        ]
        assert max(errs) <= 0.05 + 1e-12
        assert max(errs) == pytest.approx(worst["rows"][k]["type1_max_partial"], abs=1e-12)
    # with the thresholds calibrated for the global null alone, borrowing from active indications inflates
    errs = [exact_oc(d, m, [Scenario("p", p)], thresholds=each["thresholds"])[0]["go"] for p in partial_nulls(d, 0)]
    assert max(errs) > 0.05


def test_simulated_calibration_agrees_with_exact_within_monte_carlo_error():
    inds = [Indication(f"B{i}", 10, 0.2, 0.5, 0.9) for i in range(2)]
    m = Method("mem", "mem", {"prior": (1, 1), "inclusion": 0.5})
    d = Design("t", inds, [m], [Scenario("null", (0.2, 0.2))], seed=7)
    ex = calibrate(d, m, Calibration(0.1))
    sim = calibrate(d, m, Calibration(0.1, n_sim=20_000), exact=False)
    for k in range(2):
        true_err = exact_oc(d, m, [Scenario("n", (0.2, 0.2))], thresholds=sim["thresholds"])[k]["go"]
        assert abs(sim["rows"][k]["type1"] - true_err) <= 4 * sim["rows"][k]["mcse"] + 1e-9
        assert sim["rows"][k]["mcse"] > 0 and ex["rows"][k]["mcse"] == 0


BASE = {
    "indication": [{"name": "A", "n": 10, "p0": 0.3, "target": 0.6, "c": 0.9}],
    "method": {"independent": {}},
    "scenarios": {"generate": ["null", "target"]},
}


@pytest.mark.parametrize(
    "patch,message",
    [
        ({"calibration": {"alpha": 1.0}}, r"f.toml, \[calibration\], key 'alpha': 1.0 must be < 1"),
        ({"calibration": {"alpha": 0}}, r"f.toml, \[calibration\], key 'alpha': 0.0 must be > 0"),
        ({"calibration": {"alpha": math.nan}}, r"f.toml, \[calibration\], key 'alpha': nan is not a finite"),
        ({"calibration": {"alpha": 0.1, "control": "fwr"}}, r"key 'control'.*did you mean 'fwer'"),
        (
            {"calibration": {"alpha": 0.1}, "scenarios": {"generate": ["target"]}},
            r"f.toml, \[calibration\], key 'alpha': calibration needs the global null",
        ),
    ],
)
def test_bad_calibration_tables_name_file_table_and_key(patch, message):
    with pytest.raises(DesignError, match=message):
        parse(BASE | patch, "f.toml")
