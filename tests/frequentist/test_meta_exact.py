"""The exact binomial-normal random-effects model (analysis/frequentist/binomial_normal.py) and its use in frequentist/meta.py."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, optimize, stats
from scipy.special import expit, logit

from analysis.frequentist.binomial_normal import fit, loglik, typical_within_variance

# dat.nielweise2007 (Niel-Weise et al. 2007, Intensive Care Med 33:2058), as used by Stijnen, Hamza &
# Ozdemir (2010), Stat Med 29:3046-3067, Table II; copied from metafor's data source
# (github.com/wviechtb/metadat, data-raw/dat.nielweise2007.txt).  ci/n2i: standard catheters,
# ai/n1i: anti-infective catheters (8 arms with 0 events).
CI = [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1]
N2I = [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69]
AI = [0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4]
N1I = [116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64]

# metafor's own regression test of rma.glmm(measure="PLO") against Stijnen et al. (2010) Table II
# (github.com/wviechtb/metafor, tests/testthat/test_analysis_example_stijnen2010.r; the paper prints
# -3.50, 0.26, 0.81 and -4.81, 0.36, 0.83).  metafor fits with lme4::glmer, nAGQ = 7 adaptive
# quadrature points, so its 4th decimal can differ from a 32-point fit; tolerances below allow that.
# columns: mu, se(mu), tau2, expit(mu), Wald CI of the rate (lower, upper)
METAFOR = {
    "standard": (CI, N2I, (-3.4964, 0.2570, 0.8124, 0.0294, 0.0180, 0.0478)),
    "anti-infective": (AI, N1I, (-4.8121, 0.3555, 0.8265, 0.0081, 0.0040, 0.0161)),
}


def quad_loglik(y, n, mu, tau):
    """Independent brute force: scipy.integrate.quad over theta for every study."""
    total = 0.0
    for yi, ni in zip(y, n):
        if tau == 0:
            total += stats.binom.logpmf(yi, ni, expit(mu))
            continue

        logc = math.lgamma(ni + 1) - math.lgamma(yi + 1) - math.lgamma(ni - yi + 1)

        def f(t, yi=yi, ni=ni, logc=logc):
            # log expit(t) = -log1p(exp(-t)), written to stay finite for large |t|
            log_p = -math.log1p(math.exp(-t)) if t > 0 else t - math.log1p(math.exp(t))
            log_q = log_p - t
            z = (t - mu) / tau
            return math.exp(logc + yi * log_p + (ni - yi) * log_q - 0.5 * z * z) / (tau * math.sqrt(2 * math.pi))

        mode_guess = logit((yi + 0.5) / (ni + 1))
        val, _ = integrate.quad(
            f,
            mu - 12 * tau,
            mu + 12 * tau,
            points=sorted({mu, min(max(mode_guess, mu - 12 * tau), mu + 12 * tau)}),
            limit=200,
            epsabs=0,
            epsrel=1e-11,
        )
        total += math.log(val)
    return total


@pytest.mark.parametrize("name", METAFOR)
def test_matches_metafor_rma_glmm_stijnen2010(name):
    y, n, (mu, se, tau2, rate, lo, hi) = METAFOR[name]
    f = fit(y, n)
    z = stats.norm.ppf(0.975)
    assert_allclose(f.mu, mu, atol=5e-4)
    assert_allclose(f.se_mu, se, atol=5e-4)
    assert_allclose(f.tau2, tau2, atol=2e-3)  # nAGQ = 7 vs 32 nodes
    assert_allclose(f.rate, rate, atol=1e-4)
    assert_allclose(expit(f.mu - z * f.se_mu), lo, atol=1e-4)
    assert_allclose(expit(f.mu + z * f.se_mu), hi, atol=1e-4)
    assert f.status == "ok"
    # profile-likelihood interval brackets the estimate; with k = 18 it is near the Wald one, longer
    # on the low side in the sparse anti-infective arm (8 arms with 0 events)
    assert f.mu_lower < f.mu < f.mu_upper and 0 < f.tau_lower < f.tau < f.tau_upper < math.inf
    assert 0 <= (f.mu - z * f.se_mu) - f.mu_lower < 0.25 and abs(f.mu_upper - (f.mu + z * f.se_mu)) < 0.1


@pytest.mark.parametrize(
    "y, n, mu, tau",
    [
        (3, 3, 1.0, 0.5),  # all events
        (0, 12, -1.0, 2.0),  # no events
        (8, 8, 3.0, 1e-5),  # tau -> 0
        (5, 7, 0.0, 6.0),  # very heterogeneous
        (19, 103, -3.0, 0.9),
        (345, 345, -2.0, 15.0),  # extreme: large n, all events, large tau
    ],
)
def test_quadrature_matches_brute_force_integration(y, n, mu, tau):
    assert_allclose(loglik([y], [n], mu, tau), quad_loglik([y], [n], mu, tau), rtol=1e-9, atol=1e-10)


def test_tau_to_zero_is_the_fixed_effect_binomial_likelihood():
    y, n = [8, 12, 5], [8, 15, 7]
    fixed = sum(stats.binom.logpmf(a, b, expit(0.7)) for a, b in zip(y, n))
    assert_allclose(loglik(y, n, 0.7, 0.0), fixed, rtol=1e-12)
    assert_allclose(loglik(y, n, 0.7, 1e-7), fixed, rtol=1e-9)


def test_ml_estimate_matches_brute_force_optimisation():
    y, n = [8, 12, 5, 2, 30], [8, 15, 7, 10, 40]
    f = fit(y, n)
    assert f.status == "ok" and f.tau > 0.5
    # (mu-hat, tau-hat) is a stationary point and a local maximum of the brute-force likelihood
    assert_allclose(f.loglik, quad_loglik(y, n, f.mu, f.tau), atol=1e-9)
    h = 1e-3
    for dm, dt in ((h, 0), (-h, 0), (0, h), (0, -h), (h, h), (-h, -h)):
        assert quad_loglik(y, n, f.mu + dm, f.tau + dt) < f.loglik
    grad = [
        (quad_loglik(y, n, f.mu + h, f.tau) - quad_loglik(y, n, f.mu - h, f.tau)) / (2 * h),
        (quad_loglik(y, n, f.mu, f.tau + h) - quad_loglik(y, n, f.mu, f.tau - h)) / (2 * h),
    ]
    assert_allclose(grad, 0, atol=1e-4)
    # and the global one: no point of a coarse grid does better
    assert max(quad_loglik(y, n, m, t) for m in np.linspace(-1, 3, 9) for t in (0, 0.5, 1, 2, 4)) < f.loglik
    # the profile bounds are where max_tau l(mu, tau) is l_max - chi2_1(0.95)/2
    cut = f.loglik - stats.chi2.ppf(0.95, 1) / 2
    for m in (f.mu_lower, f.mu_upper):
        best = optimize.minimize_scalar(lambda t, m=m: -quad_loglik(y, n, m, t), bounds=(0, 6), method="bounded")
        assert_allclose(-best.fun, cut, atol=1e-4)
    for t in (f.tau_lower, f.tau_upper):
        best = optimize.minimize_scalar(lambda m, t=t: -quad_loglik(y, n, m, t), bounds=(-3, 5), method="bounded")
        assert_allclose(-best.fun, cut, atol=1e-4)


def test_boundary_tau_zero_gives_the_fixed_effect_fit():
    # SLE remission cohorts of the data file: tau-hat = 0, mu-hat = logit of the pooled proportion
    y, n = [8, 12, 5], [8, 15, 7]
    f = fit(y, n)
    assert f.status == "tau_boundary" and f.tau == 0.0 and f.tau_lower == 0.0
    assert_allclose(f.mu, logit(25 / 30), atol=1e-6)
    assert f.i2 == 0.0
    assert any("boundary" in s for s in f.notes)
    # fixed-effect information at tau = 0: se = 1 / sqrt(N p (1 - p))
    assert_allclose(f.se_mu, 1 / math.sqrt(30 * (25 / 30) * (5 / 30)), rtol=1e-4)


def test_all_responders_have_no_finite_estimate_and_a_one_sided_bound():
    f = fit([3, 4, 6], [3, 4, 6])
    assert f.status == "monotone" and f.mu == math.inf and f.rate == 1.0 and math.isnan(f.tau)
    assert f.mu_upper == math.inf and math.isnan(f.i2)
    # here the bound is where the fixed-effect likelihood 13 log expit(mu) drops by 1.92
    assert_allclose(f.mu_lower, logit(math.exp(-stats.chi2.ppf(0.95, 1) / 2 / 13)), atol=1e-5)
    assert_allclose(f.rate_lower, math.exp(-stats.chi2.ppf(0.95, 1) / 2 / 13), atol=1e-6)
    # with one or two such studies the profile never drops below -k log 2 > -1.92: no bound at all
    for k in (1, 2):
        g = fit([5] * k, [5] * k)
        assert g.mu_lower == -math.inf and g.status == "monotone"
    # no events mirrors all events
    h = fit([0, 0, 0], [3, 4, 6])
    assert h.mu == -math.inf and h.mu_lower == -math.inf
    assert_allclose(h.mu_upper, -f.mu_lower, atol=1e-5)


def test_single_study_fit_is_flagged():
    f = fit([5], [7])
    assert f.k == 1 and math.isnan(f.i2)
    assert any("one study" in s for s in f.notes)


def test_i2_uses_metafor_typical_within_study_variance():
    # metafor R/rma.glmm.r: vi from escalc(measure="PLO", add=1/2, to="only0"), s2 = (k-1)/tr(P)
    y, n = np.array(CI), np.array(N2I)
    add = np.where((y == 0) | (y == n), 0.5, 0)
    v = 1 / (y + add) + 1 / (n - y + add)
    w = 1 / v
    s2 = (len(y) - 1) / (w.sum() - (w**2).sum() / w.sum())
    assert_allclose(typical_within_variance(y, n), s2, rtol=1e-12)
    f = fit(CI, N2I)
    assert_allclose(f.i2, f.tau2 / (f.tau2 + s2), rtol=1e-12)
    lo, hi = f.prediction()
    assert_allclose(hi - f.mu, stats.norm.ppf(0.975) * math.sqrt(f.se_mu**2 + f.tau2))


@pytest.mark.slow
def test_profile_interval_coverage():
    rng = np.random.default_rng(20240222)
    mu, tau, k, hits_mu, hits_tau, reps = 0.5, 0.6, 6, 0, 0, 60
    for _ in range(reps):
        n = rng.integers(15, 40, size=k)
        y = rng.binomial(n, expit(rng.normal(mu, tau, size=k)))
        f = fit(y, n)
        hits_mu += f.mu_lower <= mu <= f.mu_upper
        hits_tau += f.tau_lower <= tau <= f.tau_upper
    assert 0.85 <= hits_mu / reps <= 1.0
    assert 0.80 <= hits_tau / reps <= 1.0


# --- integration in analysis/meta.py -----------------------------------------------------------


@pytest.fixture(scope="module")
def table():
    from analysis.data import load_cohorts
    from analysis.frequentist.meta import meta_table

    return meta_table(load_cohorts())


def test_meta_table_never_pools_different_endpoints(table):
    from analysis.data import load_cohorts

    cohorts = load_cohorts().set_index("study_id")
    for r in table[table["k"] > 0].itertuples():
        classes = set(cohorts.loc[r.studies.split(";"), "endpoint_class"])
        assert classes == {r.endpoint_class}, (r.scenario, r.group, r.studies)
    # the SSc cohorts of the primary scenario are two single studies, not one pooled row
    ssc = table[(table["scenario"] == "primary") & (table["group"] == "SSc")]
    assert set(ssc["endpoint_class"]) == {"event_free", "nonstandard"} and (ssc["k"] == 1).all()


def test_single_study_strata_are_not_pooled(table):
    single = table[table["k"] == 1]
    assert (single["role"] == "single-study").all() and (single["method"] == "single-study-clopper-pearson").all()
    assert single["note"].str.contains("not a meta-analysis").all()
    assert single["tau"].isna().all() and single["i2"].isna().all()
    r = single[(single["scenario"] == "strict") & (single["group"] == "SLE")].iloc[0]
    assert r.estimate == 1.0 and r.upper == 1.0
    assert_allclose(r.lower, 0.025 ** (1 / 8), rtol=1e-10)  # Clopper-Pearson for 8/8


def test_pooled_strata_have_primary_exact_and_labelled_dl_sensitivity(table):
    pooled = table[table["k"] >= 2]
    assert len(pooled) > 0
    for _, g in pooled.groupby(["scenario", "group", "endpoint_class"]):
        assert sorted(g["role"]) == ["primary", "sensitivity"]
        prim = g[g["role"] == "primary"].iloc[0]
        dl = g[g["role"] == "sensitivity"].iloc[0]
        assert prim["method"] == "binomial-normal-ml" and prim["note"].startswith("primary")
        assert dl["method"] == "random-effects-dl" and dl["note"].startswith("sensitivity analysis")
        assert np.isnan(prim["continuity"]) and dl["continuity"] == 0.5
        for c in ("mu", "tau", "tau2", "i2", "mu_lower", "mu_upper", "tau_lower", "tau_upper"):
            assert not np.isnan(prim[c]), c
    # SLE remission: 8/8, 12/15, 5/7 -> tau-hat = 0 and the pooled rate is 25/30
    sle = pooled[(pooled["scenario"] == "primary") & (pooled["group"] == "SLE") & (pooled["role"] == "primary")].iloc[0]
    assert sle["k"] == 3 and sle["tau"] == 0.0 and sle["tau_lower"] == 0.0 and sle["i2"] == 0.0
    assert_allclose(sle["estimate"], 25 / 30, rtol=1e-6)
    assert sle["lower"] < 25 / 30 < sle["upper"]
