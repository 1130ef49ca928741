import shutil
import subprocess
import sys

import pytest

from analysis.data import DataError, data_order, endpoint_counts, group_order, load_cohorts, load_index, validate
from analysis.settings import COHORTS, INDEX_STUDY


def _broken(tmp_path, src, old, new, name="broken.csv"):
    text = src.read_text()
    assert old in text, "test set-up: the text to break is not in the file"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def test_shipped_data_are_valid():
    assert validate(INDEX_STUDY) == []
    assert validate(COHORTS) == []
    assert len(load_index()) == 12
    assert len(load_cohorts()) == 12


def test_all_group_is_derived_from_the_diseases():
    counts = endpoint_counts(load_index()).set_index(["endpoint", "group"])
    assert tuple(counts.loc[("response", "all")]) == (15, 15)
    assert tuple(counts.loc[("crs_any", "all")]) == (15, 11)


def test_events_above_n_names_row_and_field(tmp_path):
    path = _broken(
        tmp_path,
        INDEX_STUDY,
        "IDX02,MULLER24,IIM,response,ACR-EULAR major clinical response,3,3",
        "IDX02,MULLER24,IIM,response,ACR-EULAR major clinical response,3,4",
    )
    with pytest.raises(DataError, match=r"row 3, field 'events': 4 exceeds 'n' = 3") as info:
        load_index(path)
    assert str(path) in str(info.value)


def test_unknown_codes_and_non_numbers_are_all_listed(tmp_path):
    path = _broken(tmp_path, INDEX_STUDY, "IDX03,MULLER24,SSc,response", "IDX03,MULLER24, SSc,remission")
    text = path.read_text().replace(",15,11,after infusion", ",fifteen,11,after infusion")
    path.write_text(text)
    errors = validate(path)
    assert any("row 4, field 'group': ' SSc' has leading or trailing spaces; expected 'SSc'" in e for e in errors)
    assert any("row 4, field 'endpoint': 'remission' is not a known code" in e for e in errors)
    assert any("row 8, field 'n': 'fifteen' is not a whole number" in e for e in errors)


def test_duplicate_ids_and_missing_columns(tmp_path):
    path = _broken(tmp_path, COHORTS, "MACKENSEN22,", "MULLER24_SLE,")
    assert any("field 'study_id': MULLER24_SLE repeats row 2" in e for e in validate(path))
    path2 = tmp_path / "nocol.csv"
    path2.write_text(INDEX_STUDY.read_text().replace("events,", "evts,", 1))
    assert any("missing column(s) events" in e for e in validate(path2))


def test_overlap_group_must_be_one_disease(tmp_path):
    path = _broken(
        tmp_path,
        COHORTS,
        "primary peer-reviewed,ERLANGEN_SSC,same centre",
        "primary peer-reviewed,ERLANGEN_SLE,same centre",
    )
    assert any("field 'overlap_group': 'ERLANGEN_SLE' is used for SSc" in e for e in validate(path))


def test_totals_must_add_up(tmp_path):
    path = tmp_path / "idx.csv"
    shutil.copy(INDEX_STUDY, path)
    with path.open("a") as fh:
        fh.write('IDX99,MULLER24,all,response,any,15,14,x,10.1056/NEJMoa2308917,,"q"\n')
    assert any("diseases add up to 15" in e for e in validate(path))


def test_cli_validate_exit_codes(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(INDEX_STUDY)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    bad = _broken(tmp_path, INDEX_STUDY, ",8,8,median", ",8,9,median")
    res = subprocess.run([sys.executable, "-m", "analysis", "validate", str(bad)], capture_output=True, text=True)
    assert res.returncode == 2  # bad input, as the build step that reads the file exits
    assert "field 'events'" in res.stderr and str(bad) in res.stderr


def test_failed_step_leaves_no_output(tmp_path):
    bad = _broken(tmp_path, INDEX_STUDY, ",8,8,median", ",8,9,median")
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "frequentist", "--index", str(bad), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert "row 2, field 'events'" in res.stderr
    assert not out.exists() or not any(out.iterdir())


def test_groups_come_from_the_data(tmp_path):
    """Any group label is accepted; the table order is the data's (first appearance in index_study.csv), others after."""
    text = INDEX_STUDY.read_text().replace(",MULLER24,SSc,", ",MULLER24,Scleroderma,")
    path = tmp_path / "renamed.csv"
    path.write_text(text)
    counts = endpoint_counts(load_index(path))
    groups = list(counts.loc[counts["endpoint"] == "response", "group"])
    assert groups == ["SLE", "IIM", "Scleroderma", "all"]
    assert group_order(["Zeta", "SSc", "Alpha", "SLE", "all"]) == ("SLE", "SSc", "Zeta", "Alpha")


def test_the_table_order_is_the_order_of_the_index_study_file(tmp_path, monkeypatch):
    """The groups' order is read from the data (no group named in code): rows reordered, tables reordered."""
    import analysis.data.load as load

    lines = INDEX_STUDY.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    path = tmp_path / "index_study.csv"
    path.write_text(header + "".join(reversed(rows)), encoding="utf-8")
    paper = data_order(INDEX_STUDY)
    assert paper and data_order(path) == tuple(reversed(paper))
    assert data_order(tmp_path / "missing.csv") == ()
    monkeypatch.setattr(load, "data_order", lambda: data_order(path))
    assert group_order(["Zeta", *paper, "all"]) == (*reversed(paper), "Zeta")


def test_stray_spaces_in_cohort_labels_are_errors_not_silently_dropped(tmp_path):
    path = _broken(tmp_path, COHORTS, ",SSc,", ",SSc ,")
    with pytest.raises(DataError, match=r"field 'disease': 'SSc ' has leading or trailing spaces"):
        load_cohorts(path)


def test_loaded_table_is_the_validated_table(tmp_path):
    """Text fields are analysed as validated (stripped), never as the raw text."""
    path = _broken(tmp_path, COHORTS, ",POOLED,", ", POOLED ,")
    df = load_cohorts(path)
    assert "POOLED" in set(df["overlap_group"]) and " POOLED " not in set(df["overlap_group"])
