"""EXNEX designs with several exchangeable components and per-indication weights and NEX priors."""

import numpy as np
import pytest

from analysis.basket.design import _joint_index, analyze, design_states, exact_oc
from analysis.basket.methods.logit_normal import engine_product_summaries
from analysis.basket.spec import DesignError, load, parse

TABLE5 = "tests/basket/data/neuenschwander2016_table5.toml"

#: bhmbasket vignette (CRAN bhmbasket, inst/doc/reproduceExNex.html, commit 100b1f28), getEstimates() scaled by
#: 100: bias and MSE of the posterior mean per stratum, 10,000 simulated trials per scenario (JAGS)
PUBLISHED = {
    "1": {"bias": [0.76, 0.61, 1.54, 1.62], "mse": [0.34, 0.33, 0.56, 0.56]},
    "3": {"bias": [1.19, 1.34, -1.25, -1.18], "mse": [0.37, 0.38, 1.65, 1.64]},
    "4": {"bias": [1.15, 1.07, 2.21, -3.27], "mse": [0.37, 0.37, 0.66, 2.32]},
}
N_SIM = 10_000


def test_two_component_exnex_reproduces_published_bias_and_mse(root):
    """Exact bias and MSE against the published simulation: within 4 of its Monte Carlo SEs plus rounding.

    The SEs are the exact standard deviations of the posterior-mean error and of its square over the outcome
    distribution, divided by sqrt(10,000); the printed values are rounded to 0.01 (x 100).
    """
    design = load(root / TABLE5)
    method = design.methods[0]
    states = design_states(design)
    idx = _joint_index(states)
    summaries = engine_product_summaries(design, method, states)  # computed once: the tables take most of the time
    mean = summaries["mean"]
    rows = exact_oc(design, method, summaries=summaries)
    for sc in design.scenarios:
        lp = sum(states[k].logprob(sc.p[k])[idx[:, k]] for k in range(design.K))
        P = np.exp(lp - lp.max())
        P /= P.sum()
        for k, ind in enumerate(design.indications):
            err = mean[:, k] - sc.p[k]
            bias, mse = P @ err, P @ err**2
            row = next(r for r in rows if r["scenario"] == sc.name and r["indication"] == ind.name)
            assert row["bias"] == pytest.approx(bias, abs=1e-12) and row["mse"] == pytest.approx(mse, abs=1e-12)
            se_bias = np.sqrt(P @ (err - bias) ** 2 / N_SIM)
            se_mse = np.sqrt(P @ (err**2 - mse) ** 2 / N_SIM)
            pub = PUBLISHED[sc.name]
            assert abs(bias - pub["bias"][k] / 100) <= 4 * se_bias + 5e-5, (sc.name, ind.name, bias, se_bias)
            assert abs(mse - pub["mse"][k] / 100) <= 4 * se_mse + 5e-5, (sc.name, ind.name, mse, se_mse)


def _spec(method: dict, K: int = 3) -> dict:
    return {
        "design": {"name": "t", "oc": "exact"},
        "indication": [{"name": f"I{k}", "n": 6, "p0": 0.2, "target": 0.5, "c": 0.8} for k in range(K)],
        "method": {"m": {"type": "exnex", **method}},
        "scenario": [{"name": "mixed", "p": [0.2, 0.5, 0.35][:K]}],
    }


COMPONENTS = [
    {"mu": "Normal(-1.4, 1)", "tau": "HalfNormal(0.5)", "w": [0.3, 0.4, 0.2]},
    {"mu": "Normal(0, 1)", "tau": "HalfNormal(0.5)", "w": 0.3},
    {"mu": "Normal(1.4, 1)", "tau": "HalfNormal(0.5)", "w": [0.1, 0.2, 0.4]},
]


@pytest.mark.parametrize("J", [2, 3])
def test_exact_contraction_equals_one_posterior_per_outcome(J):
    """The assignment expansion over all joint outcomes equals the engine's posterior of each outcome."""
    design = parse(_spec({"component": COMPONENTS[:J], "nex": ["Normal(0, 2)", "Normal(-1, 1.5)", "Normal(0, 3)"]}))
    method = design.methods[0]
    states = design_states(design)
    idx = _joint_index(states)
    fast = engine_product_summaries(design, method, states)
    n = np.stack([states[k].n[idx[:, k]] for k in range(design.K)], 1)
    y = np.stack([states[k].y[idx[:, k]] for k in range(design.K)], 1)
    slow = analyze(design, method, n, y)
    for key in ("mean", "m2", "p_above"):
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-9, atol=1e-12, err_msg=key)
    # the weights reach the engine as indications x components, as written
    from analysis.basket.methods.logit_normal import method_engine

    expected = [[0.3, 0.3, 0.1], [0.4, 0.3, 0.2], [0.2, 0.3, 0.4]]
    np.testing.assert_allclose(method_engine(method, 18).model.group_weights(3), np.array(expected)[:, :J])
    # exact OC from summaries the caller computed are those exact_oc computes itself
    assert exact_oc(design, method, summaries=fast) == exact_oc(design, method)
    with pytest.raises(ValueError, match="summaries hold 7 end states; the design has 343"):
        exact_oc(design, method, summaries={k: v[:7] for k, v in fast.items()})


@pytest.mark.parametrize("second", [[0.4], 0.4], ids=["list", "number"])
def test_one_indication_with_per_indication_component_weights(second):
    """K = 1: a list of one weight is per indication, alone or beside a plain number."""
    from analysis.basket.methods.logit_normal import method_engine

    spec = _spec({}, K=1)
    spec["method"]["m"] = {
        "type": "exnex",
        "component": [
            {"mu": "Normal(-1, 1)", "tau": "HalfNormal(0.5)", "w": [0.3]},
            {"mu": "Normal(1, 1)", "tau": "HalfNormal(0.5)", "w": second},
        ],
    }
    design = parse(spec)
    np.testing.assert_allclose(method_engine(design.methods[0], 6).model.group_weights(1), [[0.3, 0.4]])
    rows = exact_oc(design, design.methods[0])
    assert 0 < rows[0]["go"] < 1


def test_per_indication_weights_and_nex_reach_the_engine():
    from analysis.basket.methods.logit_normal import method_engine

    design = parse(
        _spec({"mu": "Normal(0, 1)", "w": [0.2, 0.5, 0.9], "nex": ["Normal(0, 2)", "Normal(1, 1)", "Normal(-1, 3)"]})
    )
    model = method_engine(design.methods[0], 18).model
    np.testing.assert_allclose(model.group_weights(3)[:, 0], [0.2, 0.5, 0.9])
    np.testing.assert_allclose(model.group_nex(3), [[0, 2], [1, 1], [-1, 3]])
    # a weight of 1 for every indication is the hierarchical model
    one = parse(_spec({"mu": "Normal(0, 1)", "tau": "HalfNormal(0.5)", "w": 1.0}))
    hier = parse(
        _spec({"mu": "Normal(0, 1)", "tau": "HalfNormal(0.5)"})
        | {"method": {"h": {"type": "hierarchical", "mu": "Normal(0, 1)", "tau": "HalfNormal(0.5)"}}}
    )
    a = exact_oc(one, one.methods[0])
    b = exact_oc(hier, hier.methods[0])
    for ra, rb in zip(a, b):
        assert ra["go"] == pytest.approx(rb["go"], abs=1e-12) and ra["indication"] == rb["indication"]


@pytest.mark.parametrize(
    "method,message",
    [
        ({"component": COMPONENTS[:2], "mu": "Normal(0, 1)"}, "either mu, tau and w"),
        ({"component": [{"mu": "Normal(0, 1)", "tau": "HalfNormal(1)"}]}, "component #1: missing key 'w'"),
        ({"component": [{"mu": "Normal(0, 1)", "tua": "HalfNormal(1)", "w": 0.5}]}, "did you mean 'tau'"),
        ({"component": [{"mu": "Normal(0, 1)", "tau": "Normal(0, 1)", "w": 0.5}]}, r"component #1: tau prior"),
        ({"component": [{"w": 0.7}, {"w": 0.6}]}, r"sum to a number in \(0, 1\], got \[1.3, 1.3, 1.3\]"),
        ({"component": [{"w": [0.5, 0.5]}]}, "component #1, key 'w': expected one value or 3"),
        ({"component": "Normal(0, 1)"}, "expected a list of tables"),
        ({"w": [0.5, 1.5, 0.5]}, r"key 'w': 1.5 must be a number in \(0, 1\]"),
        ({"nex": ["Normal(0, 2)", "HalfNormal(1)", "Normal(0, 2)"]}, "key 'nex': must be Normal"),
        ({"nex": ["Normal(0, 2)"]}, "key 'nex': expected one value or 3"),
    ],
)
def test_bad_exnex_tables_name_the_key(method, message):
    with pytest.raises(DesignError, match=message):
        parse(_spec(method), "f.toml")
