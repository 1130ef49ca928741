"""Mixture families: summaries, conjugate updates, robustification (RBesT's mixbeta/mixnorm/mixgamma)."""

import ast
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats

from analysis.priors import BetaMixture, GammaMixture, Mixture, NormalMixture


def test_beta_interface_and_summaries():
    m = BetaMixture([(0.6, 4, 10), (0.4, 20, 5)])
    assert m.components == [(0.6, 4.0, 10.0), (0.4, 20.0, 5.0)]
    x = np.linspace(0, 1, 200001)
    assert_allclose(m.mean(), integrate.trapezoid(x * m.pdf(x), x), rtol=1e-7)
    assert_allclose(m.sd() ** 2, integrate.trapezoid((x - m.mean()) ** 2 * m.pdf(x), x), rtol=1e-6)
    q = m.quantile([0.025, 0.5, 0.975])
    assert_allclose(m.cdf(q), [0.025, 0.5, 0.975], atol=1e-10)
    assert m == BetaMixture([(0.6, 4, 10), (0.4, 20, 5)]) and "BetaMixture" in repr(m)
    assert Mixture.from_dict(m.to_dict()) == m


def test_normal_summary_matches_rbest_mixnorm_example():
    # https://opensource.nibr.com/RBesT/reference/mixnorm.html, summary(nm) for
    # mixnorm(rob=c(0.2, 0, 2), inf=c(0.8, 2, 2), sigma=5): mean 1.600000, sd 2.154066,
    # 2.5% -2.708104, 50% 1.631171, 97.5% 5.740143 (printed to 7 significant digits)
    nm = NormalMixture([(0.2, 0, 2), (0.8, 2, 2)], sigma=5)
    assert_allclose(nm.mean(), 1.6, atol=5e-7)
    assert_allclose(nm.sd(), 2.154066, atol=5e-7)
    # RBesT's qmix inverts the CDF numerically: at its printed median the exact CDF is 0.5 + 1.6e-6
    # (checked with scipy's normal CDF), so its quantiles agree with exact inversion to ~1e-5 only
    q = nm.quantile([0.025, 0.5, 0.975])
    assert_allclose(q, [-2.708104, 1.631171, 5.740143], atol=1e-5)
    exact_cdf = 0.2 * stats.norm.cdf(q, 0, 2) + 0.8 * stats.norm.cdf(q, 2, 2)
    assert_allclose(exact_cdf, [0.025, 0.5, 0.975], atol=1e-12)
    assert Mixture.from_dict(nm.to_dict()) == nm


@pytest.mark.parametrize("bad", [[], [(0.5, 1, 1)], [(1.0, -1, 2)], [(1.0, 1)], [(1.0, 0.0, 1.0)]])
def test_bad_mixtures_are_rejected(bad):
    with pytest.raises(ValueError):
        BetaMixture(bad)
    with pytest.raises(ValueError):
        GammaMixture(bad if bad != [(1.0, -1, 2)] else [(1.0, 1, -2)])


def _numeric_posterior_mean(prior_pdf, lik, lo, hi):
    x = np.linspace(lo, hi, 400001)
    u = prior_pdf(x) * lik(x)
    return integrate.trapezoid(x * u, x) / integrate.trapezoid(u, x)


def test_conjugate_updates_match_numerical_bayes():
    prior = BetaMixture([(0.7, 5, 15), (0.3, 1, 1)])
    post = prior.posterior(12, 20)
    assert_allclose(
        post.mean(), _numeric_posterior_mean(prior.pdf, lambda p: stats.binom.pmf(12, 20, p), 1e-9, 1 - 1e-9), rtol=1e-7
    )
    lw = np.log([0.7, 0.3]) + [stats.betabinom.logpmf(12, 20, 5, 15), stats.betabinom.logpmf(12, 20, 1, 1)]
    assert_allclose(post.weights, np.exp(lw - np.logaddexp(*lw)), rtol=1e-10)

    nm = NormalMixture([(0.3, 0, 3), (0.7, 2, 0.5)], sigma=4)
    post = nm.posterior(1.2, n=16)  # se = 1
    assert_allclose(
        post.mean(), _numeric_posterior_mean(nm.pdf, lambda t: stats.norm.pdf(1.2, t, 1.0), -20, 20), rtol=1e-7
    )
    assert post == nm.posterior(1.2, se=1.0)

    gp = GammaMixture([(0.5, 2, 2), (0.5, 20, 10)])
    post = gp.posterior(total=7, n=5)  # 7 events in 5 unit exposures
    assert_allclose(
        post.mean(), _numeric_posterior_mean(gp.pdf, lambda t: stats.poisson.pmf(7, 5 * t), 1e-9, 15), rtol=1e-7
    )

    ge = GammaMixture([(0.5, 2, 2), (0.5, 20, 10)], likelihood="exp")
    post = ge.posterior(total=3.5, n=4)  # 4 events, total time 3.5
    assert_allclose(
        post.mean(), _numeric_posterior_mean(ge.pdf, lambda t: t**4 * np.exp(-t * 3.5), 1e-9, 15), rtol=1e-7
    )


def test_robustify_follows_rbest():
    # RBesT tests/testthat/test-utils.R: Beta(1, 1) by default, Beta(0.5, 0.5) with n = 0
    r = BetaMixture([(1.0, 5, 15)]).robustify(0.2)
    assert r.components == [(0.8, 5.0, 15.0), (0.2, 1.0, 1.0)]
    assert BetaMixture([(1.0, 5, 15)]).robustify(0.1, n=0).components[-1] == (0.1, 0.5, 0.5)
    assert_allclose(BetaMixture([(1.0, 5, 15)]).robustify(0.1, mean=0.3, n=9).components[-1], (0.1, 3.0, 7.0))
    with pytest.raises(ValueError, match="robust weight"):
        r.robustify(1.2)
    # normal: unit-information N(mean, sigma / sqrt(n)); n = 5 gives sd sigma / sqrt(5)
    nm = NormalMixture([(0.2, 0, 2), (0.8, 2, 2)], sigma=5)
    assert_allclose(nm.robustify(0.1, mean=0).components[-1], (0.1, 0.0, 5.0))
    assert_allclose(nm.robustify(0.1, mean=0, n=5).components[-1], (0.1, 0.0, 5 / np.sqrt(5)))
    # gamma: mean m worth n observations: Poisson Gamma(m n, n), exponential Gamma(n, n / m)
    g = GammaMixture([(0.3, 20, 4), (0.7, 50, 10)])
    m = g.mean()
    assert_allclose(g.robustify(0.1).components[-1], (0.1, m, 1.0))
    assert_allclose(g.robustify(0.1, mean=2, n=5).components[-1], (0.1, 10.0, 5.0))
    ge = GammaMixture([(1.0, 20, 4)], likelihood="exp")
    assert_allclose(ge.robustify(0.1, mean=2, n=5).components[-1], (0.1, 5.0, 2.5))


def test_priors_modules_import_one_way():
    """mixture.py imports no other priors module; no module imports one that imports it back."""
    root = Path(__file__).resolve().parents[2] / "analysis" / "priors"
    deps = {}
    for f in root.glob("*.py"):
        tree = ast.parse(f.read_text())
        deps[f.stem] = {
            n.module.split(".")[-1]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("analysis.priors.")
        }
    assert deps["mixture"] == set()

    def reach(a, seen=()):
        for b in deps.get(a, ()):
            if b in seen:
                continue
            yield b
            yield from reach(b, (*seen, b))

    for mod in deps:
        if mod == "__init__":
            continue
        assert mod not in set(reach(mod)), f"import cycle through {mod}"
