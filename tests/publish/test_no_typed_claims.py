"""No prose states a count or a universal about the cohort that is not computed (issue 23).

"every patient reached the response endpoint" and "what 15 patients" were typed into index.qmd and survived a
data change that the numbers followed.  A count of patients or a claim that every (or no) patient reached an
outcome must come from a variable (``{{< var ... >}}``), in the front matter (title, abstract) as in the body.
"""

from __future__ import annotations

import re

import pytest

from analysis.publish.frequentist import _who
from analysis.settings import ROOT

SOURCES = ("manuscript/index.qmd", "manuscript/supplement.qmd")
NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty hundred"
).split()
#: a typed count of patients: digits or a number word right before "patient(s)" (optionally one adjective)
COUNT = re.compile(rf"(?<![\w.-])(\d+|{'|'.join(NUMBER_WORDS)})\s+(\w+\s+)?patients?\b", re.I)
#: a universal about an outcome: every / all / no / none of the patient(s) ... reached, responded, ...
UNIVERSAL = re.compile(
    r"\b(every|each|all|no|none of the|all of the|all the)\s+(of\s+the\s+)?patients?\b"
    r"(\s+\w+){0,3}?\s+(reach\w*|respond\w*|achiev\w*|relaps\w*|remi\w*|fail\w*)\b"
    r"|\bwith\s+(every|each|all|no)\s+patients?\s+(respond\w*|relaps\w*|reach\w*)"
    r"|\b(all|none)\s+(reach\w*|respond\w*|achiev\w*|relaps\w*)\b",
    re.I,
)
#: typed claims about the cohort that the manuscript still makes, with how often each occurs, so that a new one,
#: or another copy, fails the test (empty since issue 25 made the last of them computed: who responded in the MAP
#: priors' cohorts, the evidence the primary prior rests on, and who responded in the Introduction)
KNOWN: dict[tuple[str, str], int] = {}
#: not claims about the cohort: the information of a prior, in patients
NOT_CLAIMS = ("worth about one patient", "no more than one patient's")


def _prose(path: str) -> str:
    from analysis.publish.narrative import source

    text = source(ROOT / path)  # with the generated sections and the study's own prose it includes
    text = re.sub(r"\{\{<[^>]*>\}\}", "<var>", text)  # computed values
    text = re.sub(r"\$[^$]+\$|`[^`]*`|\{#[^}]*\}|fig-alt=\"[^\"]*\"", "", text)
    text = re.sub(r"\s+", " ", text)  # sentences wrap across lines
    for phrase in NOT_CLAIMS:
        text = text.replace(phrase, "")
    return text


def find_claims(text: str) -> list[str]:
    """Typed counts of patients and typed universals about outcomes in ``text``."""
    return [m.group(0) for m in COUNT.finditer(text)] + [m.group(0) for m in UNIVERSAL.finditer(text)]


@pytest.mark.parametrize("path", SOURCES)
def test_no_typed_count_or_universal_about_the_cohort(path):
    claims = find_claims(_prose(path))
    known = {phrase: k for (p, phrase), k in KNOWN.items() if p == path}
    left = [c for c in claims if not any(c.lower().startswith(k.lower()) for k in known)]
    assert left == [], f"{path}: typed counts or universals (use a variable from _variables.yml): {left}"
    for phrase, count in known.items():
        assert sum(c.lower().startswith(phrase.lower()) for c in claims) <= count, f"{path}: another {phrase!r}"


def test_title_and_abstract_take_their_count_and_universal_from_variables():
    from analysis.publish.narrative import source

    raw = (ROOT / "manuscript/index.qmd").read_text(encoding="utf-8").split("---", 2)[1]
    assert "{{< var report.title >}}" in raw and "{{< var report.abstract.background >}}" in raw
    head = source(ROOT / "manuscript/index.qmd").split("---", 2)[1]  # the study's title and abstract, as written
    assert "what {{< var freq.n.response_all >}} patients can tell us" in head
    assert "{{< var freq.who.response_all >}} reached the response endpoint" in head


@pytest.mark.parametrize(
    "sentence",
    [
        "what 15 patients can tell us",
        "and every patient reached the response endpoint",
        "all the patients achieved remission",
        "fifteen refractory patients were treated",
        "With every patient responding, the data",
        "no patient relapsed",
        "patients with refractory SLE, IIM and SSc all reached the response endpoint",
        "one cohort of eight patients does not move the decision",
    ],
)
def test_the_check_finds_typed_claims(sentence):
    assert find_claims(sentence), sentence


@pytest.mark.parametrize(
    "sentence",
    ["what <var> patients can tell us", "and <var> reached the response endpoint", "every prior gives the same"],
)
def test_the_check_leaves_computed_prose_alone(sentence):
    assert find_claims(sentence) == []


def test_who_follows_the_counts():
    assert _who(15, 15) == "every patient"
    assert _who(14, 15) == "14 of 15 patients"
    assert _who(0, 15) == "no patient"
    assert _who(1, 1) == "the one patient"


def test_map_prior_phrases_follow_the_cohorts():
    """The priors paragraph's premise ('with every patient responding') and the evidence of the primary prior
    ('one cohort of 8 patients') are computed from the priors' cohorts; the SLE priors other than the primary
    one (FENG25_SLE's 12 of 15 among them) are not what the paragraph speaks of."""
    from analysis.publish.priors import _edge_who, cohorts_phrase

    assert cohorts_phrase([{"n": 8}]) == "one cohort of 8 patients"
    assert cohorts_phrase([{"n": 8}, {"n": 15}]) == "2 cohorts of 23 patients"
    priors = {
        "SLE_cd19": {"studies": [{"name": "A", "r": 8, "n": 8}]},
        "SLE_all": {"studies": [{"name": "A", "r": 8, "n": 8}, {"name": "F", "r": 12, "n": 15}]},
        "IIM": {"studies": [{"name": "B", "r": 3, "n": 3}]},
        "vague": {},
    }
    assert _edge_who(priors, "SLE_cd19") == "every patient"
    priors["IIM"]["studies"].append({"name": "C", "r": 1, "n": 2})
    assert _edge_who(priors, "SLE_cd19") == "12 of 13 patients"


def test_meta_coverage_follows_the_meta_rows():
    """'Only SLE has more than one cohort', 'every other ... a single cohort' and 'only the index study remains for
    SLE and IIM' come from meta.csv: another pooled disease, or another autologous CD19 cohort, changes the words."""
    import pandas as pd

    from analysis.publish.frequentist import meta_coverage

    def row(scenario, group, cls, k, studies, role="primary"):
        return dict(scenario=scenario, group=group, endpoint_class=cls, k=k, studies=studies, role=role)

    rows = [
        row("primary", "SLE", "remission", 3, "IDX_SLE;A_SLE;B_SLE"),
        row("primary", "SLE", "remission", 3, "IDX_SLE;A_SLE;B_SLE", role="sensitivity"),
        row("primary", "IIM", "response", 1, "IDX_IIM", role="single"),
        row("primary", "SSc", "event_free", 1, "C_SSC", role="single"),
        row("cd19_autologous", "SLE", "remission", 1, "IDX_SLE", role="single"),
        row("cd19_autologous", "IIM", "response", 1, "IDX_IIM", role="single"),
        row("cd19_autologous", "SSc", "event_free", 1, "C_SSC", role="single"),
    ]
    words = meta_coverage(pd.DataFrame(rows), index_ids={"IDX"})
    assert words["multi_has"] == "SLE has"
    assert words["others_cap"] == "Every other disease and endpoint has a single cohort"
    assert words["index_only"] == "SLE and IIM"
    rows[2] = row("primary", "IIM", "response", 2, "IDX_IIM;D_IIM")
    rows[5] = row("cd19_autologous", "IIM", "response", 2, "IDX_IIM;D_IIM")
    words = meta_coverage(pd.DataFrame(rows), index_ids={"IDX"})
    assert (words["multi_has"], words["index_only"]) == ("SLE and IIM have", "SLE")
