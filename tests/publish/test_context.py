"""The characteristics table and the clinical-context variables come from the data file, number for number."""

import re

import pytest

from analysis.data import DataError, load_characteristics, load_index
from analysis.publish.context import characteristics_table, context_variables, dose_text


@pytest.fixture(scope="module")
def data():
    return load_characteristics(), load_index()


def _flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def test_table_is_a_labelled_pipe_table_with_one_column_per_disease(data):
    text = characteristics_table(*data)
    assert text.rstrip().endswith("{#tbl-characteristics}")
    header = text.splitlines()[0]
    assert header == "| Characteristic | SLE | IIM | SSc | All patients |"
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in text.splitlines()[2:]
        if line.startswith("|")
    }
    assert rows["Patients, n"] == ["8", "3", "4", "15"]
    assert rows["Follow-up, median (range)"][-1] == "15 (4 to 29) months"
    assert rows["Dose"][-1] == "1 × 10⁶ per kg"
    assert rows["Lymphodepletion"][-1] == "fludarabine and cyclophosphamide"
    assert rows["Endpoint assessed"][2] == "not stated"  # SSc: no source says when
    assert rows["Endpoint assessed"][1].endswith("^a^")  # IIM: only the news report
    assert "major clinical response" in rows["Response endpoint"][1]
    assert "[@muller2024]" in text and "[@mackensen2022]" in text


def test_every_number_in_the_table_comes_from_the_data(data):
    df, index = data
    text = characteristics_table(df, index)
    body = re.sub(r"doi:\S+", "", text).replace("{#tbl-characteristics}", "")
    body = re.sub(r"\[@[^\]]+\]", "", body)
    allowed = set()
    for col in ("value", "quote", "unit"):
        for v in df[col]:
            allowed |= set(re.findall(r"\d+", str(v)))
    allowed |= {str(x) for x in index["n"]} | {"6"}  # '10⁶' is the dose's exponent, written as a superscript
    for name in ("CD19",):  # product names
        body = body.replace(name, "")
    found = set(re.findall(r"\d+", body))
    assert found <= allowed, found - allowed


def test_variables_have_the_documented_keys_and_values(data):
    v = context_variables(*data)
    flat = dict(_flat(v))
    assert flat["patients.all"] == 15 and flat["patients.IIM"] == 3
    assert (flat["follow_up.median"], flat["follow_up.min"], flat["follow_up.max"]) == (15, 4, 29)
    assert flat["dose"] == "1 × 10⁶ per kg"
    assert flat["lymphodepletion"] == "fludarabine and cyclophosphamide"
    assert flat["setting"] == "compassionate use"
    assert flat["refractory_min_therapies"] == 2
    assert flat["durability.SLE_months"] == 24
    assert (flat["bcell.mean_days"], flat["bcell.sd_days"], flat["bcell.n"]) == (110, 32, 5)
    assert flat["bcell.study"] == "MACKENSEN22"
    assert flat["relapse.months"] == 9 and flat["relapse.disease"] == "IIM"
    assert flat["timepoint.SLE_time"] == 6 and flat["timepoint.IIM_evidence"] == "news"
    assert flat["timepoint.SSc"] == "not stated"
    assert flat["unreadable.count"] == 5 and flat["unreadable.list"].startswith("CASTLE")
    assert flat["unreadable.castle.all"] == 24
    assert flat["endpoint.IIM"] == "ACR-EULAR major clinical response"
    doc = context_variables.__doc__
    documented = set(re.findall(r"``([a-z_]+(?:\.[A-Za-z_]+)*)``", doc))
    for key in flat:
        top = key.split(".")[0]
        assert any(d.split(".")[0] == top for d in documented), f"{key} is not documented"


def test_variables_follow_the_data(data):
    df, index = data
    changed = df.copy()
    changed.loc[(changed["item"] == "follow_up") & (changed["statistic"] == "median"), "value"] = "16"
    assert context_variables(changed, index)["follow_up"]["median"] == 16
    assert "16 (4 to 29) months" in characteristics_table(changed, index)


def test_patients_must_agree_with_the_index_study(data):
    df, index = data
    changed = df.copy()
    mask = (changed["study_id"] == "MULLER24") & (changed["item"] == "patients") & (changed["group"] == "IIM")
    changed.loc[mask, "value"] = "4"
    with pytest.raises(DataError, match="patients for group 'IIM' is 4, but index_study.csv has n = 3"):
        characteristics_table(changed, index)
    with pytest.raises(DataError, match="add up to 16, but 'all' is 15"):
        context_variables(changed)


def test_a_missing_fact_names_what_is_missing(data):
    df, index = data
    without = df[df["item"] != "lymphodepletion"]
    with pytest.raises(DataError, match="item 'lymphodepletion', statistic 'text'"):
        context_variables(without, index)


def test_dose_text():
    assert dose_text("1 x 10^6", "per kg") == "1 × 10⁶ per kg"
    assert dose_text("2.5 x 10^-1") == "2.5 × 10⁻¹"
    assert dose_text("one million", "cells") == "one million cells"


def test_the_index_files_timepoint_is_used_when_the_characteristics_state_none():
    """two_group states 'month 6' in index_study.csv's timepoint column and no endpoint_timepoint fact."""
    from analysis.publish.study import load_study
    from analysis.settings import ROOT

    folder = ROOT / "tests" / "data" / "two_group"
    chars, index = load_characteristics(folder / "study_characteristics.csv"), load_index(folder / "index_study.csv")
    assert "endpoint_timepoint" not in set(chars["item"])
    stated = {r.group: r.timepoint for r in index.itertuples() if r.group != "all" and r.endpoint == "response"}
    v = context_variables(chars, index)
    for g, t in stated.items():
        assert v["timepoint"][g] == f"at {t}" and v["timepoint"][f"{g}_evidence"] == "index"
    text = characteristics_table(chars, index, load_study(folder / "study.yml"))
    row = next(line for line in text.splitlines() if line.startswith("| Endpoint assessed"))
    assert "not stated" not in row and all(f"at {t}" in row for t in stated.values()), row


def test_the_papers_unstated_timepoint_stays_unstated(data):
    """The paper's characteristics state time points (not for every disease): the index column is not read."""
    v = context_variables(*data)
    assert "not stated" in {str(t) for t in v["timepoint"].values()}
