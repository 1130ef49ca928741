"""The follow-up design's spec features: cohort selection, sensitivity grid, calibration, futility OC, tables."""

import json

import numpy as np
import pytest

from analysis.data import load_cohorts
from analysis.frequentist.meta import SCENARIOS, select
from analysis.priors.decision1S import decision1S
from analysis.priors.interim import oc1S_interim
from analysis.priors.mixture import BetaMixture
from analysis.priors.oc1S import oc1S
from analysis.priors.spec import SpecError, _studies_from_data, load_spec, run, vague_weights
from analysis.publish import priors as pub
from analysis.settings import COHORTS


def test_selection_by_product_and_endpoint_class():
    ids, r, n = _studies_from_data("SLE", COHORTS, ["cd19_autologous"], ["remission"])
    assert ids == ["MULLER24_SLE"] and r == [8] and n == [8]  # MACKENSEN22 shares its patients
    ids, _, _ = _studies_from_data("SLE", COHORTS, None, ["remission"])
    assert set(ids) == {"MULLER24_SLE", "FENG25_SLE", "CHEN_BCMA_LN"}
    ids, _, _ = _studies_from_data("SLE", COHORTS)
    assert set(ids) == {"MULLER24_SLE", "FENG25_SLE", "CHEN_BCMA_LN", "YTS109_SLE"}
    # without restriction the same rows as the meta-analysis' primary scenario
    prim = select(load_cohorts(COHORTS), SCENARIOS[0])
    assert set(ids) == set(prim[prim["disease"] == "SLE"]["study_id"])
    # the restriction is applied before one row per overlap group is kept: SSc event-free only keeps
    # AUTH24_SSC; the 'weak' EUSTAR row of the same patients never comes back
    ids, _, _ = _studies_from_data("SSc", COHORTS, ["cd19_autologous"], ["weak"])
    assert ids == ["MULLER24_SSC"]
    with pytest.raises(SpecError, match="no published cohort"):
        _studies_from_data("IIM", COHORTS, ["bcma"], None)


def test_follow_up_toml_is_valid_and_primary_sle_prior_is_restricted(root):
    spec = load_spec(root / "config" / "follow_up.toml")
    by = {p["name"]: p for p in spec["prior"]}
    d = spec["design"][0]
    assert by[d["prior"]]["products"] == ["cd19_autologous"] and by[d["prior"]]["endpoint_classes"] == ["remission"]
    assert "robust MAP" in by[d["prior"]]["label"]
    assert d["sensitivity"]["p0"][0] == 0.3 and d["sensitivity"]["p0"][-1] == 0.7
    assert min(d["sensitivity"]["robust_weight"]) == 0.1 and max(d["sensitivity"]["robust_weight"]) == 0.5


SPEC = """
seed = 1
[[prior]]
name = "informative"
label = "Informative, robust"
mixture = [[0.6, 12.0, 3.0], [0.4, 5.0, 1.5]]
robust_weight = 0.2

[[prior]]
name = "vague"
mixture = [[1.0, 1.0, 1.0]]

[[design]]
name = "d"
type = "one-sample"
prior = "informative"
compare = ["vague"]
n = 20
p0 = 0.5
c = 0.95
interim_n = 10
futility = 0.1

[design.sensitivity]
p0 = [0.3, 0.5]
robust_weight = [0.1, 0.5]

[design.calibration]
alpha = [0.05]
match = "vague"
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("fu")
    (out / "s.toml").write_text(SPEC)
    run(out / "s.toml", out / "res")
    return json.loads((out / "res" / "priors.json").read_text()), json.loads((out / "res" / "designs.json").read_text())


def test_sensitivity_rows_are_exact_oc(result):
    _, designs = result
    d = designs["d"]
    rows = d["sensitivity"]
    assert len(rows) == 2 * 2 + 2  # p0 x weights, plus the vague prior per p0
    inf = BetaMixture([(0.6, 12.0, 3.0), (0.4, 5.0, 1.5)])
    for r in rows:
        mix = inf.robustify(r["robust_weight"]) if r["robust_weight"] is not None else BetaMixture([(1, 1, 1)])
        oc = oc1S(mix, 20, decision1S(0.95, r["p0"], lower_tail=False))
        assert r["boundary"] == int(oc.boundary) + 1
        assert r["type1"] == pytest.approx(float(oc(r["p0"])), abs=1e-15)
        assert r["power"] == pytest.approx(float(oc(r["p0"] + 0.2)), abs=1e-15)
        io = oc1S_interim(mix, 10, 20, decision1S(0.95, r["p0"], lower_tail=False), 0.1, [r["p0"]])
        assert r["stop_null"] == pytest.approx(float(io.futility_stop[0]), abs=1e-15)
        # expected sample size: 10 + 10 P(continue)
        assert r["expected_n_null"] == pytest.approx(10 + 10 * (1 - r["stop_null"]), abs=1e-12)


def test_interim_oc_at_null_and_alternative_match_the_grid(result):
    _, designs = result
    d = designs["d"]
    grid = np.asarray(d["grid"])
    for e in d["priors"].values():
        for rate, at in e["interim"]["at"].items():
            i = int(np.argmin(abs(grid - float(rate))))
            assert at["futility_stop"] == pytest.approx(e["interim"]["futility_stop"][i], abs=1e-12)
            assert at["expected_n"] == pytest.approx(e["interim"]["expected_n"][i], abs=1e-12)


def test_calibration_equalises_type1_and_power(result):
    _, designs = result
    rows = designs["d"]["calibration"]
    for target in {r["target"] for r in rows}:
        sub = [r for r in rows if r["target"] == target]
        assert {r["prior"] for r in sub} == {"informative", "vague"}
        assert len({r["boundary"] for r in sub}) == 1
        assert len({round(r["power"], 13) for r in sub}) == 1
        assert all(r["type1"] <= r["alpha"] for r in sub)
    match = [r for r in rows if r["target"].startswith("type I error of")]
    vague_t1 = designs["d"]["priors"]["vague"]["type1"]
    assert all(r["type1"] == pytest.approx(vague_t1, abs=1e-15) for r in match)


def test_publish_tables_and_variables(result):
    priors, designs = result
    assert "Informative, robust" in pub.design_table(designs)
    assert "Stop early" in pub.design_table(designs)
    assert "tbl-design-sensitivity" in pub.design_sensitivity_table(designs)
    assert "tbl-design-calibration" in pub.design_calibration_table(designs)
    v = pub.priors_variables(priors, designs)
    dv = v["design"]["d"]
    assert dv["calibrated_power_equal"] is True
    assert set(dv["sensitivity"]) == {"p030", "p050"}
    assert dv["priors"]["primary"]["label"] == "Informative, robust"
    assert "stop_null" in dv["priors"]["primary"] and "expected_n_alt" in dv["priors"]["primary"]


def test_effective_vague_weight_counts_near_uniform_fitted_components():
    """Issue 22: a MAP mixture whose fit carries a Beta(1, 1)-like tail component has, after robustification
    with weight 0.2, an effective vague weight of 0.2 + 0.8 x that component's weight, not 0.2."""
    inf = BetaMixture([(0.7, 20, 2), (0.2, 1.5, 1.4), (0.1, 2, 1.5)])
    vw = vague_weights(inf, inf.robustify(0.2))
    assert vw["informative_weight"] == pytest.approx(0.2)  # a + b = 2.9 counts, 3.5 does not
    assert vw["effective_weight"] == pytest.approx(0.2 + 0.8 * 0.2)


@pytest.mark.pipeline
def test_paper_variables_state_the_chosen_mixture_and_vague_weight(root):
    """The paper's priors section reads the chosen number of components (lowest penalised criterion among the
    EM fits in priors.json) and the effective vague weight from the results, never from code defaults."""
    priors = json.loads((root / "results/priors/priors.json").read_text())
    designs = json.loads((root / "results/priors/designs.json").read_text())
    v = pub.priors_variables(priors, designs)
    for name, p in priors["priors"].items():
        if "em_fits" not in p:
            continue
        best = min(p["em_fits"], key=lambda f: f["aic"])
        assert v["map"][name]["em"]["k"] == best["k"] == len(p["informative_mixture"]["components"])
        w = p["robust"]["weight"]
        share = sum(c["w"] for c in p["informative_mixture"]["components"] if c["a"] + c["b"] <= 3)
        assert p["vague"]["effective_weight"] == pytest.approx(w + (1 - w) * share)
        assert v["map"][name]["vague_weight"] == pub.prop(w + (1 - w) * share, 2)
    assert v["morita_s"] == "100"
