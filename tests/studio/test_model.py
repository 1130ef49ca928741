"""The studio's model: fields -> design file -> the CLI's numbers and messages, without a browser."""

import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.basket import spec as basket_spec
from analysis.basket.calibrate import calibrate
from analysis.basket.run import operating_characteristics
from analysis.priors.mixture import Mixture
from analysis.studio.model import (
    Cancelled,
    DesignError,
    Engine,
    Fields,
    Priors,
    check,
    dumps,
    field_of,
    fields_from_spec,
    number,
    spec_from_fields,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DESIGN = HERE / "design.toml"


@pytest.fixture(scope="module")
def priors():
    return Priors.load(ROOT / "results" / "priors" / "priors.json")


@pytest.fixture
def fields(priors):
    return fields_from_spec(tomllib.loads(DESIGN.read_text()), priors)


def edit(f: Fields, **changes) -> Fields:
    return Fields(dict(f.values) | changes, f.extras)


def test_number_keeps_text_that_is_not_a_number():
    assert number("24") == 24 and isinstance(number("24"), int)
    assert number(" 0.3 ") == 0.3
    assert number("abc") == "abc"
    assert number("nan") == "nan"  # not finite: left as text, so the reader refuses it


def test_the_paper_design_round_trips_through_fields_and_toml(priors):
    """config/basket.toml (five methods, calibration, own scenario) -> fields -> table -> TOML -> table."""
    raw = tomllib.loads((ROOT / "config" / "basket.toml").read_text())
    f = fields_from_spec(raw, priors)
    spec = spec_from_fields(f, priors)
    assert spec == raw
    assert tomllib.loads(dumps(spec, "a header\nof two lines")) == spec


def test_a_changed_threshold_gives_the_numbers_of_the_cli_on_the_written_file(fields, priors, tmp_path):
    """The studio's OC table equals, to the bit, the one `python -m analysis design` computes from the TOML it
    downloads (:func:`analysis.basket.run.operating_characteristics`, the CLI's function), also calibrated."""
    engine = Engine()
    f = edit(fields, thr_c_0="0.9", thr_mode="calibrated", cal_alpha="0.1")
    spec, design = check(f, priors)
    mine = engine.compute(design, spec)
    path = tmp_path / "d.toml"
    path.write_text(dumps(spec))
    theirs, cal = operating_characteristics(basket_spec.load(path), with_calibration=True)
    pd.testing.assert_frame_equal(mine.oc, theirs, check_exact=True)
    pd.testing.assert_frame_equal(mine.calibration, cal, check_exact=True)
    assert (mine.oc["thresholds"] == "calibrated").any()


def test_the_cli_itself_writes_the_studios_numbers(fields, priors, tmp_path):
    """One real `python -m analysis design FILE --out DIR` run: its oc.csv (floats written %.10g) equals the
    studio's table written the same way."""
    f = edit(fields, thr_c_2="0.85", methods=("independent",))
    spec, design = check(f, priors)
    mine = Engine().compute(design, spec).oc
    path = tmp_path / "d.toml"
    path.write_text(dumps(spec))
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "design", str(path), "--out", str(out), "--no-figures", "--workers", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    written = tmp_path / "mine.csv"
    mine.to_csv(written, index=False, float_format="%.10g", lineterminator="\n")
    assert (out / "oc.csv").read_text() == written.read_text()


def test_threshold_and_target_changes_reuse_the_outcome_space_and_sample_sizes_do_not(fields, priors):
    engine = Engine()
    for values in ({}, {"thr_c_0": "0.8"}, {"ind_target_1": "0.7"}, {"scen_generate": ("null",)}):
        spec, design = check(edit(fields, **values), priors)
        engine.compute(design, spec)
    assert (engine.misses, engine.hits) == (2, 6)  # two methods, computed once each
    spec, design = check(edit(fields, ind_n_0="20"), priors)
    assert engine.needs_work(design, spec)
    engine.compute(design, spec)
    assert engine.misses == 4


def test_a_simulated_design_gives_the_cli_numbers_chunk_by_chunk(fields, priors):
    """oc = "simulate": the studio's chunked loop (with progress and cancel points) uses the CLI's seeds."""
    f = replace(fields, extras=fields.extras | {"design": {"seed": 7, "oc": "simulate", "n_sim": 400, "chunk": 200}})
    f = edit(f, methods=("independent",), thr_mode="calibrated", cal_alpha="0.1")
    f.extras["calibration"] = {"n_sim": 300}
    spec, design = check(f, priors)
    seen = []
    mine = Engine().compute(design, spec, progress=lambda frac, msg: seen.append(frac))
    theirs = operating_characteristics(basket_spec.parse(tomllib.loads(dumps(spec)), "x"))
    pd.testing.assert_frame_equal(mine.oc, theirs, check_exact=True)
    assert mine.mode == "simulate" and seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10
    with pytest.raises(Cancelled):
        Engine().compute(design, spec, cancelled=lambda: True)


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("ind_p0_0", "1.2", "indication 'SLE', key 'p0': 1.2 must be < 1"),
        ("ind_n_1", "0", "indication 'IIM', key 'n': 0 must be >= 1"),
        ("ind_n_1", "24.5", "indication 'IIM', key 'n': 24.5 is not a whole number"),
        ("ind_target_2", "abc", "indication 'SSc', key 'target': 'abc' is not float"),
        ("ind_target_2", "0.1", "indication 'SSc', key 'target': 0.1 must be above p0 = 0.2"),
        ("thr_c_0", "1", "indication 'SLE', key 'c': 1.0 must be < 1"),
        ("jsd_epsilon", "x", "[method.jsd], key 'epsilon'"),
        ("scen_custom", "odd: 0.5, 0.5", "[[scenario]] #1, key 'p': expected 3 rates"),
    ],
)
def test_bad_fields_get_the_clis_message_beside_them(fields, priors, tmp_path, field, text, expected):
    """The message is the one the CLI prints for the same design file (its path in place of 'studio design')."""
    f = edit(fields, **{field: text})
    with pytest.raises(DesignError) as studio:
        check(f, priors)
    assert expected in str(studio.value)
    assert field_of(str(studio.value), f) == field
    path = tmp_path / "bad.toml"
    path.write_text(dumps(spec_from_fields(f, priors)))
    with pytest.raises(DesignError) as cli:
        basket_spec.load(path)
    assert str(cli.value) == str(studio.value).replace("studio design", str(path))


def test_a_weight_above_one_is_refused_for_exnex_and_the_robust_prior(fields, priors):
    f = edit(fields, methods=("exnex",), exnex_w="1.5")
    with pytest.raises(DesignError, match=r"\[method.exnex\], key 'w': 1.5 must be a number in \(0, 1\]") as err:
        check(f, priors)
    assert field_of(str(err.value), f) == "exnex_w"
    f = edit(fields, prior_mode="map", prior_robust="1.5")
    with pytest.raises(DesignError, match=r"key 'robust_weight': 1.5 must be a number in \[0, 1\]") as err:
        check(f, priors)
    assert field_of(str(err.value), f) == "prior_robust"


def test_map_priors_by_name_with_the_stored_or_another_robust_weight(fields, priors):
    """The priors step's robust weight (0.2, config/follow_up.toml) is the stored mixture (map, robust = true);
    another weight for one prior is RBesT's robustify of the MAP mixture (Schmidli et al. 2014)."""
    if not priors.names:
        pytest.skip("no priors.json: run make paper")
    names = {"prior_map_0": "SLE_cd19_remission", "prior_map_1": "IIM", "prior_map_2": "SSc"}
    f = edit(fields, prior_mode="map", prior_robust="0.2", **names)
    spec, design = check(f, priors)
    assert spec["method"]["independent"]["map"]["robust"] is True
    stored = [Mixture.from_dict(priors.stored[n]["mixture"]) for n in names.values()]
    assert list(design.methods[0].params["priors"]) == stored
    with pytest.raises(DesignError, match="robust_weight.*one MAP prior for all") as err:
        check(edit(f, prior_robust="0.5"), priors)
    assert field_of(str(err.value), f) == "prior_robust"
    one = edit(f, prior_robust="0.5", prior_map_1="SLE_cd19_remission", prior_map_2="SLE_cd19_remission")
    spec, design = check(one, priors)
    comps = np.array(spec["method"]["independent"]["prior"])
    inf = Mixture.from_dict(priors.stored["SLE_cd19_remission"]["informative_mixture"])
    np.testing.assert_allclose(comps[:-1, 0], 0.5 * np.asarray(inf.weights), rtol=1e-15)
    assert comps[-1].tolist() == [0.5, 1.0, 1.0]
    spec, _ = check(edit(f, prior_robust="0"), priors)
    assert spec["method"]["independent"]["map"]["robust"] is False


def test_calibrated_thresholds_are_the_designers(fields, priors):
    f = edit(fields, thr_mode="calibrated", cal_alpha="0.05", cal_control="fwer")
    spec, design = check(f, priors)
    res = Engine().compute(design, spec)
    ref = calibrate(design, design.methods[0], design.calibration)
    got = res.calibration[res.calibration["method"] == "independent"]["threshold"].to_numpy()
    np.testing.assert_array_equal(got, ref["thresholds"])
    assert (res.calibration["fwer"] <= 0.05).all()


def test_the_priors_steps_single_and_two_arm_designs_are_tabulated():
    """designs.json as the priors step writes it: a single-arm design with calibrated priors (results/priors,
    when built) and a two-arm design's P(success) over treatment rates (a small one written here)."""
    from analysis.studio.model import load_designs, prior_design_tables

    two = {
        "type": "two-sample", "n_t": 20, "n_c": 10, "p_c": 0.2, "delta": 0.0, "c": 0.975,
        "prior_treatment": "vague", "prior_control": "vague",
        "grid": [i / 100 for i in range(101)], "oc": [i / 100 for i in range(101)],
    }  # fmt: skip
    designs = load_designs(ROOT / "results" / "priors" / "designs.json") | {"trial2": two}
    tables = {title: (settings, oc) for title, settings, oc in prior_design_tables(designs)}
    settings, oc = tables["trial2 (two-sample)"]
    assert dict(zip(settings["setting"], settings["value"]))["n_t"] == "20"
    np.testing.assert_allclose(oc["P(success)"], np.linspace(0, 1, 11))
    for title, (_, oc) in tables.items():
        if "one-sample" in title:
            assert {"prior", "alpha", "c", "type1", "power"} <= set(oc.columns)
            assert (oc["type1"] <= oc["alpha"]).all()
