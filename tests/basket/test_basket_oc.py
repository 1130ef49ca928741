"""Design files, outputs and OC."""

import json
import math

import pandas as pd
import pytest

from analysis.basket.design import Indication, indication_states
from analysis.basket.spec import DesignError, load, parse

BASE = {
    "design": {"name": "t"},
    "indication": [{"name": "SLE", "n": 10, "p0": 0.3, "target": 0.6, "c": 0.9}],
    "method": {"independent": {}},
    "scenarios": {"generate": ["null", "target", "single"]},
}


def test_config_file_loads(root):
    d = load(root / "config" / "basket.toml")
    assert [i.name for i in d.indications] == ["SLE", "IIM", "SSc"]
    assert [m.kind for m in d.methods] == ["independent", "hierarchical", "exnex", "jsd", "mem"]
    assert "all null" in [s.name for s in d.scenarios] and "only SSc active" in [s.name for s in d.scenarios]


@pytest.mark.parametrize(
    "patch,message",
    [
        ({"design": {"nmae": "x"}}, "unknown key 'nmae'; did you mean 'name'"),
        ({"indication": [{"name": "A", "n": 10, "p0": 0.3, "target": 0.6, "c": 1.5}]}, "'c': 1.5 must be <"),
        ({"indication": [{"name": "A", "n": "ten", "p0": 0.3, "target": 0.6, "c": 0.9}]}, "not a whole number"),
        ({"indication": [{"name": "A", "n": 10, "p0": 0.6, "target": 0.3, "c": 0.9}]}, "must be above p0"),
        ({"method": {"exnx": {}}}, "did you mean 'exnex'"),
        ({"method": {"exnex": {"tua": "HalfNormal(1)"}}}, "did you mean 'tau'"),
        ({"method": {"hierarchical": {"tau": "Normal(0, 1)"}}}, "tau prior"),
        ({"scenarios": {"generate": ["nul"]}}, "did you mean 'null'"),
        ({"design": {"name": "../x"}}, "path separators"),
        (
            {
                "indication": [
                    {"name": "A", "n": 10, "p0": 0.3, "target": 0.6, "c": 0.9}
                    | {"interim_n": 3, "futility": 0.1, "efficacy": 0.05}
                ]
            },
            "key 'efficacy': 0.05 must be above futility = 0.1",
        ),
        ({"method": {"hierarchical": {"tau": "HalfNormal(1e-6)"}}}, r"\[method.hierarchical\]: tau prior .* no mass"),
        ({"scenarios": {"generate": "null"}}, "key 'generate': expected a list"),
        ({"design": {"interim_prior": [0, 1]}}, "key 'interim_prior': expected \\[a, b\\]"),
    ],
)
def test_bad_design_files_name_the_key(patch, message):
    with pytest.raises(DesignError, match=message.replace("(", r"\(").replace("'", "'")):
        parse(BASE | patch, "f.toml")


def test_interim_states_probabilities_sum_to_one():
    ind = Indication("A", 24, 0.3, 0.6, 0.95, interim_n=12, futility=0.1, efficacy=0.99)
    s = indication_states(ind)
    for p in (0.1, 0.3, 0.6):
        assert math.fsum(pd.Series(s.logprob(p)).map(math.exp)) == pytest.approx(1, abs=1e-12)
    assert {0, 1, 2} == set(s.flag)


def test_cli_design_writes_outputs(tmp_path, root):
    from analysis.cli import main

    spec = tmp_path / "d.toml"
    spec.write_text(
        "[design]\nname='t'\n[[indication]]\nname='A'\nn=12\np0=0.2\ntarget=0.5\nc=0.9\n"
        "[[indication]]\nname='B'\nn=12\np0=0.2\ntarget=0.5\nc=0.9\n"
        "[method.independent]\n[method.jsd]\n[scenarios]\ngenerate=['null','single']\n"
    )
    out = tmp_path / "out"
    assert main(["design", str(spec), "--out", str(out), "--workers", "1"]) == 0
    df = pd.read_csv(out / "oc.csv")
    assert set(df["method"]) == {"independent", "jsd"}
    assert json.loads((out / "design.json").read_text())["oc_mode"] == "exact"
    assert (out / "go_probability.png").stat().st_size > 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".outputs-design.json",
        "design.json",
        "go_probability.png",
        "oc.csv",
    ]
