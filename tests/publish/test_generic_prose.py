"""The generic sentences of a cohort without its own prose (study.yml) read as a report would: the two-group
cohort's introduction said "Of 10 patients with AAV or MG treated ..., 9 of 10 patients reached" (the total
twice) and its evidence base "0 cohorts gave no readable responder counts"; the paper said "The exact test of
equal response rates across diseases is not testable" (a hypothesis is testable, a test is not)."""

from __future__ import annotations

from analysis.publish import prose, prose_models
from analysis.publish.prose import Facts

FACTS = Facts(groups=("AAV", "MG"), endpoint={"AAV": "BVAS remission", "MG": "MG-ADL improvement"})


def test_the_introduction_gives_the_number_of_patients_once():
    first = prose.introduction({}, FACTS).split(". ")[0]
    assert "freq.who.response_all" in first  # '9 of 10 patients' or 'every patient'
    assert "freq.n.response_all" not in first


def test_the_evidence_base_names_unreadable_cohorts_only_when_there_are_some():
    assert "gave no readable" not in prose.evidence({"evidence": {"no_counts": 0}}, FACTS)
    assert "gave no readable" in prose.evidence({"evidence": {"no_counts": 5}}, FACTS)


def test_not_testable_is_said_of_the_hypothesis():
    note = "not testable: every patient responded, so the table with these margins is unique"
    v = {"freq": {"test": {"heterogeneity_note": note}}}
    text = prose.response(v, FACTS)
    assert "The hypothesis of equal response rates across diseases is {{< var freq.test.heterogeneity_note >}}." in text
    assert "exact test of equal response rates" not in text


def test_the_generic_text_names_no_product_class_and_counts_one_therapy_in_the_singular():
    """The sarcoma strata (imatinib) read "cannot be separated from that of the CAR T cells" and "refractory to
    at least 1 conventional therapies"."""
    v = {"context": {"refractory_min_therapies": 1}}
    text = prose.patients(v, FACTS) + prose.limitations(v, FACTS)
    assert "CAR" not in text
    assert "at least {{< var context.refractory_min_therapies >}} conventional therapy " in text
    two = prose.patients({"context": {"refractory_min_therapies": 2}}, FACTS)
    assert "conventional therapies" in two


def _design(primary: int, vague: int) -> dict:
    priors = {"primary": {"boundary": primary, "type1": "0.058"}, "vague": {"boundary": vague, "type1": "0.1"}}
    return {"priors": {"map": {"primary": {}}, "design": {"d": {"n": 20, "priors": priors}}}}


def test_a_vague_prior_with_the_same_boundary_reads_as_such():
    """The two-group report read "the primary prior needs 14 responses of 20 for success (type I error 0.058),
    the vague prior 14 (type I error 0.058)"."""
    facts = Facts(groups=FACTS.groups, endpoint=FACTS.endpoint, designs={"d": "AAV"})
    same = prose_models.priors_results(_design(14, 14), facts)
    assert "as does the vague prior ({{< var priors.design.d.priors.vague.boundary >}})" in same
    assert "priors.design.d.priors.vague.type1" not in same
    other = prose_models.priors_results(_design(13, 14), facts)
    assert "the vague prior {{< var priors.design.d.priors.vague.boundary >}} (type I error" in other


def test_meta_analyses_are_promised_only_when_a_rate_was_pooled():
    """The two-group cohort's abstract promised "meta-analyses of other published cohorts" and its evidence base
    said the reports "entered the primary meta-analysis", while its results said "no rate was pooled"."""
    nothing = {"freq": {"meta": {"primary": {"AAV": {"remission": {"k": 1}}}}}}
    pooled = {"freq": {"meta": {"primary": {"AAV": {"remission": {"k": 2, "dl": {"estimate": 0.8}}}}}}}
    assert "meta-analyses" not in prose.methods(nothing, FACTS)
    assert "meta-analysis" not in prose.evidence(nothing, FACTS)
    assert "meta-analyses of other published cohorts" in prose.methods(pooled, FACTS)
    assert "entered the primary meta-analysis" in prose.evidence(pooled, FACTS)
    assert "no rate was pooled" in prose.meta_results(nothing, FACTS)


def test_one_endpoint_is_named_and_defined_once():
    """The sarcoma strata's report repeated "clinical benefit response: CR or PR at 2 months, ..." before each of
    ten counts in the abstract, defined it ten times and said "The response endpoint differs by disease"."""
    ep = "clinical benefit response"
    one = Facts(
        groups=("A", "B", "C"),
        endpoint=dict.fromkeys("ABC", ep),
        definitions=tuple(
            {"disease": g, "index_study_use": "reached", "instrument": "CBR", "definition": "CR or PR", "doi": ""}
            for g in "ABC"
        ),
    )
    text = prose.abstract_results({}, one, "")
    assert text.count(ep) == 1 and text.startswith(f"The response endpoint, {ep}, was reached by")
    for g in "ABC":
        assert f"with {g} (" in text
    patients = prose.patients({}, one)
    assert patients.count("CR or PR") == 1 and "differs" not in patients
    two = prose.patients({}, Facts(groups=("A", "B"), endpoint={"A": "x", "B": "y"}, definitions=one.definitions))
    assert "differs by disease" in two and two.count("CR or PR") == 2


def test_one_time_point_for_every_group_is_said_once():
    """The sarcoma report said "In Angiosarcoma the endpoint was assessed at 2 months ..." ten times."""
    groups = ("A", "B", "C")
    same = {"context": {"timepoint": dict.fromkeys(groups, "at 2 months")}}
    text = prose.patients(same, Facts(groups=groups, endpoint=dict.fromkeys(groups, "x")))
    assert text.count("the endpoint was assessed") == 1 and "In every group the endpoint was assessed" in text
    differ = {"context": {"timepoint": {"A": "at 2 months", "B": "at 3 months", "C": "at 2 months"}}}
    text = prose.patients(differ, Facts(groups=groups, endpoint=dict.fromkeys(groups, "x")))
    assert text.count("the endpoint was assessed") == 3
