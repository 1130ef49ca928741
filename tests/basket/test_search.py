"""Design search: the smallest n meeting the targets, checked against a direct scan, and bad tables."""

import pandas as pd
import pytest

from analysis.basket.calibrate import Calibration, calibrate
from analysis.basket.design import exact_oc
from analysis.basket.search import search, with_n
from analysis.basket.spec import DesignError, parse

SPEC = {
    "design": {"name": "s"},
    "indication": [
        {"name": "A", "n": 10, "p0": 0.2, "target": 0.6, "c": 0.9},
        {"name": "B", "n": 10, "p0": 0.2, "target": 0.6, "c": 0.9},
    ],
    "method": {"independent": {}, "jsd": {}},
    "scenarios": {"generate": ["null", "target"]},
    "calibration": {"alpha": 0.1},
    "search": {"n_min": 4, "n_max": 14, "step": 2, "power": 0.8},
}


def test_search_finds_the_smallest_n_and_agrees_with_a_direct_calculation():
    d = parse(SPEC, "f.toml")
    df = search(d, d.search, "f.toml")
    assert set(df["n"]) == {4, 6, 8, 10, 12, 14} and set(df["method"]) == {"independent", "jsd"}
    for m in d.methods:
        sub = df[df["method"] == m.name].set_index("n")
        best = sub.index[sub["smallest"]].item()
        assert sub.loc[best, "feasible"] and not sub.loc[sub.index < best, "feasible"].any()
        # recompute the chosen design directly: calibrated thresholds, then power under all active
        dn = with_n(d, best)
        thr = calibrate(dn, m, Calibration(0.1))["thresholds"]
        power = [r["go"] for r in exact_oc(dn, m, [dn.scenarios[1]], thresholds=thr)[:2]]
        assert min(power) == pytest.approx(sub.loc[best, "min_power"], abs=1e-12)
        assert min(power) >= 0.8 and sub.loc[best, "max_type1"] <= 0.1


def test_no_feasible_design_names_the_key_and_the_cli_writes_nothing(tmp_path):
    from analysis.cli import main

    spec = SPEC | {"search": {"n_min": 2, "n_max": 4, "power": 0.99}}
    d = parse(spec, "f.toml")
    with pytest.raises(DesignError, match=r"f.toml, \[search\], key 'n_max': no method reaches power 0.99"):
        search(d, d.search, "f.toml")
    toml = tmp_path / "d.toml"
    toml.write_text(
        "[design]\nname='s'\n[[indication]]\nname='A'\nn=10\np0=0.2\ntarget=0.6\nc=0.9\n"
        "[method.independent]\n[scenarios]\ngenerate=['null','target']\n[calibration]\nalpha=0.1\n"
        "[search]\nn_min=2\nn_max=3\npower=0.99\n"
    )
    out = tmp_path / "out"
    assert main(["design", str(toml), "--search", "--out", str(out)]) == 2
    assert not out.exists() or not any(out.iterdir())


def test_cli_search_writes_the_trade_off(tmp_path):
    from analysis.cli import main

    toml = tmp_path / "d.toml"
    toml.write_text(
        "[design]\nname='s'\n[[indication]]\nname='A'\nn=10\np0=0.2\ntarget=0.6\nc=0.9\n"
        "[method.independent]\n[scenarios]\ngenerate=['null','target']\n[calibration]\nalpha=0.1\n"
        "[search]\nn_min=4\nn_max=20\nstep=4\npower=0.8\n"
    )
    out = tmp_path / "out"
    assert main(["design", str(toml), "--search", "--out", str(out)]) == 0
    df = pd.read_csv(out / "search.csv")
    assert df["smallest"].sum() == 1 and (out / "search.png").stat().st_size > 0


@pytest.mark.parametrize(
    "patch,message",
    [
        ({"n_min": 10, "n_max": 5}, r"\[search\], key 'n_max': 5 must be >= 10"),
        ({"n_min": 4, "n_max": 8, "power": 1.5}, r"\[search\], key 'power': 1.5 must be < 1"),
        ({"n_min": 4, "n_max": 8, "power_scenarios": ["nope"]}, r"\[search\], key 'power_scenarios'"),
    ],
)
def test_bad_search_tables_name_the_key(patch, message):
    with pytest.raises(DesignError, match=message):
        parse(SPEC | {"search": patch}, "f.toml")
