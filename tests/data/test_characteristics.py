"""data/raw/study_characteristics.csv: the shipped file is valid, and a bad row is named with its field."""

import re
from pathlib import Path

import pytest

from analysis.data import DataError, load_characteristics, load_index, validate, validate_characteristics
from analysis.data.characteristics import CHARACTERISTICS, ITEMS

SHARED = Path(__file__).resolve().parents[3] / "shared"


def _broken(tmp_path, old, new, name="broken.csv", src=CHARACTERISTICS):
    text = src.read_text(encoding="utf-8")
    assert old in text, "test set-up: the text to break is not in the file"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_shipped_file_is_valid():
    assert validate_characteristics(CHARACTERISTICS) == []
    df = load_characteristics()
    assert df["fact_id"].is_unique
    assert set(df["item"]) <= set(ITEMS)
    # every item the manuscript's clinical context needs is there
    for item in ("patients", "refractoriness", "product", "dose", "lymphodepletion", "setting", "follow_up",
                 "endpoint_definition", "endpoint_timepoint", "durability", "b_cell_reconstitution",
                 "relapse_report", "unreadable_cohort"):  # fmt: skip
        assert item in set(df["item"]), item


def test_patients_agree_with_the_index_study_counts():
    df = load_characteristics()
    pts = df[(df["study_id"] == "MULLER24") & (df["item"] == "patients")].set_index("group")["value"].astype(int)
    idx = load_index()
    n = idx[idx["endpoint"] == "response"].set_index("group")["n"]
    for g, count in n.items():
        assert pts[g] == count
    assert pts["all"] == n.sum()


def test_quotes_are_the_evidence_text():
    """Every quote (pieces around '...') is in the evidence files or the news text (when they are present)."""
    files = [SHARED / "evidence/README.md", SHARED / "evidence/published_cohorts.csv"]
    files += sorted((SHARED / "seed").glob("*.txt")) if (SHARED / "seed").is_dir() else []
    if not all(f.is_file() for f in files[:2]):
        pytest.skip("../shared/evidence is not next to this checkout")

    def norm(s):
        return re.sub(r"\s+", " ", s)

    texts = [norm(f.read_text(encoding="utf-8")) for f in files]
    for r in load_characteristics().itertuples():
        for piece in r.quote.split("..."):
            assert any(norm(piece.strip()) in t for t in texts), (r.fact_id, piece)


def test_unknown_item_and_stray_spaces_name_row_and_field(tmp_path):
    path = _broken(tmp_path, "CH03,MULLER24,IIM,patients", "CH03,MULLER24, IIM,patient")
    errors = validate_characteristics(path)
    assert any("row 4, field 'group': ' IIM' has leading or trailing spaces; expected 'IIM'" in e for e in errors)
    assert any("row 4, field 'item': 'patient' is not a known code" in e for e in errors)
    with pytest.raises(DataError) as info:
        load_characteristics(path)
    assert str(path) in str(info.value)


def test_duplicate_fact_id(tmp_path):
    path = _broken(tmp_path, "CH04,MULLER24,SSc", "CH03,MULLER24,SSc")
    assert any(
        "row 5, field 'fact_id': CH03 repeats row 4; expected unique values" in e
        for e in validate_characteristics(path)
    )


def test_duplicate_fact(tmp_path):
    path = _broken(tmp_path, "CH04,MULLER24,SSc,patients", "CH04,MULLER24,IIM,patients")
    assert any("row 5, field 'study_id/group/item/statistic'" in e for e in validate_characteristics(path))


def test_numeric_value_must_be_a_number_with_a_unit_and_in_the_quote(tmp_path):
    path = _broken(
        tmp_path, "CH11,MULLER24,all,follow_up,median,15,months", "CH11,MULLER24,all,follow_up,median,fifteen,"
    )
    path = _broken(
        path.parent,
        "CH12,MULLER24,all,follow_up,minimum,4,",
        "CH12,MULLER24,all,follow_up,minimum,5,",
        "b2.csv",
        src=path,
    )
    errors = validate_characteristics(path)
    assert any("row 12, field 'value': 'fifteen' is not a number" in e for e in errors)
    assert any("row 12, field 'unit': empty" in e for e in errors)
    assert any("row 13, field 'value': 5 does not appear in the quote" in e for e in errors)


def test_number_words_in_the_quote_count():
    # 'at least two conventional therapies' carries the value 2; 'after three months' the value 3
    df = load_characteristics().set_index("fact_id")
    assert df.loc["CH05", "value"] == "2" and "two" in df.loc["CH05", "quote"]


def test_counts_doi_pmid_and_missing_columns(tmp_path):
    path = _broken(tmp_path, "CH02,MULLER24,SLE,patients,count,8,", "CH02,MULLER24,SLE,patients,count,8.5,")
    path = _broken(
        path.parent, "10.1056/NEJMoa2308917,38381673", "doi:10.1056/NEJMoa2308917,PMID38381673", "b2.csv", src=path
    )
    errors = validate_characteristics(path)
    assert any("row 3, field 'value': 8.5; expected a whole number >= 0" in e for e in errors)
    assert any("row 2, field 'doi': 'doi:10.1056/NEJMoa2308917'" in e for e in errors)
    assert any("row 2, field 'pmid': 'PMID38381673'; expected digits only" in e for e in errors)
    nocol = tmp_path / "nocol.csv"
    nocol.write_text(CHARACTERISTICS.read_text(encoding="utf-8").replace(",quote", ",citation", 1), encoding="utf-8")
    assert any("missing column(s) quote" in e for e in validate_characteristics(nocol))


def test_unknown_evidence_and_statistic_codes(tmp_path):
    path = _broken(
        tmp_path,
        "CH20,MULLER24,SLE,durability,time,24,months,article",
        "CH20,MULLER24,SLE,durability,through,24,months,paper",
    )
    errors = validate_characteristics(path)
    assert any("row 21, field 'statistic': 'through' is not a known code" in e for e in errors)
    assert any("row 21, field 'evidence': 'paper' is not a known code" in e for e in errors)


def test_missing_file_and_folder(tmp_path):
    assert any("file not found" in e for e in validate_characteristics(tmp_path / "nope.csv"))
    assert any("is a folder" in e for e in validate_characteristics(tmp_path))
    with pytest.raises(DataError, match="file not found"):
        load_characteristics(tmp_path / "nope.csv")


def test_the_generic_validator_recognises_the_file(tmp_path):
    """`python -m analysis validate data/raw/*.csv` checks this file against its own schema."""
    assert validate(CHARACTERISTICS) == []
    path = _broken(tmp_path, "CH03,MULLER24,IIM,patients", "CH03,MULLER24,IIM,patient")
    assert any("row 4, field 'item': 'patient' is not a known code" in e for e in validate(path))
