"""ESS by ELIR, moment and Morita for Beta, Normal and Gamma mixtures (RBesT conventions)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from analysis.priors import BetaMixture, ESSError, GammaMixture, NormalMixture, ess, preddist

BMIX = BetaMixture([(0.2, 1, 1), (0.8, 10, 2)])  # RBesT's ess() example


@pytest.mark.parametrize("method", ["moment", "morita", "elir"])
def test_single_beta_is_a_plus_b(method):
    assert_allclose(ess(BetaMixture([(1.0, 5, 15)]), method), 20, rtol=1e-6)


def test_beta_matches_rbest_documented_example():
    # RBesT's ess() help page (inst/examples/ess.R output): elir 7.65152, moment 3.161034, morita 8.487603;
    # RBesT's Morita ESS finds the mode numerically and uses s = 100 (we take s -> infinity), hence 1e-3
    assert_allclose(ess(BMIX, "elir"), 7.65152, rtol=1e-5)
    assert_allclose(ess(BMIX, "moment"), 3.161034, rtol=1e-6)
    assert_allclose(ess(BMIX, "morita"), 8.487603, rtol=1e-3)


def test_normal_and_gamma_canonical_values():
    # RBesT tests/testthat/test-utils.R: N(-1, 2) with sigma 4 -> sigma^2 / s^2 = 4 by every method;
    # Gamma/Poisson ESS = b (moment, Morita, ELIR); Gamma/exponential ESS = a (moment, Morita), a - 1 (ELIR)
    nm = NormalMixture([(1, -1, 2)], sigma=4)
    for m in ("moment", "morita", "elir"):
        assert_allclose(ess(nm, m), 4.0, rtol=1e-8)
    gp, ge = GammaMixture([(1, 20, 4)]), GammaMixture([(1, 20, 4)], likelihood="exp")
    for m in ("moment", "morita", "elir"):
        assert_allclose(ess(gp, m), 4.0, rtol=1e-8)
    assert_allclose([ess(ge, "moment"), ess(ge, "morita"), ess(ge, "elir")], [20, 20, 19], rtol=1e-8)


def test_normal_reference_scale_scales_the_ess():
    # RBesT test-utils.R "normal mixtures have reference scale used correctly": halving sigma^2 halves the ESS
    nm = NormalMixture([(0.5, 0, 2), (0.5, 3, 4)], sigma=10)
    for m in ("moment", "morita", "elir"):
        assert_allclose(ess(nm, m, sigma=10 / np.sqrt(2)), ess(nm, m) / 2, rtol=1e-6)


def test_elir_is_predictively_consistent_for_every_family():
    """Neuenschwander et al. 2020: ELIR(prior) = E_pred[ELIR(posterior after m units)] - m.  The
    expectation is an exact sum (Beta, Poisson) or quadrature (Normal) over the predictive."""
    m = 10
    pred = preddist(BMIX, m)
    lhs = sum(pred.pmf(y) * ess(BMIX.posterior(y, m)) for y in range(m + 1)) - m
    assert_allclose(lhs, ess(BMIX), rtol=1e-5)

    gp = GammaMixture([(0.3, 20, 4), (0.7, 50, 10)])
    pred = preddist(gp, m)
    ys = np.arange(int(pred.quantile(1 - 1e-12)) + 1)
    lhs = sum(pred.pmf(y) * ess(gp.posterior(int(y), m)) for y in ys) - m
    assert_allclose(lhs, ess(gp), rtol=1e-5)

    nm = NormalMixture([(0.5, 0, 2), (0.5, 3, 4)], sigma=10)
    m = 30
    pred = preddist(nm, m)
    val = integrate.quad(lambda y: pred.pdf(y) * ess(nm.posterior(y, n=m)), -20, 25, limit=200, epsabs=1e-8)[0]
    assert_allclose(val - m, ess(nm), rtol=1e-4)


def test_undefined_and_negative_elir_are_reported():
    with pytest.raises(ESSError, match="undefined when a Beta parameter is < 1"):
        ess(BetaMixture([(0.5, 0.5, 2), (0.5, 3, 3)]), "elir")
    with pytest.raises(ESSError, match="negative"):
        ess(BetaMixture([(0.5, 1, 1), (0.5, 30, 1)]), "elir")
    with pytest.raises(ValueError, match="unknown ESS method"):
        ess(BMIX, "fisher")
    # RBesT test-utils.R: this mixture must give a finite positive ELIR
    assert ess(BetaMixture([(0.48, 1, 11), (0.34, 6.9, 173), (0.18, 1.0, 1.13)])) > 0
