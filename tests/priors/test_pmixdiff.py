"""pmixdiff: the distribution of a difference, checked against independent 30-digit integration (mpmath).

The reference integrates over the *other* variable (P(X1 - X2 > q) = E_X1[F2(X1 - q)]) with mpmath's
tanh-sinh quadrature, which handles the endpoint singularities of Beta densities with a < 1 or
b < 1, so it shares neither formula nor quadrature with the implementation.
"""

import mpmath as mp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.priors import BetaMixture, GammaMixture, NormalMixture, pmixdiff

mp.mp.dps = 30


def _ref_beta_above(a1, b1, a2, b2, q, link="identity"):
    """P(g(X1) - g(X2) > q) = E_X1[P(X2 < ginv(g(X1) - q))]."""
    a1, b1, a2, b2, q = (mp.mpf(v) for v in (a1, b1, a2, b2, q))

    def ginv_shift(x):
        if link == "identity":
            return x - q
        if link == "log":
            return x * mp.e ** (-q)
        return 1 / (1 + mp.e ** (-(mp.log(x / (1 - x)) - q)))

    def F2(t):
        if t <= 0:
            return mp.mpf(0)
        if t >= 1:
            return mp.mpf(1)
        return mp.betainc(a2, b2, 0, t, regularized=True)

    f1 = lambda x: x ** (a1 - 1) * (1 - x) ** (b1 - 1) / mp.beta(a1, b1)  # noqa: E731
    pts = sorted({mp.mpf(0), mp.mpf(1) / 2, mp.mpf(1), *[c for c in (q, 1 + q) if 0 < c < 1]})
    return float(mp.quad(lambda x: f1(x) * F2(ginv_shift(x)), pts))


CASES = [
    (0.5, 0.5, 0.5, 0.5, 0.0),  # two Jeffreys priors
    (0.5, 1.0, 1.0, 1.0, 0.1),  # Beta(0.5, 1) treatment prior
    (1.0, 1.0, 0.5, 0.5, -0.2),
    (0.2, 0.3, 0.7, 0.1, 0.3),  # strongly U-shaped
    (3.5, 20.5, 0.5, 30.5, 0.05),  # posterior of a Jeffreys prior after 3/23 vs 0/30
    (12, 40, 0.5, 20.5, 0.0),
    (0.5, 0.5, 0.5, 0.5, 0.97),
]


@pytest.mark.parametrize("a1,b1,a2,b2,q", CASES)
def test_beta_difference_to_1e8_including_parameters_below_one(a1, b1, a2, b2, q):
    got = pmixdiff(BetaMixture([(1, a1, b1)]), BetaMixture([(1, a2, b2)]), q, lower_tail=False)
    assert abs(got - _ref_beta_above(a1, b1, a2, b2, q)) < 1e-8


@pytest.mark.parametrize("link,q", [("logit", 0.5), ("logit", -1.0), ("log", -0.5), ("log", 0.3)])
def test_beta_log_odds_and_log_relative_risk_to_1e8(link, q):
    got = pmixdiff(BetaMixture([(1, 0.5, 0.5)]), BetaMixture([(1, 2, 3)]), q, lower_tail=False, link=link)
    assert abs(got - _ref_beta_above(0.5, 0.5, 2, 3, q, link)) < 1e-8


def test_mixtures_are_weighted_sums_and_tails_complement():
    m1 = BetaMixture([(0.8, 11, 4), (0.2, 0.5, 0.5)])
    m2 = BetaMixture([(0.8, 8, 7), (0.2, 1, 1)])
    q = np.array([-0.3, 0.0, 0.3])
    ref = sum(
        w1 * w2 * np.array([_ref_beta_above(a1, b1, a2, b2, qi) for qi in q])
        for w1, a1, b1 in m1.components
        for w2, a2, b2 in m2.components
    )
    assert_allclose(pmixdiff(m1, m2, q, lower_tail=False), ref, atol=1e-8)
    assert_allclose(pmixdiff(m1, m2, q) + pmixdiff(m1, m2, q, lower_tail=False), 1.0, atol=1e-14)


def test_normal_difference_is_exact():
    # RBesT tests/testthat/test-mixdiff.R: the difference of normal mixtures is the normal mixture
    # with means m1 - m2 and sds sqrt(s1^2 + s2^2)
    m1 = NormalMixture([(0.2, 0, 2), (0.8, 2, 2)])
    m2 = NormalMixture([(1, 2, 2)])
    q = np.array([0.0, 1.5])
    ref = 0.2 * stats.norm.cdf(q, -2, np.sqrt(8)) + 0.8 * stats.norm.cdf(q, 0, np.sqrt(8))
    assert_allclose(pmixdiff(m1, m2, q), ref, rtol=1e-14)


@pytest.mark.parametrize("q,link", [(0.0, "identity"), (-2.0, "identity"), (0.3, "log")])
def test_gamma_difference_to_1e8(q, link):
    # RBesT test-mixdiff.R cases mixgamma(c(1, 20, 4)) vs mixgamma(c(1, 50, 10)), plus a shape < 1
    for (a1, b1), (a2, b2) in [((20, 4), (50, 10)), ((0.5, 0.25), (3, 2))]:
        got = pmixdiff(GammaMixture([(1, a1, b1)]), GammaMixture([(1, a2, b2)]), q, lower_tail=False, link=link)
        A1, B1, A2, B2, Q = (mp.mpf(v) for v in (a1, b1, a2, b2, q))
        f1 = lambda x: B1**A1 * x ** (A1 - 1) * mp.e ** (-B1 * x) / mp.gamma(A1)  # noqa: E731, B023
        shift = (lambda x: x - Q) if link == "identity" else (lambda x: x * mp.e ** (-Q))  # noqa: E731, B023
        F2 = lambda t: mp.gammainc(A2, 0, B2 * t, regularized=True) if t > 0 else mp.mpf(0)  # noqa: E731, B023
        pts = sorted({mp.mpf(0), *([Q] if link == "identity" and Q > 0 else []), A1 / B1, mp.inf})
        ref = float(mp.quad(lambda x: f1(x) * F2(shift(x)), pts))  # noqa: B023
        assert abs(got - ref) < 1e-8


def _cook_beta_above(a1, b1, a2, b2):
    """P(X1 > X2) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2) and whole a2, as the finite sum of Cook (2005), Exact
    calculation of beta inequalities (UT MD Anderson Biostatistics technical report UTMDABTR-005-05):
    P(X2 > X1) = sum_{i=0}^{a2-1} B(a1 + i, b1 + b2) / ((b2 + i) B(1 + i, b2) B(a1, b1)), in logs."""
    from scipy.special import betaln

    i = np.arange(int(a2))
    terms = betaln(a1 + i, b1 + b2) - np.log(b2 + i) - betaln(1 + i, b2) - betaln(a1, b1)
    return 1.0 - float(np.exp(terms).sum())


@pytest.mark.parametrize(
    "a1,b1,a2,b2",
    [
        (1301, 3701, 1251, 3751),  # flat priors after 1300/5000 vs 1250/5000 (issue 23: NaN, every boundary n + 1)
        (2501, 2501, 2401, 2601),
        (3, 4999, 1, 5001),  # near 0: the densities are 1e-3 wide at one end
        (4999, 3, 5001, 1),
        (40, 60, 41, 59),
    ],
)
def test_beta_difference_of_large_samples_matches_cooks_exact_sum(a1, b1, a2, b2):
    got = pmixdiff(BetaMixture([(1, a1, b1)]), BetaMixture([(1, a2, b2)]), 0.0, lower_tail=False)
    assert abs(got - _cook_beta_above(a1, b1, a2, b2)) < 1e-9


@pytest.mark.parametrize("q,link", [(0.0, "identity"), (0.05, "log"), (-0.1, "log")])
def test_gamma_difference_of_large_samples_is_a_beta_tail(q, link):
    """X1 > e^q X2 for Gamma(a1, b1) and Gamma(a2, b2) iff b1 X1 / (b1 X1 + b2 X2) ~ Beta(a1, a2) exceeds
    b1 e^q / (b1 e^q + b2): exact, and shares nothing with the quadrature (which overflowed to NaN here)."""
    from scipy.special import betaincc

    a1, b1, a2, b2 = 5000.0, 1000.0, 4900.0, 1000.0
    got = pmixdiff(GammaMixture([(1, a1, b1)]), GammaMixture([(1, a2, b2)]), q, lower_tail=False, link=link)
    t = b1 * np.exp(q) / (b1 * np.exp(q) + b2)
    assert abs(got - float(betaincc(a1, a2, t))) < 1e-9
