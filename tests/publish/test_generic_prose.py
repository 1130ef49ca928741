"""The generic sentences of a cohort without its own prose (study.yml) read as a report would: the two-group
cohort's introduction said "Of 10 patients with AAV or MG treated ..., 9 of 10 patients reached" (the total
twice) and its evidence base "0 cohorts gave no readable responder counts"."""

from __future__ import annotations

from analysis.publish import prose
from analysis.publish.prose import Facts

FACTS = Facts(groups=("AAV", "MG"), endpoint={"AAV": "BVAS remission", "MG": "MG-ADL improvement"})


def test_the_introduction_gives_the_number_of_patients_once():
    first = prose.introduction({}, FACTS).split(". ")[0]
    assert "freq.who.response_all" in first  # '9 of 10 patients' or 'every patient'
    assert "freq.n.response_all" not in first


def test_the_evidence_base_names_unreadable_cohorts_only_when_there_are_some():
    assert "gave no readable" not in prose.evidence({"evidence": {"no_counts": 0}}, FACTS)
    assert "gave no readable" in prose.evidence({"evidence": {"no_counts": 5}}, FACTS)
