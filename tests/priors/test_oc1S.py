"""decision1S, decision1S_boundary, oc1S, pos1S."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats

from analysis.priors import (
    BetaMixture,
    GammaMixture,
    NormalMixture,
    decision1S,
    decision1S_boundary,
    oc1S,
    pos1S,
)

ROBUST3 = BetaMixture([(0.5, 7.0, 20.0), (0.3, 35.0, 100.0), (0.2, 1.0, 1.0)])


def test_neuenschwander_2011_double_criterion_design():
    """Neuenschwander et al., Stat Med 2011;30:1618 (as reproduced in RBesT tests/testthat/test-oc1S.R):
    non-inferiority, sigma 2, margin 0.4, alpha 0.05.  Printed (2 digits): n = 155 power 0.80 at 0,
    type I 0.05; n = 233 power 0.92; n = 77 power 0.55; dual criterion with theta_c = c1: 0.50 at
    theta_c and 0.05 at 0.4 for n = 155, 0.50 / 0.02 for n = 233, 0.32 / 0.05 for n = 78.
    Tolerance 0.005 (two printed digits)."""
    s, ni = 2.0, 0.4
    prior = NormalMixture([(1, 0, 100)], sigma=s)
    c1 = ni - stats.norm.ppf(0.95) * s / np.sqrt(155)
    dec = decision1S(0.95, ni, lower_tail=True)
    assert abs(decision1S_boundary(prior, 155, dec) - c1) < 1e-3  # vague prior: the classical critical mean
    for n, power in [(155, 0.80), (233, 0.92)]:
        assert_allclose(oc1S(prior, n, dec)([0.0, ni]), [power, 0.05], atol=0.005)
    # n = 77: the paper prints a type II error of 0.45; the classical power with a flat prior is
    # Phi(0.4 sqrt(77) / 2 - z_0.95) = 0.544 (type II error 0.456), which the vague N(0, 100) prior
    # reproduces to 1e-3
    classical = stats.norm.cdf(ni * np.sqrt(77) / s - stats.norm.ppf(0.95))
    assert_allclose(oc1S(prior, 77, dec)([0.0, ni]), [classical, 0.05], atol=1e-3)
    dual = decision1S([0.95, 0.5], [ni, c1], lower_tail=True)
    for n, ref in [(155, [0.50, 0.05]), (233, [0.50, 0.02]), (78, [0.32, 0.05])]:
        assert_allclose(oc1S(prior, n, dual)([c1, ni]), ref, atol=0.005)


def _brute_force_oc_binary(prior, n, dec, p):
    """Sum the binomial probabilities of every count whose posterior satisfies the rule."""
    return sum(stats.binom.pmf(y, n, p) for y in range(n + 1) if dec(prior.posterior(y, n)))


@pytest.mark.parametrize("lower_tail", [True, False])
def test_binary_oc_equals_brute_force_sum_and_critical_value_convention(lower_tail):
    dec = decision1S([0.9, 0.5], [0.3, 0.4], lower_tail=lower_tail)
    o = oc1S(ROBUST3, 40, dec)
    for p in (0.2, 0.35, 0.5):
        assert abs(float(o(p)) - _brute_force_oc_binary(ROBUST3, 40, dec, p)) < 1e-12
    crit = int(decision1S_boundary(ROBUST3, 40, dec))
    # RBesT convention: lower tail succeeds for y <= crit, upper tail for y > crit
    post = lambda y: ROBUST3.posterior(y, 40)  # noqa: E731
    assert dec(post(crit)) == lower_tail and dec(post(crit + 1)) != lower_tail


def test_binary_and_poisson_type_one_error_rbest():
    # RBesT tests/testthat/test-oc1S.R: vague priors, n = 1000, alpha = 0.05, tolerance 0.01
    dec = decision1S(0.95, 0.4, lower_tail=True)
    assert abs(float(oc1S(BetaMixture([(1, 1, 1)]), 1000, dec)(0.4)) - 0.05) < 0.01
    g = GammaMixture([(1, 2, 2)])
    for lt in (True, False):
        o = oc1S(g, 1000, decision1S(0.95, 1.0, lower_tail=lt))
        assert abs(float(o(1.0)) - 0.05) < 0.01
        crit = int(o.boundary)
        dec = decision1S(0.95, 1.0, lower_tail=lt)
        assert dec(g.posterior(crit, 1000)) == lt and dec(g.posterior(crit + 1, 1000)) != lt
        # exact: Poisson tail sum written out
        y = np.arange(0, 3000)
        ok = np.array([dec(g.posterior(int(v), 1000)) for v in range(900, 1100)])
        region = np.zeros(y.size, bool)
        region[900:1100] = ok
        region[:900] = lt
        region[1100:] = not lt
        assert abs(float(o(1.0)) - stats.poisson.pmf(y, 1000.0)[region].sum()) < 1e-12


def test_exponential_oc_matches_simulation_free_integral():
    ge = GammaMixture([(0.7, 20, 10), (0.3, 1, 0.5)], likelihood="exp")
    dec = decision1S(0.9, 1.5, lower_tail=True)  # hazard below 1.5
    o = oc1S(ge, 30, dec)
    theta = 1.2
    # integrate the Gamma(30, theta) density of the total time over the success region, checking the
    # decision at every node
    t = np.linspace(1e-3, 80, 40001)
    ok = np.array([dec(ge.posterior(v, 30)) for v in t[::100]])
    edge = t[::100][np.argmax(ok)]
    assert abs(edge - o.boundary) < 0.2
    assert abs(float(o(theta)) - stats.gamma.sf(o.boundary, 30, scale=1 / theta)) < 1e-12


def test_pos1S_is_oc_averaged_over_design_prior():
    design_prior = BetaMixture([(1.0, 8, 4)])
    dec = decision1S(0.9, 0.3, lower_tail=False)
    x = np.linspace(0, 1, 20001)
    avg = integrate.trapezoid(oc1S(ROBUST3, 30, dec)(x) * design_prior.pdf(x), x)
    assert_allclose(pos1S(ROBUST3, 30, dec)(design_prior), avg, rtol=1e-6)
    nm = NormalMixture([(0.5, 0, 1), (0.5, 1, 2)], sigma=3)
    dn = decision1S(0.95, 0.0, lower_tail=False)
    design = NormalMixture([(1, 0.8, 0.5)], sigma=3)
    th = np.linspace(-4, 6, 20001)
    avg = integrate.trapezoid(oc1S(nm, 40, dn)(th) * design.pdf(th), th)
    assert_allclose(pos1S(nm, 40, dn)(design), avg, rtol=1e-6)
