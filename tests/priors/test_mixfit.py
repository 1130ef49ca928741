"""automixfit / fit_mixture: vectorised EM for Beta, Normal and Gamma mixtures."""

import numpy as np
from numpy.testing import assert_allclose

from analysis.priors import BetaMixture, GammaMixture, NormalMixture, automixfit


def test_automixfit_uses_rbest_penalty_6_and_recovers_two_components():
    # RBesT automixfit(sample, Nc = 1:4, k = 6): penalty 6 per parameter by default
    # (https://opensource.nibr.com/RBesT/reference/automixfit.html)
    true = BetaMixture([(0.6, 20, 60), (0.4, 5, 5)])
    x = true.rvs(20000, np.random.default_rng(11))
    mix, fits = automixfit(x)
    assert all(f["penalty"] == 6 for f in fits)
    assert len(mix) == 2 and [f["k"] for f in fits if f["chosen"]] == [2]
    assert_allclose(mix.quantile([0.05, 0.5, 0.95]), true.quantile([0.05, 0.5, 0.95]), atol=0.01)
    # the table reports -2 loglik + penalty * (3k - 1); the classical AIC (penalty 2) is available
    for f in fits:
        assert_allclose(f["aic"], -2 * f["loglik"] + 6 * (3 * f["k"] - 1))
    assert automixfit(x, penalty=2)[1][0]["penalty"] == 2
    assert automixfit(x)[0] == mix  # deterministic


def test_em_on_8000_draws_recovers_the_mixture():
    """The vectorised EM on 8,000 draws (its speed is reported by `make bench`, analysis.priors.bench)."""
    mix = BetaMixture([(0.6, 20, 60), (0.4, 5, 5)])
    fitted, _ = automixfit(mix.rvs(8000, np.random.default_rng(1)))
    assert abs(fitted.mean() - mix.mean()) < 0.01


def test_normal_and_gamma_em_recover_known_mixtures():
    rng = np.random.default_rng(4)
    nm = NormalMixture([(0.3, -2, 1), (0.7, 3, 2)])
    fit, _ = automixfit(nm.rvs(8000, rng), family="normal", sigma=5)
    assert len(fit) == 2 and fit.sigma == 5
    assert_allclose(fit.quantile([0.05, 0.5, 0.95]), nm.quantile([0.05, 0.5, 0.95]), atol=0.1)
    gm = GammaMixture([(0.5, 20, 20), (0.5, 50, 10)])
    fit, _ = automixfit(gm.rvs(8000, rng), family="gamma", likelihood="exp")
    assert len(fit) == 2 and fit.likelihood == "exp"
    q = [0.05, 0.25, 0.75, 0.95]  # not the median: it falls in the flat gap between the modes
    assert_allclose(fit.quantile(q), gm.quantile(q), rtol=0.03)
