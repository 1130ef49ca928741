"""automixfit / fit_mixture: vectorised EM for Beta, Normal and Gamma mixtures."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, special

from analysis.priors import BetaMixture, GammaMixture, NormalMixture, automixfit
from analysis.priors.mixfit import MixFitError, em_fit


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
    """The vectorised EM on 8,000 draws (its speed is reported by `make bench`, tools.bench_priors)."""
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


# -- fits that never degenerate (issue 22) --------------------------------------------------------


def _map_like_draws(n=4000, seed=7):
    """Draws like this project's MAP priors: expit of a logit-normal piled up near 1 (8/8-type data)."""
    rng = np.random.default_rng(seed)
    return special.expit(rng.normal(2.6, 1.6, n))


def _mle_scipy(x, k, starts, lo=1.0):
    """Independent maximum likelihood: Nelder-Mead then BFGS on the Beta-mixture log-likelihood, parameters
    (softmax logits of w, log(a - lo), log(b - lo)), from the given starts; returns (loglik, mixture)."""
    lx, l1x = np.log(x), np.log1p(-x)

    def unpack(th):
        w = special.softmax(np.r_[0.0, th[: k - 1]])
        a = lo + np.exp(th[k - 1 : 2 * k - 1])
        b = lo + np.exp(th[2 * k - 1 :])
        return w, a, b

    def nll(th):
        w, a, b = unpack(th)
        lp = np.log(w) + (a - 1) * lx[:, None] + (b - 1) * l1x[:, None] - special.betaln(a, b)
        return -float(special.logsumexp(lp, axis=1).sum())

    best = None
    for w0, a0, b0 in starts:
        th0 = np.r_[np.log(np.asarray(w0[1:]) / w0[0]), np.log(np.asarray(a0) - lo), np.log(np.asarray(b0) - lo)]
        r = optimize.minimize(nll, th0, method="Nelder-Mead", options={"maxiter": 20000, "xatol": 1e-9, "fatol": 1e-9})
        r = optimize.minimize(nll, r.x, method="BFGS")
        if best is None or r.fun < best.fun:
            best = r
    w, a, b = unpack(best.x)
    return -best.fun, BetaMixture(list(zip(w, a, b)))


def test_em_near_one_is_a_real_fit_and_matches_scipy_ml():
    """Draws concentrated near 1 (the MAP draws of this project; issue 22: the old EM returned Beta(1, 1)
    with log-likelihood 0 there).  The one-component fit is the unique constrained MLE (a concave problem):
    scipy's optimum on the mixture likelihood agrees to 1e-4.  The two-component fit is at least as good as
    scipy's best of several starts and strictly better than one component."""
    x = _map_like_draws()
    f1 = em_fit(x, 1)
    assert f1.loglik > 100  # far above Beta(1, 1)'s 0
    ll1, m1 = _mle_scipy(x, 1, [([1.0], [3.0], [1.5]), ([1.0], [10.0], [3.0])], lo=1 + 1e-9)
    assert_allclose(f1.loglik, ll1, atol=1e-3)
    assert_allclose(f1.mixture.components[0][1], m1.components[0][1], rtol=1e-3)
    f2 = em_fit(x, 2)
    starts = [
        ([0.5, 0.5], [2.0, 20.0], [1.5, 2.0]),
        ([0.7, 0.3], [10.0, 1.5], [1.5, 1.5]),
        ([0.5, 0.5], [5, 5], [2, 1.2]),
    ]
    ll2, _ = _mle_scipy(x, 2, starts, lo=1 + 1e-9)
    assert f2.loglik >= ll2 - 1e-2
    assert f2.loglik > f1.loglik + 10
    assert f2.converged and f2.iterations > 0


def test_em_never_returns_its_start_and_the_log_likelihood_never_decreases():
    """Generalised EM (Dempster, Laird & Rubin 1977): every M-step is an ascent step, so the trace is
    non-decreasing; the fit is not its start (a start value returned as a fit was the bug of issue 22)."""
    x = _map_like_draws(seed=3)
    for k in (1, 2, 3):
        f = em_fit(x, k)
        assert np.all(np.diff(f.trace) >= -1e-8 * abs(f.trace[-1])), k
        assert f.loglik > f.start_loglik and repr(f.mixture) != f.start


def test_automixfit_log_likelihood_increases_with_components():
    """The k-component EM also starts from the (k - 1)-component fit split in two, so adding a component
    never lowers the log-likelihood (the old EM gave 0.0 for k = 1, 2 and 5816 for k = 3 on the IIM draws)."""
    _, fits = automixfit(_map_like_draws(seed=5))
    ll = [f["loglik"] for f in fits]
    assert all(b >= a - 1e-6 for a, b in zip(ll, ll[1:])), ll
    assert all(f["converged"] for f in fits)


def test_constrain_gt1_is_an_explicit_parameter():
    """RBesT's EM_bmm_ab(constrain_gt1 = TRUE) by default (R/EM_bmm_ab.R): a, b >= 1, and a parameter at the
    bound is exactly 1; constrain_gt1=False recovers a U-shaped component with a < 1."""
    x = BetaMixture([(1.0, 0.5, 3.0)]).rvs(5000, np.random.default_rng(2))
    free = em_fit(x, 1, constrain_gt1=False).mixture.components[0]
    assert_allclose(free[1:], [0.5, 3.0], rtol=0.06)
    bound = em_fit(x, 1).mixture.components[0]
    assert bound[1] == 1.0 and bound[2] > 1


def test_em_is_deterministic_given_the_seed():
    x = _map_like_draws(seed=9)
    assert em_fit(x, 3, seed=4).mixture == em_fit(x, 3, seed=4).mixture


@pytest.mark.parametrize(
    ("draws", "family", "match"),
    [
        ([0.2, 0.5, 1.2] * 20, "beta", r"draws: a Beta mixture needs draws in \[0, 1\]; draw 2 is 1.2"),
        ([0.2, -0.1] * 20, "beta", "draw 1 is -0.1"),
        ([0.3] * 50, "beta", "all 50 draws equal 0.3"),
        ([0.3, np.nan] * 30, "beta", "not finite"),
        ([1.0, 0.0, 2.0] * 20, "gamma", "needs draws > 0; draw 1 is 0"),
        ([0.3, 0.4], "beta", "need at least 10 draws"),
    ],
)
def test_bad_draws_are_refused_naming_the_argument(draws, family, match):
    with pytest.raises(MixFitError, match=match):
        em_fit(draws, 1, family)


def test_exact_zero_and_one_are_moved_inside_as_rbest_does():
    """RBesT EM_bmm_ab: values exactly 0 or 1 are moved to eps / 1 - eps, not refused."""
    x = np.r_[_map_like_draws(2000), 1.0, 0.0]
    assert np.isfinite(em_fit(x, 2).loglik)


def _degenerate(fit: dict) -> str | None:
    if fit["loglik"] == 0.0 or fit["mixture"] == "BetaMixture([(1, 1, 1)])":
        return "Beta(1, 1) with log-likelihood 0"
    if fit.get("start") == fit["mixture"]:
        return "the fit equals its start"
    if "iterations" not in fit or fit["iterations"] < 1 or not fit.get("converged", False):
        return "no converged EM recorded"
    return None


@pytest.mark.pipeline
@pytest.mark.parametrize("where", ["results", "reference"])
def test_no_degenerate_em_fit_in_the_priors_results(root, where):
    """Every EM fit behind the paper's MAP priors is a real, converged fit whose log-likelihood grows with
    the number of components (issue 22: IIM, SSc and primary SLE had Beta(1, 1) fits with log-likelihood 0)."""
    path = root / where / "priors" / "priors.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make paper`")
    priors = json.loads(path.read_text())["priors"]
    scanned = 0
    for name, p in priors.items():
        fits = p.get("em_fits", [])
        for f in fits:
            scanned += 1
            assert _degenerate(f) is None, f"{where} prior {name}, k = {f['k']}: {_degenerate(f)}"
        ll = [f["loglik"] for f in fits]
        assert all(b >= a - 1e-6 for a, b in zip(ll, ll[1:])), (name, ll)
    assert scanned >= 4
