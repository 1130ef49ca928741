"""Fujikawa et al. (2020) JSD borrowing against the R package baskexact (L. Baumann).

Reference numbers are those printed in baskexact's tests (github.com/lbau7/baskexact,
tests/testthat/test-basket_test.R and test-toer.R): k = 3 baskets, Beta(1, 1) prior, theta0 = 0.2,
n = 24, lambda = 0.99, epsilon = 2, natural log.  They are given to 7 significant digits and
checked there with tolerance 1e-6; we use 1e-6 as well.
"""

import numpy as np
import pytest
from scipy import stats

from analysis.basket.design import Design, Indication, Method, Scenario, exact_oc
from analysis.basket.methods.jsd import jsd_posterior, jsd_weights


def test_weights_posterior_and_probabilities_match_baskexact():
    y, n = np.array([[5, 6, 9]]), np.array([[24, 24, 24]])
    w = jsd_weights(y, n, (1, 1), epsilon=2.0, tau=0.0)[0]
    np.testing.assert_allclose([w[0, 1], w[2, 0], w[2, 1]], [0.947424, 0.5192557, 0.6848343], atol=1e-6)
    a, b = jsd_posterior(y, n, (1, 1), 2.0, 0.0)
    np.testing.assert_allclose(
        np.c_[a[0], b[0]].ravel(), [17.82453, 46.30915, 19.53289, 48.90583, 17.90937, 39.39697], atol=1e-5
    )
    np.testing.assert_allclose(stats.beta.sf(0.2, a[0], b[0]), [0.9262286, 0.9497929, 0.9753582], atol=1e-6)


@pytest.mark.parametrize(
    "tau,rej,fwer",
    [
        # Fujikawa et al. 2020 design (i) and (ii); their simulated values 0.019-0.022 / 0.035 and
        # 0.029-0.034 / 0.063; baskexact's exact values below
        (0.0, 0.02158174, 0.03600149),
        (0.5, 0.03239555, 0.06315308),
    ],
)
def test_exact_type_one_error_matches_baskexact(tau, rej, fwer):
    inds = [Indication(f"B{i}", 24, 0.2, 0.5, 0.99) for i in range(3)]
    m = Method("jsd", "jsd", {"prior": (1, 1), "epsilon": 2.0, "tau": tau})
    d = Design("fujikawa", inds, [m], [Scenario("null", (0.2, 0.2, 0.2))])
    rows = exact_oc(d, m)  # 25^3 outcomes; its time is reported by `make bench` (tools.bench_basket)
    np.testing.assert_allclose([r["go"] for r in rows[:3]], [rej] * 3, atol=1e-7)
    assert rows[3]["fwer"] == pytest.approx(fwer, abs=1e-7)
