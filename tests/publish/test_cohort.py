"""``python -m analysis cohort``: another cohort's report in its own folder, never the paper's results or manuscript."""

import io
import shutil

import pytest

import analysis.publish.cohort as cohort_module
from analysis.cli import main
from analysis.publish.cohort import build, copy_sources, missing_variables
from analysis.settings import MANUSCRIPT, RESULTS, ROOT

TWO_GROUP = ROOT / "tests" / "data" / "two_group"
SPEC = TWO_GROUP / "priors.toml"


@pytest.mark.parametrize("out", [RESULTS, RESULTS / "cohort", MANUSCRIPT / "x", ROOT])
def test_refuses_the_papers_folders(out, capsys):
    assert main(["cohort", str(TWO_GROUP), "--spec", str(SPEC), "--out", str(out)]) == 2
    assert "expected a folder of its own" in capsys.readouterr().err


def test_a_data_set_with_problems_stops_before_any_step(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(TWO_GROUP, data)
    text = (data / "index_study.csv").read_text().replace(",6,5,", ",6,7,")  # 7 of 6 responders
    (data / "index_study.csv").write_text(text)
    out = tmp_path / "out"
    assert build(data, SPEC, out, log=io.StringIO()) == ("validate", 2)
    assert not (out / "results").exists() and not (out / "manuscript").exists()


def test_copies_the_sources_not_the_generated_files(tmp_path):
    ms = copy_sources(tmp_path)
    assert (ms / "index.qmd").read_text() == (MANUSCRIPT / "index.qmd").read_text()
    assert (ms / "filters").is_dir() and (ms / "references.bib").is_file()
    assert not (ms / "_variables.yml").exists() and not (ms / "tables").exists()


def test_missing_variables_lists_what_the_template_quotes_and_the_results_lack(tmp_path):
    (tmp_path / "index.qmd").write_text("{{< var a.b >}} {{< var a.c >}} {{< var d >}} {{< var a.b >}}")
    (tmp_path / "_variables.yml").write_text("a:\n  b: 1\n")
    assert missing_variables(tmp_path) == ["a.c", "d"]


# the whole build of the two-group cohort, through render: tests/publish/test_cohort_report.py


def _failing_at_report(data, spec, out, basket):
    """Validate, then write provenance into ``out``, then fail at the report step (no estimates): seconds, not minutes."""
    res, ms = out / "results", out / "manuscript"
    return [
        ("validate", ["validate", "--data", data, "--spec", spec]),
        ("provenance", ["provenance", "--out", res / "provenance.json"]),
        ("report", ["report", "--results", res, "--manuscript", ms]),
    ]


def test_a_failed_build_leaves_nothing_at_out(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cohort_module, "_steps", _failing_at_report)
    out = tmp_path / "out"
    assert main(["cohort", str(TWO_GROUP), "--spec", str(SPEC), "--out", str(out)]) != 0
    assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))
    assert [p.name for p in tmp_path.iterdir() if p.name != "out"] == []  # no temporary folder left either
    err = capsys.readouterr().err
    assert "stopped at step 'report'" in err and "nothing was written there" in err


def test_a_failed_rebuild_keeps_the_earlier_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cohort_module, "_steps", _failing_at_report)
    out = tmp_path / "out"
    (out / "manuscript").mkdir(parents=True)
    (out / "manuscript" / "index.md").write_text("an earlier report")
    assert main(["cohort", str(TWO_GROUP), "--spec", str(SPEC), "--out", str(out)]) != 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["manuscript", "manuscript/index.md"]
    assert (out / "manuscript" / "index.md").read_text() == "an earlier report"
    assert "the earlier report there is unchanged" in capsys.readouterr().err
