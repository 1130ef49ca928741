"""ESS by ELIR, moment and Morita for Beta, Normal and Gamma mixtures (RBesT conventions)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from analysis.priors import BetaMixture, ESSError, GammaMixture, NormalMixture, ess, preddist

BMIX = BetaMixture([(0.2, 1, 1), (0.8, 10, 2)])  # RBesT's ess() example


@pytest.mark.parametrize("method", ["moment", "elir"])
def test_single_beta_is_a_plus_b(method):
    assert_allclose(ess(BetaMixture([(1.0, 5, 15)]), method), 20, rtol=1e-6)


def test_morita_uses_rbest_flattening_constant_100():
    """RBesT R/mixess.R, ess.betaMix (default s = 100): flattened prior Beta(t/s, (1-t)/s) at the mode t,
    ESS = (-(log p)''(t) - i_0(t)) / (m/t^2 + (1-m)/(1-t)^2) (Neuenschwander et al. 2020, Eq. 9).  For
    Beta(4, 16), t = 1/6: (129.6 + 37.44 - 0.072) / 8.352 = 19.9914 (RBesT: 19.991; issue 22), and
    a + b = 20 in the limit s = inf; RBesT tests/testthat/test-utils.R, "conjugate beta case matches
    canonical formula": round(ess(Beta(5, 15), "morita")) == a + b."""
    b416 = BetaMixture([(1.0, 4, 16)])
    assert_allclose(ess(b416, "morita"), (129.6 + 37.44 - 0.072) / 8.352, rtol=1e-9)
    assert round(ess(b416, "morita"), 3) == 19.991
    assert_allclose(ess(b416, "morita", s=float("inf")), 20, rtol=1e-9)
    assert round(ess(BetaMixture([(1.0, 5, 15)]), "morita")) == 20
    assert ess(b416, "morita", s=10) < ess(b416, "morita") < ess(b416, "morita", s=1e6)


def test_morita_with_the_mode_on_the_boundary_is_a_number_as_in_rbest():
    """RBesT R/mixmode.R searches each component's central 99% interval and R/mixess.R evaluates there (no
    error for a density unbounded or maximal at 0 or 1).  Beta(5, 1) has its mode at 1; its Morita ESS tends
    to a + b = 6 as the evaluation point approaches 1."""
    assert_allclose(ess(BetaMixture([(1.0, 5, 1)]), "morita"), 6, rtol=1e-4)
    assert_allclose(ess(BetaMixture([(1.0, 1, 7)]), "morita"), 8, rtol=1e-4)
    val = ess(BetaMixture([(0.6, 8, 1), (0.4, 1, 1)]), "morita")
    assert np.isfinite(val) and val > 0


@pytest.mark.parametrize("s", [0, -1, float("nan"), "many"])
def test_nonpositive_flattening_constant_is_refused(s):
    with pytest.raises(ValueError, match=r"s \(the Morita flattening constant\) must be"):
        ess(BMIX, "morita", s=s)


def test_family_is_for_normal_mixtures_only():
    """RBesT test-utils.R: "ess for a beta mixture errors if a family is specified" (and for gamma)."""
    with pytest.raises(ValueError, match="family is only supported for Normal mixtures"):
        ess(BetaMixture([(1, 5, 15)]), family="binomial")
    with pytest.raises(ValueError, match="family is only supported for Normal mixtures"):
        ess(GammaMixture([(0.3, 20, 4), (0.7, 50, 10)]), family="poisson")
    with pytest.raises(ValueError, match="family must be one of"):
        ess(NormalMixture([(1, 0, 1)]), family="logit")


@pytest.mark.parametrize(("m", "s"), [(0.0, 2 / np.sqrt(10)), (2.0, 2 / np.sqrt(100))])
@pytest.mark.parametrize("sigma", [2.0, 4.0])
def test_normal_prior_on_the_logit_and_log_scale(m, s, sigma):
    """RBesT tests/testthat/test-utils.R, "ess for a normal density with binomial family under a logit link"
    and "... poisson family under a log link": ELIR = moment = (2 + exp(-m + s^2/2) + exp(m + s^2/2)) / s^2
    (logit) and exp(-m + s^2/2) / s^2 (log); Morita with s = Inf is Pennello & Thomson's 1 / (s^2 i_F(m)).
    sigma plays no role.  RBesT's tolerance is 1e-4; these closed forms are met to 1e-8."""
    nm = NormalMixture([(1, m, s)], sigma=sigma)
    s2 = s * s
    logit_elir = (2 + np.exp(-m + s2 / 2) + np.exp(m + s2 / 2)) / s2
    log_elir = np.exp(-m + s2 / 2) / s2
    for method in ("elir", "moment"):
        assert_allclose(ess(nm, method, family="binomial"), logit_elir, rtol=1e-8)
        assert_allclose(ess(nm, method, family="poisson"), log_elir, rtol=1e-8)
    inf = float("inf")
    assert_allclose(ess(nm, "morita", family="binomial", s=inf), 1 / s2 / (np.exp(m) / (1 + np.exp(m)) ** 2), rtol=1e-8)
    assert_allclose(ess(nm, "morita", family="poisson", s=inf), 1 / s2 / np.exp(m), rtol=1e-8)


def test_beta_matches_rbest_documented_example():
    # RBesT's ess() help page (inst/examples/ess.R output): elir 7.65152, moment 3.161034, morita 8.487603
    # (s = 100 and RBesT's mode search, both reproduced: to the 7 printed digits)
    assert_allclose(ess(BMIX, "elir"), 7.65152, rtol=1e-5)
    assert_allclose(ess(BMIX, "moment"), 3.161034, rtol=1e-6)
    assert_allclose(ess(BMIX, "morita"), 8.487603, rtol=1e-6)


def test_normal_and_gamma_canonical_values():
    # RBesT tests/testthat/test-utils.R, "conjugate normal case matches canonical formula": N(-1, 2) with
    # sigma 4 -> sigma^2 / s^2 = 4 by moment, ELIR and Morita with s = Inf; "gamma 1-component density gives
    # canonical results": Poisson ESS = b (moment; round(Morita); ELIR to 1e-4), exponential a (moment;
    # round(Morita)) and a - 1 (ELIR)
    nm = NormalMixture([(1, -1, 2)], sigma=4)
    inf = float("inf")
    for m in ("moment", "elir"):
        assert_allclose(ess(nm, m), 4.0, rtol=1e-8)
    assert_allclose(ess(nm, "morita", s=inf), 4.0, rtol=1e-8)
    assert_allclose(ess(nm, "morita"), (1 / 4 - 1 / (100 * 4)) * 16, rtol=1e-8)  # flattened N(t, 100 s^2)
    gp, ge = GammaMixture([(1, 20, 4)]), GammaMixture([(1, 20, 4)], likelihood="exp")
    assert_allclose([ess(gp, "moment"), ess(gp, "elir")], [4.0, 4.0], rtol=1e-8)
    assert round(ess(gp, "morita")) == 4 and round(ess(ge, "morita")) == 20
    assert_allclose(ess(gp, "morita", s=inf, eps=0), 4.0, rtol=1e-8)
    assert_allclose(ess(ge, "morita", s=inf), 20, rtol=1e-8)
    assert_allclose([ess(ge, "moment"), ess(ge, "elir")], [20, 19], rtol=1e-8)


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
