"""``validate`` runs every check the build runs later, between files too, and lists every problem at once;
an index study without a DOI (an unpublished cohort) validates and is labelled so in the report."""

import csv
import shutil

import pytest

from analysis.cli import main
from analysis.data import load_characteristics, load_index
from analysis.data.dataset import FILES, check, paths_in
from analysis.publish.context import UNPUBLISHED, characteristics_table, context_variables
from analysis.settings import DATA_RAW, ROOT

SPEC = ROOT / "config" / "follow_up.toml"


def _copy(tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    for name in (*FILES.values(), "study.yml"):  # the four data files and the study metadata
        shutil.copy(DATA_RAW / name, folder / name)
    return folder


def _edit(path, change):
    """Rewrite a CSV file row by row: ``change(row)`` edits a row in place, or returns False to drop it."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    kept = [r for r in rows if change(r) is not False]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows(kept)


def _validate(capsys, *argv):
    code = main(["validate", *map(str, argv)])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_the_paper_data_set_is_clean(capsys):
    code, out, err = _validate(capsys)
    assert code == 0, err
    for name in FILES.values():
        assert f"{name}: ok" in out
    assert "follow_up.toml: ok" in out


def test_every_problem_of_every_file_in_one_run(tmp_path, capsys):
    d = _copy(tmp_path)

    def index(r):
        if r["row_id"] == "IDX01":
            r["events"] = "9"  # 9 of 8: this file's own schema
        if r["row_id"] == "IDX02":
            r["study_id"] = "OTHER"  # a second study in an index file

    def chars(r):
        if r["item"] in ("lymphodepletion", "centre"):
            return False  # two facts the report quotes
        if (r["study_id"], r["group"], r["item"]) == ("MULLER24", "IIM", "patients"):
            r["value"] = "4"  # disagrees with index_study.csv (n = 3) and with 'all' (15)
            r["quote"] += " 4"
        return True

    _edit(d / "index_study.csv", index)
    _edit(d / "study_characteristics.csv", chars)
    _edit(d / "endpoint_definitions.csv", lambda r: r.update(source="") if r["disease"] == "IIM" else None)
    _edit(d / "published_cohorts.csv", lambda r: r["disease"] != "SSc")  # the SSc MAP prior has no cohort
    code, out, err = _validate(capsys, "--data", d, "--spec", SPEC)
    assert code == 2
    lines = err.splitlines()

    def has(name, *parts):
        return any(line.strip().startswith(str(d / name) + ":") and all(p in line for p in parts) for line in lines)

    assert has("index_study.csv", "row 2, field 'events'", "9 exceeds 'n' = 8")
    assert has("index_study.csv", "row 3, field 'study_id'", "'OTHER' differs from 'MULLER24'")
    assert has("study_characteristics.csv", "item 'lymphodepletion'")
    assert has("study_characteristics.csv", "item 'centre'")
    assert has("study_characteristics.csv", "row 4, field 'value'", "patients for group 'IIM' is 4", "n = 3")
    assert has("study_characteristics.csv", "row 2, field 'value'", "add up to 16, but 'all' is 15")
    assert has("endpoint_definitions.csv", "row 3, field 'source'", "empty")
    assert any(line.strip().startswith(f"{SPEC}:") and "prior 'SSc', field 'disease'" in line for line in lines)
    assert "8 problem(s) in 4 file(s)" in err, err
    assert f"{d / 'published_cohorts.csv'}: ok" in out


def test_the_check_between_files_is_the_one_the_build_runs(tmp_path):
    """The report step raises the very problems ``validate`` lists, all at once (not the first only)."""
    d = _copy(tmp_path)
    _edit(d / "study_characteristics.csv", lambda r: r["item"] not in ("dose", "setting"))
    problems, _ = check(paths_in(d))
    listed = problems[d / "study_characteristics.csv"]
    assert len(listed) == 2
    from analysis.data import DataError

    with pytest.raises(DataError) as info:
        characteristics_table(load_characteristics(d / "study_characteristics.csv"), load_index(d / "index_study.csv"))
    assert info.value.errors == listed


def test_an_unpublished_index_study_validates_and_is_labelled(tmp_path, capsys):
    d = _copy(tmp_path)
    _edit(d / "index_study.csv", lambda r: r.update(doi="", pmid=""))
    _edit(d / "study_characteristics.csv", lambda r: r.update(doi="", pmid="") if r["study_id"] == "MULLER24" else None)
    code, out, err = _validate(capsys, "--data", d)
    assert code == 0, err
    chars, index = load_characteristics(d / "study_characteristics.csv"), load_index(d / "index_study.csv")
    table = characteristics_table(chars, index)
    assert f"Characteristics of the index study ({UNPUBLISHED})." in table
    assert "[@muller2024]" not in table and "as published" not in table
    study = context_variables(chars, index)["study"]
    assert study == {"id": "MULLER24", "citation": UNPUBLISHED, "published": False}
    published = context_variables(load_characteristics(), load_index())["study"]
    assert published == {"id": "MULLER24", "citation": "[@muller2024]", "published": True}


TWO_GROUP = ROOT / "tests" / "data" / "two_group"


def test_a_made_up_two_group_cohort_validates_and_gets_its_table(capsys):
    """6 ANCA vasculitis patients (5 responders) and 4 myasthenia gravis patients (4), unpublished (issue 24)."""
    code, out, err = _validate(capsys, "--data", TWO_GROUP)
    assert code == 0, err
    chars, index = load_characteristics(TWO_GROUP / FILES["characteristics"]), load_index(TWO_GROUP / FILES["index"])
    table = characteristics_table(chars, index)
    assert table.splitlines()[0] == "| Characteristic | AAV | MG | All patients |"
    assert "(unpublished)" in table
    v = context_variables(chars, index)
    assert v["patients"] == {"AAV": 6, "MG": 4, "all": 10} and v["study"]["id"] == "DEMO25"
    assert v["unreadable"] == {"list": "", "count": 0}


def test_the_paper_priors_spec_names_what_a_new_cohort_lacks(capsys):
    """The paper's MAP priors are for SLE, IIM and SSc: validate says so for every one, before any build."""
    code, _, err = _validate(capsys, "--data", TWO_GROUP, "--spec", SPEC)
    assert code == 2
    for prior in ("SLE_cd19_remission", "SLE_remission", "SLE_all", "IIM", "SSc"):
        assert f"prior '{prior}', field 'disease'" in err
