"""The captions of Tables 2 and 3 say only what the cohort's data hold, and the study's own remarks come from its
study.yml (issue 24): a two-group cohort's report said "freedom from immunosuppression" without a drug-free row,
explained bounds "for every category with no event" when every category had events, and claimed for its own
data that "the sources we could read do not name the grading system ... and do not state whether any patient
died", a sentence about the Erlangen sources."""

from __future__ import annotations

import pandas as pd

from analysis.publish.frequentist import estimates_table, safety_table
from analysis.publish.study import load_study, problems
from analysis.settings import DATA_RAW, RESULTS

EST = RESULTS / "frequentist" / "estimates.csv"
NAMES = {"SLE": "DORIS remission", "IIM": "major clinical response", "SSc": "EUSTAR decrease"}


def _caption(md: str) -> str:
    return next(line for line in md.splitlines() if line.startswith(": "))


def _est() -> pd.DataFrame:
    return pd.read_csv(EST)


def test_table_2_names_freedom_from_immunosuppression_only_with_its_rows():
    est = _est()
    assert (est["endpoint"] == "drug_free").any()  # the paper's data hold the drug-free rows
    assert "freedom from immunosuppression" in _caption(estimates_table(est, NAMES))
    without = estimates_table(est[est["endpoint"] != "drug_free"], NAMES)
    assert "Drug-free" not in without
    assert "freedom from immunosuppression" not in _caption(without)


def test_table_3_explains_the_zero_event_bound_only_when_a_category_has_none():
    est = _est()
    zero = est[(est["endpoint"].isin(["crs_grade3plus", "icans_grade2plus"])) & (est["analysis"] == "frequentist")]
    assert (zero["events"] == 0).all() and len(zero)  # the paper's data have categories without events
    assert "with no event" in _caption(safety_table(est, {}))
    events = est[~est["endpoint"].isin(["crs_grade3plus", "icans_grade2plus"])]
    assert "with no event" not in _caption(safety_table(events, {}))


def test_table_3_says_what_the_sources_lack_only_from_the_study_file():
    est = _est()
    assert "grading system" not in _caption(safety_table(est, {}))  # a cohort whose study.yml says nothing
    own = load_study(DATA_RAW / "study.yml")
    assert "grading system" in own["safety_caption"]
    assert "grading system" in _caption(safety_table(est, own))


def test_the_safety_caption_is_a_key_of_the_study_file_holding_text(tmp_path):
    path = tmp_path / "study.yml"
    path.write_text("safety_caption: The sources give no grades.\n", encoding="utf-8")
    assert problems(path) == []
    path.write_text("safety_caption: [not, text]\n", encoding="utf-8")
    assert [p for p in problems(path) if "'safety_caption': expected text" in p]
