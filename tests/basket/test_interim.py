"""Interim looks that borrow: baskexact's two-stage values, simulation against exact, bad tables."""

import numpy as np
import pytest

from analysis.basket.design import Design, Indication, Method, Scenario, exact_oc
from analysis.basket.spec import DesignError, parse


def _fujikawa(tau, rule="predictive", p=(0.2, 0.2, 0.2)):
    inds = [Indication(f"B{i}", 24, 0.2, 0.5, 0.99, interim_n=15, futility=0.1, efficacy=0.9) for i in range(3)]
    m = Method("jsd", "jsd", {"prior": (1, 1), "epsilon": 2.0, "tau": tau})
    return Design("f", inds, [m], [Scenario("null", p)], interim="borrow", interim_rule=rule), m


@pytest.mark.parametrize(
    "tau,rej,fwer,ess",
    [(0.0, 0.01703198, 0.03722851, 16.06847), (0.5, 0.02175429, 0.04955128, 16.22526)],
)
def test_two_stage_borrowing_interim_reproduces_baskexact(tau, rej, fwer, ess):
    """baskexact vignette vignettes/3_Reproduce_Fujikawa.Rmd (github.com/lbau7/baskexact), two-stage part:
    setupTwoStageBasket(k = 3, shape1 = 1, shape2 = 1, p0 = 0.2), n = 24, n1 = 15, lambda = 0.99,
    interim_postpred with prob_futstop = 0.1 and prob_effstop = 0.9 (the predictive probability of a final
    go from the JSD-borrowed interim posterior), weights_fujikawa with epsilon = 2, logbase = e; Fujikawa et
    al. (2020) proposed designs (i) tau = 0 and (ii) tau = 0.5.  Printed to 7 significant digits: toer
    rejection probabilities and fwer, and ess (expected sample size per basket)."""
    d, m = _fujikawa(tau)
    rows = exact_oc(d, m)
    np.testing.assert_allclose([r["go"] for r in rows[:3]], [rej] * 3, atol=6e-9)
    assert rows[3]["fwer"] == pytest.approx(fwer, abs=6e-9)
    np.testing.assert_allclose([r["expected_n"] for r in rows[:3]], [ess] * 3, atol=6e-6)
    # expected N = 24 - 9 P(stop): the early-stop probabilities are consistent with it
    for r in rows[:3]:
        assert r["expected_n"] == pytest.approx(24 - 9 * (r["stop_futility"] + r["stop_efficacy"]), abs=1e-12)


def test_simulated_borrowing_interim_agrees_with_exact():
    d, m = _fujikawa(0.0, "posterior", (0.2, 0.5, 0.2))
    ex = exact_oc(d, m)
    from analysis.basket.design import combine_chunks, simulate_chunk

    parts = [simulate_chunk(d, m, d.scenarios[0], c, 4000) for c in range(2)]
    sim = combine_chunks(d, m, d.scenarios[0], parts)
    for e, s in zip(ex[:3], sim[:3]):
        assert abs(e["go"] - s["go"]) <= 4 * s["go_mcse"] + 1e-9
        assert abs(e["expected_n"] - s["expected_n"]) <= 4 * s["expected_n_mcse"] + 1e-9
        assert abs(e["stop_futility"] - s["stop_futility"]) <= 4 * np.sqrt(0.25 / 8000)


def test_borrowing_changes_the_interim_of_a_lone_null_indication():
    """Own-data interim vs borrowing interim: with two active indications, borrowing keeps a null one going
    more often (fewer futility stops)."""
    d, m = _fujikawa(0.0, "predictive", (0.5, 0.5, 0.2))
    own = Design(d.name, d.indications, d.methods, d.scenarios, interim="own")
    b, o = exact_oc(d, m)[2], exact_oc(own, m)[2]
    assert b["stop_futility"] < o["stop_futility"]


def test_borrowing_interim_needs_every_indication_to_have_one():
    spec = {
        "design": {"interim": "borrow"},
        "indication": [
            {"name": "A", "n": 10, "p0": 0.2, "target": 0.5, "c": 0.9, "interim_n": 5, "futility": 0.1},
            {"name": "B", "n": 10, "p0": 0.2, "target": 0.5, "c": 0.9},
        ],
        "method": {"jsd": {}},
        "scenarios": {"generate": ["null"]},
    }
    with pytest.raises(DesignError, match=r"f.toml, \[design\], key 'interim': .* B has no interim_n"):
        parse(spec, "f.toml")
    spec["design"] = {"interim": "borow"}
    with pytest.raises(DesignError, match=r"key 'interim'.*did you mean 'borrow'"):
        parse(spec, "f.toml")
