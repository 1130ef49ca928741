"""The study metadata file (data/raw/study.yml) and the generated sections (issue 24: a report for any cohort).

Bad metadata stops the build with every problem at once, naming the file and the key; the report step then writes
nothing.  The generated text follows the groups of the data (made-up variables below, no build needed).
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from analysis.cli import main
from analysis.publish import prose, prose_models, study
from analysis.publish.narrative import check_quotes, source
from analysis.publish.prose import Facts
from analysis.settings import DATA_RAW, MANUSCRIPT, RESULTS, ROOT

TWO_GROUP = ROOT / "tests" / "data" / "two_group"


def test_the_papers_and_the_test_cohorts_study_files_are_valid():
    assert study.problems(DATA_RAW / "study.yml") == []
    assert study.problems(TWO_GROUP / "study.yml") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("titel: A\n", "key 'titel': unknown"),
        ("sections:\n  intro: x\n", "key 'sections.intro': unknown"),
        ("groups:\n  AAV:\n    endpont: x\n", "key 'groups.AAV.endpont': unknown"),
        ("abstract: just text\n", "key 'abstract': expected a mapping"),
        ("keywords: one\n", "key 'keywords': expected a list of text"),
        ("title: [a, b]\n", "key 'title': expected text"),
        ("title: 'unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_study_file_names_the_key(tmp_path, text, expected):
    path = tmp_path / "study.yml"
    path.write_text(text)
    with pytest.raises(study.StudyError) as err:
        study.load_study(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path):
    path = tmp_path / "study.yml"
    path.write_text("titel: a\nsections:\n  intro: x\n  conclusion: 3\n")
    found = study.problems(path)
    assert len(found) == 3, found


def test_a_missing_study_file_is_an_error(tmp_path):
    with pytest.raises(study.StudyError, match="study.yml"):
        study.load_study(tmp_path / "study.yml")


def test_validate_checks_the_study_file_of_a_data_folder(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(TWO_GROUP, data)
    (data / "study.yml").write_text("sections:\n  intro: x\n")
    assert main(["validate", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert str(data / "study.yml") in err and "key 'sections.intro': unknown" in err
    (data / "study.yml").unlink()
    assert main(["validate", "--data", str(data)]) == 2
    assert "study metadata file study.yml" in capsys.readouterr().err


def test_a_quoted_variable_must_exist():
    v = {"freq": {"n": {"response_all": 15}}}
    meta = {"sections": {"introduction": "In {{< var freq.n.response_all >}} and {{< var freq.n.nope >}}."}}
    with pytest.raises(study.StudyError, match=r"key 'sections.introduction': quotes \{\{< var freq.n.nope >\}\}"):
        check_quotes(v, meta, {}, DATA_RAW / "study.yml")
    check_quotes(v, {"sections": {"introduction": "{{< var freq.n.response_all >}}"}}, {}, DATA_RAW / "study.yml")


@pytest.mark.pipeline
def test_the_report_step_refuses_a_narrative_quoting_an_unknown_variable_and_writes_nothing(
    tmp_path, monkeypatch, capsys
):
    bad = tmp_path / "study.yml"
    text = (DATA_RAW / "study.yml").read_text(encoding="utf-8")
    bad.write_text(text.replace("{{< var freq.who.drug_free_all >}}", "{{< var freq.who.drug_free_none >}}", 1))
    monkeypatch.setattr(study, "STUDY", bad)
    out = tmp_path / "manuscript"
    assert main(["report", "--results", str(RESULTS), "--manuscript", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "key 'sections.introduction'" in err and "freq.who.drug_free_none" in err
    assert not out.exists() or not any(out.rglob("*"))


# -- generated text: it loops over the groups of the data ------------------------------------------------------


def _variables(groups: dict[str, tuple[int, int, str]]) -> dict:
    return {
        "freq": {
            "n": {f"response_{g}": n for g, (n, _, _) in groups.items()},
            "events": {f"response_{g}": x for g, (_, x, _) in groups.items()},
            "lower_bound": {g: lb for g, (_, _, lb) in groups.items()},
            "cp": {f"response_{g}": {"lower": "0.1", "upper": "1.00"} for g in [*groups, "all"]},
            "relapse": {},
            "zero_events": {"k": 0},
        },
        "bayes": {
            "independent": {g: {"estimate": "0.70", "lower": "0.4", "upper": "0.9"} for g in groups},
            "hierarchical": {
                g: {"estimate": f"0.{70 + 5 * i}", "lower": "0.5", "upper": "0.95"} for i, g in enumerate(groups)
            },  # fmt: skip
        },
        "claims": {f"borrowing_{g}": "raises" for g in groups},
    }


def test_the_results_name_every_group_with_its_endpoint_and_numbers():
    v = _variables({"AAV": (6, 5, "0.42"), "MG": (4, 4, "0.47"), "GPA": (3, 2, "0.14")})
    f = Facts(groups=("AAV", "MG", "GPA"), endpoint={"AAV": "BVAS remission", "MG": "a response", "GPA": "a cure"})
    text = prose.response(v, f)
    for g in f.groups:
        assert f"{{{{< var freq.lower_bound.{g} >}}}}" in text and f" {g} " in text
    assert (
        "In AAV, {{< var freq.events.response_AAV >}} of {{< var freq.n.response_AAV >}} patients reached BVAS" in text
    )
    assert (
        "For a response in MG ({{< var freq.events.response_MG >}}/{{< var freq.n.response_MG >}}) the bound is" in text
    )
    assert ", and for a cure in GPA (" in text
    abstract = prose.abstract_results(v, f, "")
    assert abstract.startswith("BVAS remission was reached by {{< var freq.events.response_AAV >}} of")
    assert "a response by {{< var freq.events.response_MG >}} of {{< var freq.n.response_MG >}} with MG" in abstract
    # borrowing moves GPA most (0.70 to 0.80): the abstract and the results name that group
    assert prose.borrowing_focus(v, f) == "GPA"
    assert "the GPA posterior mean" in abstract
    check_quotes(v, {}, {"response": text, "abstract": abstract}, DATA_RAW / "study.yml")


def test_a_cohort_without_design_or_basket_has_no_such_sections():
    v = _variables({"AAV": (6, 5, "0.42"), "MG": (4, 4, "0.47")})
    f = Facts(groups=("AAV", "MG"), endpoint={"AAV": "x", "MG": "y"})
    assert prose_models.basket_methods(v, f) == "" and prose_models.basket_results(v, f) == ""
    assert prose_models.priors_methods(v, f) == ""  # no MAP prior in the results


def test_the_paper_template_names_no_study_or_disease():
    from tests.publish.test_any_cohort import WORDS

    for name in ("index.qmd", "supplement.qmd"):
        text = (MANUSCRIPT / name).read_text(encoding="utf-8")
        assert not WORDS.search(text), (name, WORDS.search(text))
        assert "Erlangen" not in text and "DORIS" not in text


def test_the_sources_inline_the_generated_sections():
    text = source(MANUSCRIPT / "index.qmd")
    assert "{{< include _sections/" not in text
    head = yaml.safe_load(text.split("---", 2)[1])
    assert "{{< var freq.n.response_all >}}" in head["title"]


def test_groups_sharing_one_endpoint_are_not_said_to_differ():
    """The sarcoma strata share one endpoint: no 'different endpoints' in the generic discussion and limitations."""
    v = _variables({"GIST": (10, 3, "0.09"), "LPS": (8, 0, "0.00")})
    v["context"] = {"lymphodepletion": "fludarabine and cyclophosphamide"}
    one = Facts(groups=("GIST", "LPS"), endpoint={"GIST": "an objective response", "LPS": "an objective response"})
    two = Facts(groups=("GIST", "LPS"), endpoint={"GIST": "an objective response", "LPS": "a cure"})
    for text in (prose.discussion(v, one), prose.limitations(v, one), prose.response(v, one)):
        assert "different endpoints" not in text and "endpoints differ" not in text, text
    assert "share one endpoint" in prose.limitations(v, one) and "share one endpoint" in prose.discussion(v, one)
    assert "as their different endpoints require" in prose.discussion(v, two)
    assert "The endpoints differ between diseases" in prose.limitations(v, two)
    assert "adds different endpoints" in prose.response(v, two)
    assert "Every patient received {{< var context.lymphodepletion >}}" in prose.limitations(v, two)


def test_no_lymphodepletion_clause_without_lymphodepletion():
    v = _variables({"GIST": (10, 3, "0.09")})
    v["context"] = {"lymphodepletion": "none (oral imatinib alone)", "refractory_min_therapies": "1"}
    f = Facts(groups=("GIST",), endpoint={"GIST": "an objective response"})
    for text in (prose.patients(v, f), prose.limitations(v, f)):
        assert "lymphodepletion" not in text and "conditioning" not in text, text
    v["context"]["lymphodepletion"] = "fludarabine and cyclophosphamide"
    assert "after lymphodepletion with {{< var context.lymphodepletion >}}" in prose.patients(v, f)


def test_the_table_captions_follow_the_number_of_endpoints():
    """tbl-bayes and tbl-bounds say the endpoints differ only when they do (the sarcoma strata share one)."""
    import pandas as pd

    from analysis.publish import bayes, frequentist

    est = pd.read_csv(RESULTS / "estimates.csv")
    defs = frequentist.endpoint_definitions()
    assert not frequentist.one_endpoint(defs)  # the paper: three diseases, three endpoints
    assert "different endpoints" in bayes.bayes_table(est) and "different endpoints" not in bayes.bayes_table(est, True)
    assert "The endpoints differ between diseases" in frequentist.bounds_table(est, defs)
    same = {g: "one endpoint" for g in defs}
    assert frequentist.one_endpoint(same)
    text = frequentist.bounds_table(est, same)
    assert "differ" not in text and "share one endpoint" in text


def test_no_safety_table_is_referred_to_without_adverse_event_rows():
    """The sarcoma strata have no 'all' rows of adverse events: no table to cite (the render refused @tbl-safety)."""
    v = _variables({"GIST": (10, 3, "0.09")})
    none = Facts(groups=("GIST",), endpoint={"GIST": "x"})
    assert "@tbl-safety" not in prose.safety_results(v, none)
    some = Facts(groups=("GIST",), endpoint={"GIST": "x"}, safety=(("crs", "cytokine-release syndrome"),))
    assert prose.safety_results(v, some).startswith("@tbl-safety lists the adverse events.")


def test_validate_names_a_quote_of_a_count_or_group_the_data_lack_before_any_step(tmp_path, capsys):
    """A misspelt variable in study.yml used to stop the build at the report step, a minute or more in: validate
    now names a quoted count the index file cannot give and a variable outside the report's groups."""
    import shutil

    from analysis.cli import main

    folder = tmp_path / "cohort"
    shutil.copytree(ROOT / "tests" / "data" / "one_file", folder)
    path = folder / "study.yml"
    title = "{{< var freq.n.response_XYZ >}}, {{< var fre.n.response_all >}}, {{< var freq.who.response_MG >}}"
    path.write_text(f"title: '{title}'\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    code = main(["validate", "--data", str(folder)])
    err = capsys.readouterr().err
    assert code == 2
    assert "key 'title': quotes {{< var freq.n.response_XYZ >}}, but the index file has no such count" in err
    assert "key 'title': quotes {{< var fre.n.response_all >}}; a variable starts with one of" in err
    assert "response_MG >}}" not in err  # a count the data have
    assert "study.yml: 2 problem(s)" in err


def test_the_variable_groups_validate_knows_are_the_reports():
    from analysis.publish.sections import SECTIONS
    from analysis.publish.study import VARIABLE_GROUPS

    assert set(VARIABLE_GROUPS) == {s.variables[0] for s in SECTIONS if s.variables} | {"report"}


def test_the_rebuild_command_names_the_cohorts_data_and_a_spec_other_than_its_default(monkeypatch):
    from analysis.publish import narrative

    assert narrative.rebuild_command() == "`make paper`"  # the paper's data
    folder = ROOT / "tests" / "data" / "two_group"
    monkeypatch.setattr(narrative, "DATA_RAW", folder)
    monkeypatch.delenv("ANALYSIS_SPEC", raising=False)
    assert narrative.rebuild_command() == "`make paper DATA=tests/data/two_group`"
    monkeypatch.setenv("ANALYSIS_SPEC", str(folder / "priors.toml"))  # its default: not named
    assert narrative.rebuild_command() == "`make paper DATA=tests/data/two_group`"
    monkeypatch.setenv("ANALYSIS_SPEC", str(ROOT / "config" / "no_design.toml"))
    assert narrative.rebuild_command() == "`make paper DATA=tests/data/two_group SPEC=config/no_design.toml`"
