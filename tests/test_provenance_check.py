"""Stale paper and comparisons (issue 23): results from another data or code state are never rendered,
``compare`` refuses what it cannot compare, ``combine`` refuses the same input twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from analysis.cli import main
from analysis.provenance import code_hash, differences, provenance, sha256, unseen_by_make
from analysis.publish.build import StaleResultsError, check_provenance
from analysis.results import Results
from analysis.settings import COHORTS, INDEX_STUDY, ROOT


def _record(tmp_path, **change):
    rec = provenance([INDEX_STUDY, COHORTS])
    rec.update(change)
    res = tmp_path / "results"
    res.mkdir(exist_ok=True)
    (res / "provenance.json").write_text(json.dumps(rec))
    return res, rec


def test_current_record_has_no_differences(tmp_path):
    res, rec = _record(tmp_path)
    assert differences(rec) == []
    check_provenance(Results(res))  # no error


def test_other_data_checksum_is_refused_naming_file_and_both_checksums(tmp_path):
    res, rec = _record(tmp_path)
    rec["data"]["data/raw/index_study.csv"] = "0" * 64
    (res / "provenance.json").write_text(json.dumps(rec))
    current = sha256(INDEX_STUDY)[:12]
    with pytest.raises(
        StaleResultsError, match=rf"data/raw/index_study.csv: recorded checksum 000000000000, current {current}"
    ):
        check_provenance(Results(res))


def test_other_code_hash_is_refused(tmp_path):
    res, _ = _record(tmp_path, code="f" * 64)
    with pytest.raises(StaleResultsError, match=rf"code hash: recorded ffffffffffff, current {code_hash()[:12]}"):
        check_provenance(Results(res))


@pytest.mark.parametrize("verb", ["report", "figures"])
def test_report_and_figures_refuse_stale_results_and_write_nothing(verb, tmp_path, capsys):
    res, _ = _record(tmp_path, code="f" * 64)
    target = tmp_path / "ms"
    args = [verb, "--results", str(res)] + (
        ["--manuscript", str(target)] if verb == "report" else ["--out", str(target)]
    )
    assert main(args) == 4
    err = capsys.readouterr().err
    assert "the results were computed from other data or code" in err and "rebuild them (make paper)" in err
    assert not target.exists()


def test_make_is_told_about_a_record_newer_than_the_inputs_it_disagrees_with(tmp_path):
    """A copied results folder is newer than the data it differs from: make would see nothing to do."""
    res, rec = _record(tmp_path, code="f" * 64)
    path = res / "provenance.json"
    assert any("code hash" in d for d in unseen_by_make(path))
    old = min(p.stat().st_mtime for p in (ROOT / "analysis").rglob("*.py")) - 10
    os.utime(path, (old, old))  # older than the code: make reruns the steps itself
    assert unseen_by_make(path) == []
    path.write_text("{broken")
    assert "unreadable" in unseen_by_make(path)[0]


def test_provenance_check_command_exit_codes(tmp_path):
    res, _ = _record(tmp_path)
    run = [sys.executable, "-m", "analysis", "provenance", "--check", str(res / "provenance.json")]
    assert subprocess.run(run, capture_output=True, text=True).returncode == 0
    _record(tmp_path, code="f" * 64)
    done = subprocess.run(run, capture_output=True, text=True)
    assert done.returncode == 1 and "code hash: recorded ffffffffffff" in done.stderr


def test_makefile_forces_every_step_on_a_disagreeing_record():
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")  # a rule's continued lines as one
    assert "provenance --check results/provenance.json" in text
    for target in ("$(FREQ) &:", "$(BAYES) &:", "$(SENS) &:", "$(PRIORS) &:", "$(BASKET) &:", "results/estimates.csv:",
                   "results/provenance.json:", "$(SAMPLERS):"):  # fmt: skip
        line = next(x for x in text.splitlines() if x.startswith(target))
        assert "$(STALE)" in line, target


# -- compare ------------------------------------------------------------------------------------------------------
def _tree(path, files):
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_compare_missing_folder_is_an_error(tmp_path, capsys):
    a = _tree(tmp_path / "a", {"x.csv": "1\n"})
    assert main(["compare", "--old", str(a), "--new", str(tmp_path / "misspelled")]) == 4
    assert f"--new {tmp_path / 'misspelled'}: no such file or folder" in capsys.readouterr().err


def test_compare_old_given_twice_is_an_error(tmp_path, capsys):
    a = _tree(tmp_path / "a", {"x.csv": "1\n"})
    b = _tree(tmp_path / "b", {"x.csv": "1\n"})
    assert main(["compare", "--old", str(a), "--old", str(b), "--new", str(b)]) == 2
    assert "2 --old and 1 --new" in capsys.readouterr().err


def test_two_different_files_never_compare_equal(tmp_path, capsys):
    a = _tree(tmp_path / "a", {"x.csv": "1\n"}) / "x.csv"
    b = _tree(tmp_path / "b", {"x.csv": "2\n"}) / "x.csv"
    assert main(["compare", "--old", str(a), "--new", str(b)]) == 1
    assert "different" in capsys.readouterr().out
    assert main(["compare", "--old", str(a), "--new", str(a)]) == 0
    assert main(["compare", "--old", str(a), "--new", str(tmp_path / "b")]) == 4


# -- combine ------------------------------------------------------------------------------------------------------
def test_combine_refuses_the_same_input_twice(tmp_path, capsys):
    part = ROOT / "results" / "frequentist" / "estimates.csv"
    if not part.is_file():
        pytest.skip("results not built")
    copy = tmp_path / "copy.csv"
    shutil.copy(part, copy)
    out = tmp_path / "estimates.csv"
    for args in ([part, part], [part, tmp_path / ".." / tmp_path.name / "copy.csv", copy], [part, copy]):
        assert main(["combine", *map(str, args), "--out", str(out)]) == 2
        assert "expected each estimates file once" in capsys.readouterr().err
    assert not out.exists()
