"""The multisource exchangeability model (MEM; Kaizer, Koopmeiners and Hobbs 2018; Hobbs and Landin 2018).

The symmetric model against the printed results of Hobbs and Landin's R package ``basket`` (``mem_exact``, its
test snapshots); the source-specific one against its definition integrated numerically; both at their limits (no
borrowing, complete pooling) and as borrowing methods of a design file with exact operating characteristics."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import betaln

from analysis.basket.methods.independent import beta_mixture_summary
from analysis.basket.methods.mem import mem_posterior


def _by_integration(y, n, k, prior, inclusion, p0, grid=20_000):
    """Posterior mean and P(p_k > p0) of the generative model: p_k ~ Beta(a, b); each j != k shares p_k with
    probability ``inclusion``, else has its own Beta(a, b) rate; y_j ~ Binomial(n_j, rate).  Midpoint grid."""
    a, b = prior
    p = (np.arange(grid) + 0.5) / grid
    dens_prior = stats.beta.pdf(p, a, b)
    others = [j for j in range(len(y)) if j != k]
    lik_k = stats.binom.pmf(y[k], n[k], p)
    # per other source: its factor as a function of p_k, mixing "shares p_k" and "own rate, integrated out"
    factor = np.ones_like(p)
    for j in others:
        own = np.sum(stats.binom.pmf(y[j], n[j], p) * dens_prior) / grid
        factor *= inclusion * stats.binom.pmf(y[j], n[j], p) + (1 - inclusion) * own
    post = dens_prior * lik_k * factor
    post /= post.sum()
    return float(np.sum(post * p)), float(post[p > p0].sum())


@pytest.mark.parametrize("inclusion", [0.1, 0.5, 0.9])
def test_mem_equals_the_model_integrated_numerically(inclusion):
    y, n = np.array([[2, 9, 7]]), np.array([[12, 12, 10]])
    p0 = np.array([0.2, 0.3, 0.25])
    res = mem_posterior(y, n, (0.5, 0.5), inclusion, p0, structure="source")
    for k in range(3):
        mean, tail = _by_integration(y[0], n[0], k, (0.5, 0.5), inclusion, p0[k])
        assert res["mean"][0, k] == pytest.approx(mean, abs=2e-6)
        assert res["p_above"][0, k] == pytest.approx(tail, abs=1e-4)  # midpoint rule at the threshold


@pytest.mark.parametrize(
    ("y", "n", "p_above", "mean"),
    [
        # vemurafenib (Hyman et al. 2015, NEJM 373:726): NSCLC 8/19, CRC (vemurafenib) 0/10, CRC (+cetuximab) 1/26
        ([8, 0, 1], [19, 10, 26], [0.951, 0.002, 0.000], [0.425, 0.041, 0.042]),
        ([4, 3], [10, 3], [0.873, 0.997], [0.419, 0.847]),
        ([4, 3, 0], [10, 3, 0], [0.873, 0.997, 0.855], [0.420, 0.848, 0.590]),
    ],
)
def test_symmetric_mem_reproduces_the_basket_package(y, n, p_above, mean):
    """kaneplusplus/basket, tests/testthat/_snaps/exact.md: ``mem_exact(..., p0 = 0.25)`` with its defaults
    (Beta(0.5, 0.5) priors, prior inclusion 0.5).  Its posterior probabilities are exact (printed to 3 decimals);
    its means come from 10,000 posterior draws (Monte Carlo error about 0.001-0.002)."""
    res = mem_posterior(np.array([y]), np.array([n]), (0.5, 0.5), 0.5, [0.25] * len(y))
    np.testing.assert_allclose(res["p_above"][0], p_above, atol=5e-4)
    np.testing.assert_allclose(res["mean"][0], mean, atol=3e-3)


@pytest.mark.parametrize("structure", ["symmetric", "source"])
def test_mem_limits_are_independent_priors_and_complete_pooling(structure):
    y, n = np.array([[3, 10, 0], [12, 12, 12]]), np.array([[12, 12, 12], [12, 12, 12]])
    p0 = np.array([0.2, 0.2, 0.2])
    none = mem_posterior(y, n, (1, 1), 0.0, p0, structure)
    mean, m2, pa = beta_mixture_summary((1, 1), y, n, p0[None, :])
    np.testing.assert_allclose(none["mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(none["m2"], m2, rtol=1e-12)
    np.testing.assert_allclose(none["p_above"], pa, rtol=1e-10)
    full = mem_posterior(y, n, (1, 1), 1.0, p0, structure)
    A, B = 1 + y.sum(1, keepdims=True), 1 + (n - y).sum(1, keepdims=True)
    np.testing.assert_allclose(full["mean"], np.broadcast_to(A / (A + B), y.shape), rtol=1e-12)
    np.testing.assert_allclose(full["p_ex"][:, 0, 1:], 1.0)


def test_mem_exchangeability_follows_the_data():
    """Similar indications are judged exchangeable, a discordant one is not (Kaizer et al. 2018, Section 2)."""
    for structure in ("symmetric", "source"):
        res = mem_posterior(np.array([[10, 11, 1]]), np.array([[12, 12, 12]]), (1, 1), 0.5, structure=structure)
        assert res["p_ex"][0, 0, 1] > 0.5 > res["p_ex"][0, 0, 2] and res["p_ex"][0, 0, 2] < 0.05
    # with two indications the weights are closed-form marginal likelihood ratios: the source-specific model
    # compares one pooled marginal with two separate ones; the symmetric model multiplies the row marginals of
    # both indications (as the basket package's logMarg.Dens does), so each side enters squared
    pooled = betaln(1 + 21, 1 + 3) - betaln(1, 1)
    apart = betaln(11, 3) + betaln(12, 2) - 2 * betaln(1, 1)
    y2, n2 = np.array([[10, 11]]), np.array([[12, 12]])
    r = mem_posterior(y2, n2, (1, 1), 0.5, structure="source")["p_ex"][0, 0, 1]
    assert r == pytest.approx(1 / (1 + math.exp(apart - pooled)), rel=1e-12)
    r = mem_posterior(y2, n2, (1, 1), 0.5, structure="symmetric")["p_ex"][0, 0, 1]
    assert r == pytest.approx(1 / (1 + math.exp(2 * (apart - pooled))), rel=1e-12)


def test_mem_rejects_bad_settings():
    with pytest.raises(ValueError, match="inclusion"):
        mem_posterior(np.array([[1, 2]]), np.array([[5, 5]]), (1, 1), 1.5)
    with pytest.raises(ValueError, match="structure"):
        mem_posterior(np.array([[1, 2]]), np.array([[5, 5]]), (1, 1), 0.5, structure="full")
    with pytest.raises(ValueError, match="too many"):
        mem_posterior(np.ones((1, 7)), np.full((1, 7), 5), (1, 1), 0.5)


def test_mem_in_a_design_file_borrowing_costs_type_one_error(tmp_path):
    """Exact OC of a MEM design: with two active indications, the null one's type I error rises with the prior
    inclusion probability, and at 0.8 exceeds the independent analysis' (at 0.2 the two are within 0.01: the
    mixture posterior is also wider, and the go boundary is discrete)."""
    from analysis.basket.run import operating_characteristics
    from analysis.basket.spec import load

    f = tmp_path / "mem.toml"
    f.write_text(
        """
[design]
name = "mem"
seed = 1
oc = "exact"
[[indication]]
name = "A"
n = 12
p0 = 0.2
target = 0.5
c = 0.9
[[indication]]
name = "B"
n = 12
p0 = 0.2
target = 0.5
c = 0.9
[[indication]]
name = "C"
n = 12
p0 = 0.2
target = 0.5
c = 0.9
[method.independent]
prior = [1, 1]
[method.mem_low]
type = "mem"
inclusion = 0.2
[method.mem_high]
type = "mem"
inclusion = 0.8
[method.mem_source]
type = "mem"
structure = "source"
[[scenario]]
name = "C null"
p = [0.5, 0.5, 0.2]
"""
    )
    oc = operating_characteristics(load(f))
    go = oc[(oc["indication"] == "C")].set_index("method")["go"]
    assert go["mem_low"] < go["mem_high"] and go["independent"] < go["mem_high"]
    assert abs(go["mem_low"] - go["independent"]) < 0.01
    assert set(oc["oc"]) == {"exact"}
    assert go["independent"] < go["mem_source"]


def test_mem_design_file_errors_name_the_key(tmp_path):
    from analysis.basket.spec import DesignError, load

    f = tmp_path / "bad.toml"
    f.write_text(
        '[design]\nname = "x"\n[[indication]]\nname = "A"\nn = 10\np0 = 0.2\ntarget = 0.4\nc = 0.9\n'
        '[[indication]]\nname = "B"\nn = 10\np0 = 0.2\ntarget = 0.4\nc = 0.9\n'
        '[method.m]\ntype = "mem"\ninclusion = 1.5\n[scenarios]\ngenerate = ["null"]\n'
    )
    with pytest.raises(DesignError, match="inclusion"):
        load(f)
