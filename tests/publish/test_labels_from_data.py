"""Captions, figure labels and figure names come from the data and the priors spec, never from code (issue 24)."""

import csv

import pytest

from analysis.data import DataError
from analysis.priors.spec import load_spec, short_labels
from analysis.publish.figures import prior_name
from analysis.publish.frequentist import endpoint_names, response_endpoints
from analysis.publish.sections import _priors_figures
from analysis.settings import DATA_RAW, PRIORS_SPEC, ROOT

TWO_GROUP = ROOT / "tests" / "data" / "two_group"
SARCOMA = ROOT / "tests" / "data" / "sarcoma"


def test_table_2_caption_names_each_groups_endpoint_from_the_definitions_file():
    with open(DATA_RAW / "endpoint_definitions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = endpoint_names()
    assert names == {r["disease"]: r["endpoint_name"] for r in rows}
    text = response_endpoints(list(names), names, total=True)
    listed = ", ".join(f"{r['endpoint_name']} ({r['disease']})" for r in rows)
    assert text == f" The response endpoint differs by disease: {listed}; the row for all patients adds these " + (
        "different endpoints and is descriptive only."
    )
    assert response_endpoints(list(names), names, total=False).endswith(f"{listed}.")


def test_one_endpoint_for_every_group_is_said_once():
    names = endpoint_names(SARCOMA / "endpoint_definitions.csv", SARCOMA / "index_study.csv")
    assert len(names) == 10 and set(names.values()) == {"clinical benefit response"}
    assert response_endpoints(list(names), names, total=True) == " The response endpoint is clinical benefit response."
    assert response_endpoints(["A"], {}, total=False) == ""


def test_without_the_name_column_the_index_studys_definitions_name_the_endpoints():
    names = endpoint_names(TWO_GROUP / "endpoint_definitions.csv", TWO_GROUP / "index_study.csv")
    assert names == {"AAV": "BVAS remission", "MG": "MG-ADL improvement of at least 2 points"}


def test_an_empty_endpoint_name_is_an_error_naming_file_row_and_field(tmp_path):
    text = (DATA_RAW / "endpoint_definitions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    first = text[1].split(",")
    first[2] = ""
    path = tmp_path / "endpoint_definitions.csv"
    path.write_text(text[0] + ",".join(first) + "".join(text[2:]), encoding="utf-8")
    with pytest.raises(DataError, match=r"row 2, field 'endpoint_name': empty"):
        endpoint_names(path)


def test_prior_names_in_figures_are_the_specs_short_labels():
    spec = load_spec(PRIORS_SPEC)
    names = short_labels(spec)
    assert list(names) == [p["name"] for p in spec["prior"]]
    assert all(names[p["name"]] == p["short_label"] for p in spec["prior"] if "short_label" in p)
    two = short_labels(load_spec(TWO_GROUP / "priors.toml"))  # no short_label: the label
    assert two == {"AAV_map": "AAV, robust MAP", "vague": "Vague Beta(1, 1)"}
    assert prior_name("AAV_map", two) == "AAV, robust MAP" and prior_name("a_b") == "a b"


def test_the_copied_design_figures_are_named_after_the_specs_designs():
    for spec in (PRIORS_SPEC, TWO_GROUP / "priors.toml", SARCOMA / "priors.toml"):
        designs = [d["name"] for d in load_spec(spec)["design"] if d["type"] == "one-sample"]
        assert _priors_figures(spec) == (
            "map-priors",
            *(f"{kind}-{name}" for name in designs for kind in ("oc", "prior-posterior")),
        )
    assert "oc-aav_single_arm" in _priors_figures(TWO_GROUP / "priors.toml")


def test_a_group_without_a_responder_has_a_lower_bound_of_zero():
    """The exact one-sided lower bound of 0 of n is 0 (Clopper and Pearson 1934): the step writes no bound row for
    it, and the report's variable must still exist (the sarcoma strata with 0 responders stopped the report)."""
    import pandas as pd

    from analysis.frequentist.intervals import interval_table
    from analysis.publish.frequentist import frequentist_variables
    from analysis.settings import RESULTS

    est = pd.read_csv(RESULTS / "frequentist" / "estimates.csv")
    zero = interval_table(pd.DataFrame([{"endpoint": "response", "group": "Z", "n": 13, "events": 0}]))
    assert "clopper-pearson-lower" not in set(zero["method"])
    tests = pd.read_csv(RESULTS / "frequentist" / "tests.csv")
    meta = pd.read_csv(RESULTS / "frequentist" / "meta.csv")
    v = frequentist_variables(pd.concat([est, zero], ignore_index=True), tests, meta)
    assert float(v["lower_bound"]["Z"]) == 0.0
    assert set(v["lower_bound"]) >= set(est.loc[est["endpoint"] == "response", "group"])
