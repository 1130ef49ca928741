"""Adaptive two-stage robust-MAP design (Schmidli et al. 2014, Biometrics 70:1023, Section 5), set up as
RBesT's demo/robustMAP.R ("Operating Characteristics, Table 1"): stage 1 n1 = 15 controls, n_target = 40,
n_min = 5, m = 40 treated, decision P(p_t - p_c > 0) > 0.975, treatment prior Beta(1, 1), control priors
Beta(4, 16), 0.9 Beta(4, 16) + 0.1 Beta(1, 1), 0.5 Beta(4, 16) + 0.5 Beta(1, 1) and Beta(1, 1)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.priors import BetaMixture, adaptive2S, decision2S, ess, oc2S
from analysis.priors.spec import SpecError, load_spec

DEC = decision2S(0.975, 0.0, lower_tail=False)
UNIF = BetaMixture([(1.0, 1, 1)])
MAP = {
    "beta": BetaMixture([(1.0, 4, 16)]),
    "mix90": BetaMixture([(0.9, 4, 16), (0.1, 1, 1)]),
    "mix50": BetaMixture([(0.5, 4, 16), (0.5, 1, 1)]),
    "unif": UNIF,
}
PC = np.round(np.arange(0.1, 0.61, 0.1), 2)


@pytest.mark.parametrize(("name", "n_c"), [("beta", 20), ("unif", 38)])
def test_conjugate_priors_give_the_demo_fixed_design(name, n_c):
    """RBesT demo/robustMAP.R: for a single Beta prior the interim ESS does not depend on the stage-1 data
    (posterior ESS = prior ESS + 15, Morita, rounded) and the design is oc2S(unif, prior, 40, N_c) with
    N_c = 40 - round(ess(prior, "morita")): 20 controls for Beta(4, 16), 38 for Beta(1, 1).  The adaptive
    OC equal that fixed design's exactly."""
    d = adaptive2S(UNIF, MAP[name], 15, 40, 5, 40, DEC)
    assert 40 - round(ess(MAP[name], "morita")) == n_c
    assert set(d.n_total.tolist()) == {n_c}
    fixed = oc2S(UNIF, MAP[name], 40, n_c, DEC)
    for delta in (0.0, 0.3):
        assert_allclose(d(PC + delta, PC), fixed(PC + delta, PC), atol=1e-12)
    assert_allclose(d.expected_n(PC), n_c)
    demo = adaptive2S(UNIF, MAP[name], 15, 40, 5, 40, DEC, conditional=False)
    assert_allclose(demo(PC + 0.3, PC), fixed(PC + 0.3, PC), atol=1e-12)


def test_stage_two_size_follows_the_posterior_ess():
    """n2(r1) = max(n_target - round(ESS_morita(prior | r1 of 15)), n_min): with the 50:50 robust prior a
    stage 1 in line with Beta(4, 16) (r1 = 3, rate 0.2) keeps the informative component and few controls
    are added; a conflicting stage 1 (r1 = 12) discards it and 23 are added (40 - (15 + 2))."""
    d = adaptive2S(UNIF, MAP["mix50"], 15, 40, 5, 40, DEC)
    for r1 in range(16):
        e = ess(MAP["mix50"].posterior(r1, 15), "morita", s=100)
        assert d.n2[r1] == max(40 - round(e), 5)
    assert d.n2[3] < 12 and d.n2[12] == 23
    # the distribution of the control total: binomial stage-1 probabilities collected by total size
    pmf = stats.binom.pmf(np.arange(16), 15, 0.2)
    expected: dict = {}
    for r1, n in enumerate(d.n_total.tolist()):
        expected[n] = expected.get(n, 0.0) + pmf[r1]
    assert d.n_distribution(0.2) == pytest.approx(expected)
    assert sum(n * p for n, p in expected.items()) == pytest.approx(float(d.expected_n(0.2)))


def _simulate(design, p_t, p_c, n_sim, rng):
    """Brute force: simulate both stages and decide from the posteriors (decision2S on postmix), no boundary."""
    cache: dict = {}
    wins = 0
    for _ in range(n_sim):
        r1 = rng.binomial(design.n1, p_c)
        n2 = int(design.n2[r1])
        r_c = r1 + rng.binomial(n2, p_c)
        y_t = rng.binomial(design.m, p_t)
        key = (r_c, design.n1 + n2, y_t)
        if key not in cache:
            cache[key] = DEC(UNIF.posterior(y_t, design.m), design.prior_control.posterior(r_c, design.n1 + n2))
        wins += cache[key]
    return wins / n_sim


@pytest.mark.parametrize(("p_t", "p_c"), [(0.4, 0.4), (0.6, 0.3)])
def test_exact_oc_match_a_brute_force_simulation(p_t, p_c):
    """The exact OC (conditional on the stage-1 data) against 20,000 simulated two-stage trials (seeded):
    within 4 Monte Carlo standard errors."""
    d = adaptive2S(UNIF, MAP["mix90"], 15, 40, 5, 40, DEC)
    exact = float(d(p_t, p_c))
    sim = _simulate(d, p_t, p_c, 20_000, np.random.default_rng(20140601))
    se = np.sqrt(exact * (1 - exact) / 20_000)
    assert abs(sim - exact) < 4 * se, (sim, exact, se)


def test_robust_prior_limits_type_one_error_inflation():
    """Schmidli et al. 2014 (Section 5): the robust adaptive design enrols more controls under prior-data
    conflict and so limits the type I error inflation of the informative prior: at p_c = 0.5 the
    Beta(4, 16) design's type I error is far above 2.5%, the 50:50 robust prior's is much lower, and its
    expected control size rises towards n_target - 2."""
    inf = adaptive2S(UNIF, MAP["beta"], 15, 40, 5, 40, DEC)
    rob = adaptive2S(UNIF, MAP["mix50"], 15, 40, 5, 40, DEC)
    assert inf(0.5, 0.5) > 0.2 and rob(0.5, 0.5) < 0.08
    assert rob.expected_n(0.2) < rob.expected_n(0.5) < 40


def test_adaptive_design_from_a_spec_file(tmp_path):
    """The [[design]] type 'adaptive-two-sample' runs from a spec file through the CLI and gives the same
    numbers as the Python API."""
    spec = tmp_path / "adaptive.toml"
    spec.write_text(
        '[[prior]]\nname = "flat"\nmixture = [[1.0, 1.0, 1.0]]\n'
        '[[prior]]\nname = "map"\nmixture = [[0.5, 4.0, 16.0], [0.5, 1.0, 1.0]]\n'
        '[[design]]\nname = "schmidli"\ntype = "adaptive-two-sample"\nprior_treatment = "flat"\n'
        'prior_control = "map"\nn1 = 15\nn_target = 40\nn_min = 5\nm = 40\nc = 0.975\n'
        "p_c = [0.2, 0.5]\neffect = [0.0, 0.3]\n"
    )
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "priors", str(spec), "--out", str(out)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "stage-2 controls by stage-1 responders" in res.stdout
    d = json.loads((out / "designs.json").read_text())["schmidli"]
    api = adaptive2S(UNIF, MAP["mix50"], 15, 40, 5, 40, DEC)
    assert d["adaptive"]["n2"] == api.n2.tolist()
    rows = {(r["p_c"], r["delta"]): r for r in d["oc_table"]}
    assert_allclose(rows[(0.5, 0.0)]["success"], api(0.5, 0.5), rtol=1e-12)
    assert_allclose(rows[(0.2, 0.3)]["expected_n_control"], api.expected_n(0.2), rtol=1e-12)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("n_min = 50\n", "n_min = 50 exceeds n_target = 40"),
        ("s = 0\n", "field 's'"),
        ("s = nan\n", "field 's'"),
        ("effect = [0.9]\n", r"p_c 0.2 \+ effect 0.9 = 1.1 is not a rate"),
        ("n1 = 0\n", "field 'n1'"),
    ],
)
def test_adaptive_spec_errors_name_the_field(tmp_path, extra, match):
    base = {
        "n1": "n1 = 15\n",
        "n_min": "n_min = 5\n",
        "s": "",
        "effect": "",
    }
    key = extra.split(" ")[0]
    base[key] = extra
    spec = tmp_path / "bad.toml"
    spec.write_text(
        '[[prior]]\nname = "flat"\nmixture = [[1.0, 1.0, 1.0]]\n'
        '[[design]]\nname = "a"\ntype = "adaptive-two-sample"\nprior_treatment = "flat"\nprior_control = "flat"\n'
        + "".join(base.values())
        + "n_target = 40\nm = 40\nc = 0.975\np_c = [0.2]\n"
    )
    with pytest.raises(SpecError, match=match):
        load_spec(spec)
