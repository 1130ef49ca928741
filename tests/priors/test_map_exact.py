"""The exact MAP prior by quadrature (analysis.priors.map_exact), against independent computations.

- a single Beta(a, b) put on the logit grid has ESS a + b by all three methods (Neuenschwander et
  al. 2020, Biometrics 76:578; the closed forms of analysis.priors.ess);
- with no studies the MAP prior is the prior predictive expit(N(mu0, sqrt(s0^2 + tau^2))); with a tiny
  tau scale it is a logit-normal, whose ELIR is E[(1 - (x - m)(1 - 2p)) / (s^2 p (1 - p))] - E[1/(p (1 - p))] + 2
  (derived from the logit-normal density), computed here by Gauss-Hermite quadrature;
- the MAP mean equals the hierarchical model's predictive mean by the independent grid quadrature
  of tests/bayes/quadrature.py.
"""

import numpy as np
import pytest
from scipy.special import betaln, expit, log_expit

from analysis.bayes.models import Hierarchical
from analysis.bayes.prior import Prior
from analysis.priors.ess import ess
from analysis.priors.map_exact import ExactMAP, elir_share_mixture, map_exact
from analysis.priors.mixture import BetaMixture
from tests.bayes.quadrature import posterior_means


@pytest.mark.parametrize("a,b", [(3.0, 5.0), (12.0, 2.5), (2.0, 2.0)])
def test_single_beta_on_the_grid_has_ess_a_plus_b(a, b):
    x = np.arange(-40, 40, 0.005)
    g = np.exp(a * log_expit(x) + b * log_expit(-x) - betaln(a, b))
    ex = ExactMAP(x, g, 0.005)
    for m in ("moment", "elir"):
        assert ex.ess(m) == pytest.approx(a + b, rel=2e-4), m
    # Morita: a + b in the limit s = inf; with RBesT's s = 100 the same value as the Beta's closed form
    assert ex.ess("morita", s=float("inf")) == pytest.approx(a + b, rel=2e-4)
    assert ex.ess("morita") == pytest.approx(ess(BetaMixture([(1.0, a, b)]), "morita"), rel=2e-4)


def test_no_studies_gives_the_logit_normal_prior_predictive():
    s = 1.5
    ex = map_exact([], [], mu=Prior("Normal", (0.7, s)), tau=Prior("HalfNormal", (1e-3,)), dx=0.01)
    e, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    x = 0.7 + s * e
    p = expit(x)
    inv_j = 2 + np.exp(x) + np.exp(-x)
    elir = np.sum(w * ((1 - (x - 0.7) * (1 - 2 * p)) * inv_j / s**2 - inv_j)) + 2
    mean = np.sum(w * p)
    var = np.sum(w * (p - mean) ** 2)
    assert ex.mean() == pytest.approx(mean, abs=1e-6)
    assert ex.ess("moment") == pytest.approx(mean * (1 - mean) / var - 1, rel=1e-4)
    assert ex.ess("elir") == pytest.approx(elir, rel=1e-3)


def test_map_mean_matches_the_grid_quadrature_of_the_hierarchical_model():
    spec = Hierarchical(name="map", priors={"mu": Prior("Normal", (0, 2)), "tau": Prior("HalfNormal", (1,))})
    ref = posterior_means(spec, [3, 1], [3, 1])["p_new"]
    assert map_exact([3, 1], [3, 1]).mean() == pytest.approx(ref, abs=2e-4)


def test_robustify_and_elir_share():
    ex = map_exact([6, 2], [6, 2])
    rob = ex.robustify(0.2)
    assert rob.mean() == pytest.approx(0.8 * ex.mean() + 0.2 * 0.5, abs=1e-6)
    assert rob.ess("moment") < ex.ess("moment")
    assert ex.elir_share(0.0) == pytest.approx(ex.ess("elir"), rel=1e-9)
    # the mixture version: shares from above lo add up to the total when lo -> 0
    mix = BetaMixture([(0.6, 7.3, 1.07), (0.4, 27.9, 1.12)])
    assert elir_share_mixture(mix, 1e-9) == pytest.approx(ess(mix, "elir"), abs=1e-3)
    # a component with b just above 1 puts most of its ELIR where p > 1 - 1e-5 (the finding of the note)
    assert elir_share_mixture(mix, 1 - 1e-5) > 0.4 * ess(mix, "elir")
