"""A second real cohort for the any-cohort report (issue 24): the ten sarcoma strata of the imatinib basket trial
(Chugh et al., J Clin Oncol 2009;27:3148-3153, as analysed by Berry et al. 2013 and Neuenschwander et al. 2016;
tests/data/sarcoma/README.md)."""

import pandas as pd
import pytest

from analysis.cli import main
from analysis.data import load_index
from analysis.settings import NEW_GROUP, ROOT, TOTAL

SARCOMA = ROOT / "tests" / "data" / "sarcoma"
SPEC = SARCOMA / "priors.toml"


def test_the_sarcoma_data_are_valid_and_hold_the_published_strata(capsys):
    """Ten strata, 179 patients and 28 clinical benefit responses: Neuenschwander et al. 2016, Table 1 (and the
    metabasket package's imatinib_trial: "enrolled 179 patients and observed 28 responses")."""
    assert main(["validate", "--data", str(SARCOMA), "--spec", str(SPEC)]) == 0, capsys.readouterr().err
    index = load_index(SARCOMA / "index_study.csv")
    resp = index[index["endpoint"] == "response"]
    assert resp["group"].nunique() == len(resp) == 10
    assert (int(resp["n"].sum()), int(resp["events"].sum())) == (179, 28)


@pytest.mark.slow
@pytest.mark.parametrize("cohort", ["sarcoma"], indirect=True)
def test_the_sarcoma_cohort_runs_every_step_through_the_report(cohort):
    """Every analysis, then the tables, figures and variables of the report (the build of conftest.py's
    ``cohort`` fixture, shared with test_cohort_report.py)."""
    _, out, code, paper_untouched = cohort
    assert code == 0
    assert (out / "manuscript" / "_variables.yml").is_file()
    assert (out / "manuscript" / "tables" / "estimates.md").is_file()
    strata = list(load_index(SARCOMA / "index_study.csv")["group"])  # one response row per stratum
    freq = pd.read_csv(out / "results" / "frequentist" / "estimates.csv")
    cp = freq[(freq["endpoint"] == "response") & (freq["method"] == "clopper-pearson")]
    assert sorted(cp["group"]) == sorted([*strata, TOTAL])
    bayes = pd.read_csv(out / "results" / "bayes" / "estimates.csv")
    bayes = bayes[(bayes["analysis"] == "bayes") & (bayes["group"] != NEW_GROUP)]
    assert set(bayes["method"]) >= {"bayes-hierarchical", "bayes-exnex"}
    for method, rows in bayes.groupby("method"):
        assert sorted(rows["group"]) == sorted(strata), method
    sens = pd.read_csv(out / "results" / "bayes" / "sensitivity.csv")
    assert not sens["label"].str.endswith(" left out").any()  # the spec declares no group to leave out
    for scenario, rows in sens[sens["group"] != NEW_GROUP].groupby("scenario"):
        assert sorted(rows["group"]) == sorted(strata), scenario
    table = (out / "manuscript" / "tables" / "estimates.md").read_text()
    assert "The response endpoint is clinical benefit response." in table
    index = load_index(SARCOMA / "index_study.csv")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("| ")]
    total = f"{index['events'].sum()}/{index['n'].sum()}"
    assert [r[1:3] for r in rows if r[1].startswith("All")] == [["All", total]]  # one endpoint: no 'endpoints differ'
    assert paper_untouched
