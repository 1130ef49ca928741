"""Journal form, declarations, the response to the reviewers and the evidence flow (second review, issue 25)."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.data import load_characteristics, load_cohorts
from analysis.data.schema import DataError
from analysis.publish import evidence, statements
from analysis.publish.frequentist import relapse_variables
from analysis.publish.statements import StatementError, journal_form


def test_abstract_and_main_text_within_the_journal_limits():
    form = journal_form()
    assert form["abstract words"] <= statements.ABSTRACT_WORDS, form
    assert form["main text words"] <= statements.MAIN_WORDS, form


def test_main_text_holds_at_most_six_tables_and_figures():
    assert journal_form()["tables and figures in the main text"] <= statements.MAIN_DISPLAY_ITEMS


def test_display_count_sees_a_table_or_figure_added_to_the_main_text(tmp_path):
    """The limit is measured, not assumed: one more table in the Results is one more display item."""
    import shutil

    from analysis.settings import ROOT

    text = (ROOT / "manuscript/index.qmd").read_text(encoding="utf-8")
    path = tmp_path / "index.qmd"
    shutil.copytree(ROOT / "manuscript/_sections", tmp_path / "_sections")  # the generated prose it includes
    path.write_text(text.replace("# Discussion", "{{< include tables/priors.md >}}\n\n# Discussion", 1))
    n = journal_form()["tables and figures in the main text"]
    assert journal_form(path)["tables and figures in the main text"] == n + 1


def test_no_declaration_is_left_to_be_completed():
    assert statements.open_statements() == []
    assert statements.OPEN not in statements.statements_md().lower()
    assert "Open before submission" not in statements.response_md(form=journal_form())


def test_open_declarations_are_found(tmp_path):
    import yaml

    data = statements._load(statements.STATEMENTS) | {"funding": "To be completed by the authors."}
    path = tmp_path / "statements.yml"
    path.write_text(yaml.safe_dump(data))
    assert statements.open_statements(path) == ["Funding"]


@pytest.mark.parametrize("name", ["index", "supplement"])
def test_paper_and_supplement_name_the_author_of_the_metadata_file(name):
    import yaml

    from analysis.publish.narrative import source
    from analysis.settings import ROOT

    front = source(ROOT / f"manuscript/{name}.qmd").split("---", 2)[1]
    authors = [a["name"] if isinstance(a, dict) else a for a in yaml.safe_load(front)["author"]]
    assert authors == [statements._load(statements.STATEMENTS)["authors"]]
    variables = yaml.safe_load((ROOT / "manuscript/_variables.yml").read_text(encoding="utf-8"))
    assert variables["report"]["authors"] == authors[0]


def test_word_count_counts_a_quoted_number_as_one_word():
    assert statements._words("rate {{< var freq.cp.response_SLE.lower >}} to one [@muller2024]") == 4


def test_declarations_need_every_field(tmp_path):
    path = tmp_path / "statements.yml"
    path.write_text("authors: A\nfunding: none\n")
    with pytest.raises(StatementError, match="missing field"):
        statements.statements_md(path)


def test_declarations_come_from_the_metadata_file():
    md = statements.statements_md()
    for title in statements.FIELDS.values():
        assert f"**{title}.**" in md


def test_response_refuses_a_label_the_manuscript_lacks(tmp_path):
    path = tmp_path / "response.yml"
    path.write_text("points:\n  - point: p\n    answer: a\n    where: [tbl-nothing-like-this]\n")
    with pytest.raises(StatementError, match="tbl-nothing-like-this"):
        statements.response_md(path)


def test_response_answers_every_point_of_the_review():
    md = statements.response_md(form=journal_form())
    assert md.count("**") >= 2 * 9  # nine numbered points of issue 25, each with a bold heading
    for i in range(1, 10):
        assert f"**{i}. " in md


def test_flow_counts_follow_the_data_files():
    cohorts, chars = load_cohorts(), load_characteristics()
    f = evidence.flow(cohorts, chars)
    # every record is either excluded before analysis or a cohort report, and every cohort row is either
    # excluded (with a reason) or included
    assert f["identified"] == sum(f["excluded"].values()) + f["reports"]
    assert f["rows"] == sum(f["rows_excluded"].values()) + f["included_rows"]
    assert "MACKENSEN22" in f["overlap_ids"]  # very likely a subset of the index study: never counted twice


def test_flow_follows_a_new_cohort_row():
    cohorts, chars = load_cohorts(), load_characteristics()
    extra = cohorts.iloc[[0]].assign(study_id="NEW_SSC", citation="New X et al.", overlap_group="", disease="SSc")
    f0 = evidence.flow(cohorts, chars)
    f1 = evidence.flow(pd.concat([cohorts, extra], ignore_index=True), chars)
    assert (f1["identified"], f1["included_rows"]) == (f0["identified"] + 1, f0["included_rows"] + 1)


def test_definitions_file_refuses_an_empty_source(tmp_path):
    path = tmp_path / "defs.csv"
    defs = evidence.load_definitions()
    defs.loc[1, "doi"] = ""
    defs.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"row 3, field 'doi'"):
        evidence.load_definitions(path)


def test_relapse_sensitivity_is_the_exact_interval_of_one_responder_fewer():
    """Clopper and Pearson (1934): the exact interval of x of n is Beta(alpha/2; x, n-x+1) to
    Beta(1-alpha/2; x+1, n-x); for 2 of 3 that is 0.0943 to 0.9916, and the one-sided 95% lower bound
    Beta(0.05; 2, 2) = 0.1353 (scipy's binomtest gives the same exact interval)."""
    f = pd.DataFrame(
        [
            dict(endpoint="response", group="IIM", method="clopper-pearson", n=3, events=3, lower=0.29, upper=1.0),
            dict(endpoint="response", group="IIM", method="clopper-pearson-lower", n=3, events=3, lower=0.37, upper=1),
        ]
    )
    v = relapse_variables(f)["IIM"]
    ci = stats.binomtest(2, 3).proportion_ci(0.95, method="exact")
    assert_allclose([float(v["lower"]), float(v["upper"])], [ci.low, ci.high], atol=0.005)
    assert (v["lower"], v["upper"], v["lower1s"], v["events"]) == ("0.09", "0.99", "0.14", 2)


@pytest.mark.parametrize("name", ["index", "supplement"])
def test_no_interval_in_prose_can_break_across_lines(name):
    """'0.63 to 1.00' between two quoted numbers is one unit: non-breaking spaces (pandoc's backslash-space)."""
    import re

    from analysis.settings import ROOT

    text = (ROOT / f"manuscript/{name}.qmd").read_text(encoding="utf-8")
    assert re.findall(r">\}\}\s+to\s+\{\{< var", text) == []


def test_the_reproducibility_section_names_a_response_only_when_there_is_one(tmp_path):
    """A cohort without response.yml has no response to the reviewers: the template's sentence is generated."""
    from analysis.publish.narrative import response_note

    assert response_note(tmp_path / "response.yml") == ""
    assert "A response to the reviewers" not in statements.response_md(tmp_path / "response.yml")
    assert "A response to the reviewers" in response_note(statements.RESPONSE)
    qmd = (statements.ROOT / "manuscript" / "index.qmd").read_text(encoding="utf-8")
    assert "A response to the reviewers" not in qmd and "{{< var report.response_note >}}" in qmd
