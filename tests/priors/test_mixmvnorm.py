"""Multivariate normal mixtures (RBesT's mixmvnorm) and mixture priors in PyMC (RBesT's mixstanvar),
checked against closed forms and independent univariate code."""

import numpy as np
import pymc as pm
import pytest
from numpy.testing import assert_allclose

from analysis.priors import GammaMixture, MvNormalMixture, NormalMixture, as_pymc, mixmvnorm

SIGMA = np.array([[4.0, 1.0], [1.0, 2.0]])
MIX = mixmvnorm(
    [(0.6, [0.0, 1.0], [[1.0, 0.3], [0.3, 2.0]]), (0.4, [2.0, -1.0], [[0.5, -0.2], [-0.2, 0.8]])], sigma=SIGMA
)


def test_moments_match_the_marginal_univariate_mixtures_and_the_closed_form():
    """Each coordinate's marginal is a univariate normal mixture (w_k, mu_kj, sqrt(S_kjj)): its mean and
    variance from NormalMixture; the covariance sum_k w_k (S_k + mu_k mu_k') - E E' (RBesT summary.mvnormMix)."""
    for j in range(2):
        uni = NormalMixture([(w, m[j], np.sqrt(c[j, j])) for w, m, c in MIX.components])
        assert_allclose(MIX.mean()[j], uni.mean(), rtol=1e-12)
        assert_allclose(MIX.cov()[j, j], uni.var(), rtol=1e-12)
    # off-diagonal by hand: 0.6 * (0.3 + 0 * 1) + 0.4 * (-0.2 + 2 * -1) - 0.8 * 0.2
    assert_allclose(MIX.cov()[0, 1], 0.6 * 0.3 + 0.4 * (-0.2 - 2.0) - 0.8 * 0.2, rtol=1e-12)
    x = MIX.rvs(200_000, np.random.default_rng(5))
    assert_allclose(np.cov(x.T), MIX.cov(), atol=0.03)


def test_posterior_is_prior_times_likelihood_exactly():
    """Closed form of the conjugate update: log posterior(x) - log prior(x) - log N(ybar; x, sigma / n) is the
    same constant (minus the log marginal likelihood) at every x, which checks the updated components and
    weights together (Bernardo & Smith 1994, 5.2; RBesT postmix for mvnormMix)."""
    ybar, n = np.array([1.5, 0.5]), 5
    post = MIX.posterior(ybar, n=n)
    from scipy import stats

    pts = np.array([[0.0, 0.0], [1.0, 1.0], [2.5, -0.5], [-1.0, 2.0]])
    diff = post.logpdf(pts) - MIX.logpdf(pts) - stats.multivariate_normal(ybar, SIGMA / n).logpdf(pts)
    assert_allclose(diff, diff[0], atol=1e-10)
    assert_allclose(MIX.posterior(ybar, cov=SIGMA / n).mean(), post.mean(), rtol=1e-12)


def test_single_component_diagonal_update_equals_univariate_updates():
    """With diagonal covariances the coordinates update independently: NormalMixture.posterior per coordinate."""
    mv = MvNormalMixture([(1.0, [0.0, 3.0], np.diag([1.0, 4.0]))], sigma=np.diag([9.0, 16.0]))
    post = mv.posterior([1.0, 2.0], n=4)
    for j, (m, s, sig, y) in enumerate([(0.0, 1.0, 3.0, 1.0), (3.0, 2.0, 4.0, 2.0)]):
        uni = NormalMixture([(1.0, m, s)], sigma=sig).posterior(y, n=4)
        assert_allclose(post.mean()[j], uni.mean(), rtol=1e-12)
        assert_allclose(post.cov()[j, j], uni.var(), rtol=1e-12)
    assert_allclose(post.cov()[0, 1], 0.0, atol=1e-15)


def test_as_pymc_log_density_equals_the_mixture_for_every_family():
    """RBesT's mixstanvar puts mixture priors into brms models; here into PyMC: the PyMC log density equals the
    mixture's log density (Normal, Gamma and multivariate normal mixtures, one and several components)."""
    normal = NormalMixture([(0.3, 0.0, 1.0), (0.7, 2.0, 0.5)])
    gamma = GammaMixture([(0.3, 2.0, 1.0), (0.7, 20.0, 4.0)])
    single_mv = MvNormalMixture([(1.0, [0.0, 1.0], [[1.0, 0.3], [0.3, 2.0]])])
    with pm.Model():
        rn, rg = as_pymc(normal, "a"), as_pymc(gamma, "b")
        rm, rs = as_pymc(MIX, "theta"), as_pymc(single_mv, "eta")
        r1 = as_pymc(NormalMixture([(1.0, 1.0, 2.0)]), "c")
    assert_allclose(pm.logp(rn, np.array([0.0, 1.0, 2.0])).eval(), normal.logpdf([0.0, 1.0, 2.0]), rtol=1e-6)
    assert_allclose(pm.logp(rg, np.array([0.5, 3.0, 5.0])).eval(), gamma.logpdf([0.5, 3.0, 5.0]), rtol=1e-5)
    x = np.array([[0.1, 0.2], [1.5, -0.5], [3.0, 3.0]])
    assert_allclose(pm.logp(rm, x).eval(), MIX.logpdf(x), rtol=1e-8)
    assert_allclose(pm.logp(rs, x).eval(), single_mv.logpdf(x), rtol=1e-8)
    assert_allclose(pm.logp(r1, np.array([0.5])).eval(), NormalMixture([(1.0, 1.0, 2.0)]).logpdf([0.5]), rtol=1e-8)


def test_msr_parametrisation():
    """RBesT mixmvnorm(param = "msr"): mean, standard deviations and correlation; cov = D R D."""
    m = MvNormalMixture.from_msr([(1.0, [0.0, 0.0], [2.0, 3.0], [[1.0, 0.5], [0.5, 1.0]])])
    assert_allclose(m.cov(), [[4.0, 3.0], [3.0, 9.0]])


@pytest.mark.parametrize(
    ("components", "sigma", "match"),
    [
        ([(1.0, [0, 0], [[1, 2], [2, 1]])], None, r"component 0: the covariance is not positive definite"),
        ([(1.0, [0, 0], [[1, 0.2], [0.3, 1]])], None, "component 0: the covariance is not symmetric"),
        ([(0.5, [0, 0], np.eye(2)), (0.3, [0, 0], np.eye(2))], None, "the weights sum to 0.8"),
        ([(1.0, [0, 0, 0], np.eye(2))], None, "mean of dimension 3 but covariance of 2"),
        ([(1.0, [0, 0], np.eye(2))], [[1, 0], [0, -1]], "sigma: the covariance is not positive definite"),
        ([(1.0, [0, np.nan], np.eye(2))], None, "the mean must be a finite vector"),
    ],
)
def test_bad_input_names_the_argument(components, sigma, match):
    with pytest.raises(ValueError, match=match):
        MvNormalMixture(components, sigma=sigma)


def test_posterior_needs_n_with_sigma_or_cov():
    with pytest.raises(ValueError, match="no reference covariance sigma"):
        MvNormalMixture([(1.0, [0, 0], np.eye(2))]).posterior([0, 0], n=3)
    with pytest.raises(ValueError, match="cov: the covariance is not positive definite"):
        MIX.posterior([0, 0], cov=[[1, 0], [0, 0]])


MV_SPEC = """
[[prior]]
name = "regression"
family = "mvnormal"
components = [{w = 0.6, mean = [0.0, 1.0], cov = [[1.0, 0.3], [0.3, 2.0]]},
              {w = 0.4, mean = [2.0, -1.0], cov = [[0.5, -0.2], [-0.2, 0.8]]}]
sigma_cov = [[4.0, 1.0], [1.0, 2.0]]
"""


def test_mvnormal_prior_from_a_spec_file(tmp_path):
    """A multivariate normal mixture prior from a spec file: written to priors.json with its mean and
    covariance, read back with Mixture.from_dict, usable with as_pymc."""
    import json

    from analysis.priors.mixture import Mixture
    from analysis.priors.spec import run

    (tmp_path / "mv.toml").write_text(MV_SPEC)
    run(tmp_path / "mv.toml", tmp_path / "out")
    rec = json.loads((tmp_path / "out" / "priors.json").read_text())["priors"]["regression"]
    back = Mixture.from_dict(rec["mixture"])
    assert_allclose(back.mean(), MIX.mean(), rtol=1e-12)
    assert_allclose(rec["summary"]["cov"], MIX.cov(), rtol=1e-12)
    assert_allclose(back.sigma, SIGMA)
    with pm.Model():
        rv = as_pymc(back, "theta")
    assert_allclose(pm.logp(rv, np.array([0.5, 0.5])).eval(), MIX.logpdf(np.array([0.5, 0.5])), rtol=1e-8)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("", None),
        ("robust_weight = 0.2\n", r"family 'mvnormal' takes 'components' \(and optionally 'sigma_cov'\) only"),
        (
            '[[design]]\nname = "d"\ntype = "one-sample"\nprior = "regression"\nn = 10\np0 = 0.3\nc = 0.9\n',
            "field 'prior': prior 'regression' is multivariate normal",
        ),
    ],
)
def test_mvnormal_spec_errors(tmp_path, extra, match):
    from analysis.priors.spec import SpecError, load_spec

    text = MV_SPEC + extra
    if match is None:  # a covariance that is not positive definite, named at load
        text = MV_SPEC.replace("[[1.0, 0.3], [0.3, 2.0]]", "[[1.0, 3.0], [3.0, 2.0]]")
        match = r"'regression': components: component 0: the covariance is not positive definite"
    (tmp_path / "mv.toml").write_text(text)
    with pytest.raises(SpecError, match=match):
        load_spec(tmp_path / "mv.toml")
