"""A cohort folder of one data file and one metadata file (issue 24's "Done when").

``published_cohorts.csv``, ``study_characteristics.csv`` and ``endpoint_definitions.csv`` are optional: without
them the evidence base is empty, the study's facts come from the ``study`` mapping of ``study.yml``
(:mod:`analysis.data.metadata`) and each group's endpoint is the index file's definition.  ``validate`` says what
stands in for each missing file, and lists every problem of the metadata at once, naming ``study.KEY``.
"""

import shutil

import pytest
import yaml

from analysis.cli import main
from analysis.data import DataError, load_characteristics, load_cohorts, load_index
from analysis.data.metadata import facts
from analysis.data.schema import COHORT_SCHEMA, read_index
from analysis.publish.context import context_variables
from analysis.settings import ROOT

ONE_FILE = ROOT / "tests" / "data" / "one_file"
TWO_GROUP = ROOT / "tests" / "data" / "two_group"


def _copy(tmp_path, study: dict | None = None):
    folder = tmp_path / "cohort"
    shutil.copytree(ONE_FILE, folder)
    if study is not None:
        data = yaml.safe_load((folder / "study.yml").read_text(encoding="utf-8"))
        data["study"] = study
        (folder / "study.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def _validate(capsys, folder):
    code = main(["validate", "--data", str(folder)])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_one_data_file_and_one_metadata_file_validate_and_say_what_stands_in(capsys):
    code, out, err = _validate(capsys, ONE_FILE)
    assert code == 0, err
    assert "index_study.csv: ok" in out and "study.yml: ok" in out
    assert "published_cohorts.csv: absent (no evidence base" in out
    assert "study_characteristics.csv: absent (the study's facts come from the 'study' mapping" in out
    assert "endpoint_definitions.csv: absent" in out


def test_the_metadata_facts_give_the_same_context_as_a_characteristics_file():
    """tests/data/two_group states the same made-up facts as rows of study_characteristics.csv: the prose's
    variables agree, so a cohort's text does not depend on which of the two ways its facts came."""
    meta = context_variables(
        load_characteristics(ONE_FILE / "study_characteristics.csv"), load_index(ONE_FILE / "index_study.csv")
    )
    rows = context_variables(
        load_characteristics(TWO_GROUP / "study_characteristics.csv"), load_index(TWO_GROUP / "index_study.csv")
    )
    for key in ("patients", "centre", "setting", "product", "dose", "lymphodepletion", "refractory_min_therapies",
                "follow_up", "endpoint"):  # fmt: skip
        assert meta[key] == rows[key], key
    assert meta["dose"] == "1 × 10⁶ per kg"


def test_every_problem_of_the_metadata_is_listed_at_once_naming_its_key(tmp_path, capsys):
    folder = _copy(
        tmp_path,
        {"centr": "typo", "setting": "", "product": 3, "dose": "1 x 10^6 per kg", "lymphodepletion": "none",
         "refractory_min_therapies": 1.5, "follow_up": {"median": 2, "min": 6, "max": 18}},
    )  # fmt: skip
    code, out, err = _validate(capsys, folder)
    assert code == 2
    for words in (
        "key 'study.centr': unknown",
        "key 'study.centre': missing",
        "key 'study.setting': expected text",
        "key 'study.product': expected text",
        "key 'study.refractory_min_therapies': expected a whole number",
        "key 'study.follow_up.unit': expected text",
        "key 'study.follow_up': min 6 <= median 2 <= max 18 does not hold",
    ):
        assert words in err, words
    assert "study.yml: 7 problem(s)" in err
    assert "field 'item': no row" not in err  # a missing fact is reported once, by its key


def test_a_folder_without_facts_or_metadata_is_refused_by_validate_and_by_the_build(tmp_path, capsys):
    folder = _copy(tmp_path)
    data = yaml.safe_load((folder / "study.yml").read_text(encoding="utf-8"))
    del data["study"]
    (folder / "study.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = _validate(capsys, folder)
    assert code == 2 and "key 'study': missing; without study_characteristics.csv" in err
    with pytest.raises(DataError, match="key 'study': missing"):
        load_characteristics(folder / "study_characteristics.csv")


def test_facts_in_both_places_are_refused(tmp_path, capsys):
    folder = tmp_path / "cohort"
    shutil.copytree(TWO_GROUP, folder)
    data = yaml.safe_load((folder / "study.yml").read_text(encoding="utf-8"))
    data["study"] = yaml.safe_load((ONE_FILE / "study.yml").read_text(encoding="utf-8"))["study"]
    (folder / "study.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = _validate(capsys, folder)
    assert code == 2 and "key 'study': the facts of study_characteristics.csv in the same folder" in err


def test_patients_per_group_come_from_the_index_file():
    _, index = read_index(ONE_FILE / "index_study.csv")
    errors, rows = facts(ONE_FILE / "study.yml", index)
    assert errors == []
    counts = {r["group"]: int(r["value"]) for r in rows if r["item"] == "patients"}
    assert counts == {"AAV": 6, "MG": 4, "all": 10}
    assert {r["evidence"] for r in rows} == {"metadata"}


def test_no_published_cohorts_is_an_empty_evidence_base(tmp_path):
    empty = load_cohorts(ONE_FILE / "published_cohorts.csv")
    assert empty.empty and list(empty.columns) == [c.name for c in COHORT_SCHEMA]
    header_only = _copy(tmp_path) / "published_cohorts.csv"  # in a cohort folder of one's own
    header_only.write_text(",".join(c.name for c in COHORT_SCHEMA) + "\n", encoding="utf-8")
    assert load_cohorts(header_only).empty


def test_without_external_cohorts_the_sensitivity_analysis_does_not_add_them():
    from analysis.bayes.sensitivity import has_external, scenarios

    assert not has_external(ONE_FILE / "index_study.csv", ONE_FILE / "published_cohorts.csv")
    assert has_external(TWO_GROUP / "index_study.csv", TWO_GROUP / "published_cohorts.csv")
    assert "external" in [s.name for s in scenarios()]
    assert "external" not in [s.name for s in scenarios(external=False)]
    assert [s.name for s in scenarios("MG", external=False)][-1] == "no_mg"


def test_the_papers_data_folder_needs_every_file(tmp_path, monkeypatch):
    """Optional files are a cohort folder's, never the paper's: there a lost or emptied evidence file is a mistake
    (it would silently drop the meta-analyses and the external-cohorts scenario), and validate says so."""
    from analysis.data import schema
    from analysis.data.dataset import check, paths_in

    folder = _copy(tmp_path)
    header = ",".join(c.name for c in COHORT_SCHEMA) + "\n"
    (folder / "published_cohorts.csv").write_text(header, encoding="utf-8")
    found, _ = check(paths_in(folder))
    assert found[folder / "published_cohorts.csv"] == []  # a cohort of one's own: no evidence base
    monkeypatch.setattr(schema, "PAPER_DATA", folder)  # the same folder as the paper's data
    found, _ = check(paths_in(folder))
    assert found[folder / "published_cohorts.csv"] == ["no data rows"]
    (folder / "published_cohorts.csv").unlink()
    found, _ = check(paths_in(folder))
    assert "file not found" in found[folder / "published_cohorts.csv"][0]
    with pytest.raises(DataError, match="file not found"):
        load_cohorts(folder / "published_cohorts.csv")
    with pytest.raises(DataError, match="file not found"):
        load_characteristics(folder / "study_characteristics.csv")


def test_a_typo_in_a_path_is_not_an_empty_evidence_base(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_cohorts(tmp_path / "published_cohorts.csv")  # no cohort folder here
    with pytest.raises(DataError, match="file not found"):
        load_cohorts(ONE_FILE / "publshed_cohorts.csv")  # not the file's name


@pytest.mark.parametrize(
    ("value", "accepted"),
    [(".nan", False), (".inf", False), ("-3", False), ("'12'", True), ("twelve", False), ("true", False)],
)
def test_a_follow_up_value_is_a_finite_number_or_named(tmp_path, capsys, value, accepted):
    folder = _copy(tmp_path)
    path = folder / "study.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("median: 12", f"median: {value}"), encoding="utf-8")
    code, _, err = _validate(capsys, folder)
    if accepted:
        assert code == 0, err
    else:
        assert code == 2 and "key 'study.follow_up.median': expected a number >= 0" in err, err
        assert "internal error" not in err


def test_a_study_key_that_is_not_a_mapping_is_named_once(tmp_path, capsys):
    code, _, err = _validate(capsys, _copy(tmp_path, study=3))
    assert code == 2
    assert err.count("key 'study': expected a mapping of centre, setting") == 1
    assert "study.yml: 1 problem(s)" in err
