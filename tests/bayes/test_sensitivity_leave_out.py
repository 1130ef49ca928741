"""The leave-one-group-out scenario of the sensitivity analysis is a declared setting of the priors spec
(``[index_models] leave_out``), not a group named in code."""

from pathlib import Path

import pytest

from analysis.bayes.sensitivity import SCENARIOS_BAYES, scenarios
from analysis.cli import main
from analysis.priors.datacheck import leave_out_setting
from analysis.priors.spec import SpecError
from analysis.settings import INDEX_STUDY, PRIORS_SPEC, ROOT

SARCOMA = ROOT / "tests" / "data" / "sarcoma"


def _spec(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text((SARCOMA / "priors.toml").read_text() + "\n" + table)
    return path


def test_the_paper_leaves_out_the_group_its_config_names():
    """The paper's scenario id and label (results/bayes/sensitivity.csv, reference/) follow from the setting."""
    group = leave_out_setting(PRIORS_SPEC, INDEX_STUDY)
    assert group is not None
    chosen = scenarios(group)
    assert [s.name for s in chosen[-2:]] == [f"no_{group.lower()}", "external"]
    assert chosen[-2].label == f"{group} left out" and chosen[-2].drop == (group,)
    assert len(chosen) == len(SCENARIOS_BAYES) + 1


def test_without_the_setting_there_is_no_such_scenario(tmp_path):
    assert leave_out_setting(SARCOMA / "priors.toml", SARCOMA / "index_study.csv") is None
    assert leave_out_setting(None) is None
    assert scenarios(None) == SCENARIOS_BAYES
    assert not any(s.drop for s in SCENARIOS_BAYES)


def test_a_group_of_the_data_is_accepted(tmp_path):
    spec = _spec(tmp_path, '[index_models]\nleave_out = "MPNST"\n')
    assert leave_out_setting(spec, SARCOMA / "index_study.csv") == "MPNST"
    assert scenarios("MPNST")[-2].name == "no_mpnst"
    assert scenarios("ANCA vasculitis/GPA")[-2].name == "no_anca_vasculitis_gpa"  # a safe file name


def test_a_group_the_data_lack_is_an_error_naming_the_file_and_key(tmp_path):
    spec = _spec(tmp_path, '[index_models]\nleave_out = "Chondrosarcoma"\n')
    with pytest.raises(SpecError) as err:
        leave_out_setting(spec, SARCOMA / "index_study.csv")
    text = str(err.value)
    assert str(spec) in text and "[index_models], field 'leave_out'" in text and "'Chondrosarcoma'" in text
    assert "Liposarcoma" in text  # the groups the data have


def test_validate_and_the_sensitivity_step_refuse_it_before_any_fit(tmp_path, capsys):
    spec = _spec(tmp_path, '[index_models]\nleave_out = "Chondrosarcoma"\n')
    assert main(["validate", "--data", str(SARCOMA), "--spec", str(spec)]) == 2
    assert "field 'leave_out': 'Chondrosarcoma' is not a group" in capsys.readouterr().err
    out = tmp_path / "out"
    argv = ["sensitivity", "--index", str(SARCOMA / "index_study.csv"), "--spec", str(spec), "--out", str(out)]
    assert main(argv) == 2
    assert "'Chondrosarcoma' is not a group" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_a_misspelt_key_is_caught_with_the_table(tmp_path):
    spec = _spec(tmp_path, '[index_models]\nleave_oot = "MPNST"\n')
    with pytest.raises(
        SpecError, match=r"\[index_models\], field 'leave_oot': unknown field; did you mean 'leave_out'"
    ):
        leave_out_setting(spec, SARCOMA / "index_study.csv")
