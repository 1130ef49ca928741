"""preddist and the prior-data conflict check, against brute-force sums and integrals."""

import numpy as np
from numpy.testing import assert_allclose
from scipy import integrate, stats

from analysis.priors import BetaMixture, GammaMixture, NormalMixture, conflict, preddist


def test_preddist_matches_integrals_over_the_prior():
    b = BetaMixture([(0.7, 5, 15), (0.3, 1, 1)])
    pmf = [integrate.quad(lambda p: b.pdf(p) * stats.binom.pmf(y, 10, p), 0, 1, epsabs=1e-13)[0] for y in range(11)]  # noqa: B023
    assert_allclose(preddist(b, 10).pmf(np.arange(11)), pmf, atol=1e-11)

    g = GammaMixture([(0.5, 2, 2), (0.5, 20, 10)])
    pmf = [integrate.quad(lambda t: g.pdf(t) * stats.poisson.pmf(y, 5 * t), 0, 60, limit=200)[0] for y in range(30)]  # noqa: B023
    assert_allclose(preddist(g, 5).pmf(np.arange(30)), pmf, atol=1e-10)

    ge = GammaMixture([(0.5, 3, 2), (0.5, 20, 10)], likelihood="exp")
    for tot in (0.5, 2.0, 6.0):
        dens = integrate.quad(lambda t: ge.pdf(t) * stats.gamma.pdf(tot, 4, scale=1 / t), 0, 60, limit=200)[0]  # noqa: B023
        assert_allclose(preddist(ge, 4).pdf(tot), dens, rtol=1e-8)

    nm = NormalMixture([(0.5, 0, 1), (0.5, 2, 3)], sigma=4)
    for ybar in (-1.0, 0.5, 3.0):
        dens = integrate.quad(lambda t: nm.pdf(t) * stats.norm.pdf(ybar, t, 4 / np.sqrt(16)), -30, 30)[0]  # noqa: B023
        assert_allclose(preddist(nm, 16).pdf(ybar), dens, rtol=1e-8)


def test_conflict_tail_probabilities():
    prior = BetaMixture([(1.0, 30, 3)])
    assert conflict(prior, 3, 20)["p_lower"] < 1e-4
    assert conflict(prior, 18, 20)["p_lower"] > 0.1
    pred = preddist(prior, 20).pmf(np.arange(21))
    c = conflict(prior, 12, 20)
    assert_allclose([c["p_lower"], c["p_upper"]], [pred[:13].sum(), pred[12:].sum()], rtol=1e-12)
    g = GammaMixture([(1, 20, 10)])
    assert conflict(g, 40, 5)["p_upper"] < 1e-3  # 40 events where about 10 are expected
    nm = NormalMixture([(1, 0, 1)], sigma=2)
    assert_allclose(conflict(nm, 2.0, 4)["p_upper"], stats.norm.sf(2.0, 0, np.sqrt(2)), rtol=1e-12)
