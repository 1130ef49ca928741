"""Comparative and quantified sentences come from computed statements and agree with the numbers (issue 25).

The second review found generated sentences that contradicted the results: "the largest difference was 0.0208,
or 2.1 Monte Carlo standard errors" (0.0208 is 1.5 MCSE; 2.1 is another row's), "the type I error reaches 0.132
wherever borrowing changes the boundary" (it ranges from 0.107 to 0.132), and "borrowing raises the probability
of a false positive at the null rate" (false for SLE and IIM under the global null).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from analysis.publish import claims
from analysis.publish.bayes import check_variables
from analysis.publish.claims import ClaimError, Statement, change, changes_by, check, compare, span
from analysis.publish.format import prop
from analysis.publish.narrative import source
from analysis.results import Results
from analysis.settings import ROOT

SOURCES = ("manuscript/index.qmd", "manuscript/supplement.qmd")


# -- the builders make the right words, and check() refuses wrong ones ------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "words"),
    [(0.9452, 0.9468, "smaller than"), (0.971, 0.968, "larger than"), (0.9451, 0.9449, "the same as")],
)
def test_compare_words_follow_the_printed_numbers(a, b, words):
    s = compare(a, b, lambda x: prop(x, 3))
    assert s.text == words
    check(s)


def test_compare_is_made_at_the_printed_precision():
    # 0.946 against 0.947 at two digits prints 0.95 and 0.95: no difference a reader could see
    assert compare(0.946, 0.947, prop).text == "the same as"


def test_span_says_range_or_single_value():
    assert span([0.132, 0.107, 0.12], lambda x: prop(x, 3)).text == "ranges from 0.107 to 0.132"
    assert span([0.1321, 0.1322], lambda x: prop(x, 3)).text == "is 0.132"
    with pytest.raises(ClaimError):
        span([])


def test_change_words():
    assert change(0.074, 0.033, lambda x: prop(x, 3)).text == "lowers"
    assert change(0.089, 0.177, lambda x: prop(x, 3)).text == "raises"


@pytest.mark.parametrize(
    "wrong",
    [
        Statement("larger than", "larger", ("0.945", "0.947")),  # the EXNEX 'gain' that is a loss
        Statement("reaches 0.132", "range", ("0.107", "0.132")),  # the 'reaches' sentence
        Statement("ranges from 0.107 to 0.131", "range", ("0.107", "0.132")),
        Statement("is 0.107", "single", ("0.107", "0.132")),
    ],
)
def test_check_refuses_words_the_numbers_do_not_support(wrong):
    with pytest.raises(ClaimError):
        check(wrong)


def test_check_refuses_prose_that_shows_other_numbers():
    s = compare(0.945, 0.947, lambda x: prop(x, 3))
    check(s, ["0.945", "0.947"])
    with pytest.raises(ClaimError, match="the prose shows"):
        check(s, ["0.947", "0.945"])


def test_changes_by_names_every_direction():
    base = {"SLE": 0.074, "SSc": 0.089}
    alts = {"hier": {"SLE": 0.018, "SSc": 0.177}, "jsd": {"SLE": 0.074, "SSc": 0.369}}
    s = changes_by(base, alts, lambda x: prop(x, 3), {"hier": "the hierarchical model", "jsd": "JSD"})
    assert s.text == (
        "for SLE, lowers it with the hierarchical model and leaves it unchanged with JSD; "
        "for SSc, raises it with every method"
    )
    check(s)
    with pytest.raises(ClaimError, match="the words omit it"):
        check(Statement("for SLE, lowers it with every method; for SSc, lowers it", "by_group", parts=s.parts))


# -- the paper's statements, from the real results -----------------------------------------------------------


@pytest.fixture(scope="module")
def results():
    r = Results(ROOT / "results")
    try:
        r.crosscheck, r.designs, r.basket_oc  # noqa: B018
    except FileNotFoundError as e:
        pytest.skip(f"results not built: {e}")
    return r


@pytest.fixture(scope="module")
def variables():
    path = ROOT / "manuscript/_variables.yml"
    if not path.is_file():
        pytest.skip("manuscript/_variables.yml not built (make paper)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_statement_of_the_paper_follows_from_the_results(results):
    made = claims.claims_statements(results)
    assert made, "no computed statements"
    for key, s in made.items():
        check(s)
        assert s.text, key


def test_variables_file_carries_the_statements_of_these_results(results, variables):
    """A stale variables file (words from other numbers) fails: the words are recomputed from results/."""
    assert variables["claims"] == claims.claims_variables(results)


def test_design_type1_sentence_is_the_range_not_the_maximum(results):
    rows = results.designs["sle_single_arm"]["sensitivity"]
    ref = {r["p0"]: r["boundary"] for r in rows if r["prior"] == "vague"}
    moved = [r["type1"] for r in rows if r["robust_weight"] is not None and r["boundary"] != ref[r["p0"]]]
    s = claims.design_type1_statement(results.designs)
    assert s.values == (prop(min(moved), 3), prop(max(moved), 3))


def test_crosscheck_quotes_each_maximum_with_its_own_row():
    c = pd.DataFrame(
        {
            "model": ["h", "h", "e"],
            "mcmc": [0.50, 0.90, 0.99],
            "engine": [0.48, 0.899, 0.9893],
            "mcse": [0.0137, 0.001, 0.00033],
        }
    )
    c["z"] = (c["mcmc"] - c["engine"]).abs() / c["mcse"]
    v = check_variables(c, pd.DataFrame(columns=["model", "group", "prob_all_respond", "predicted_mean", "n"]))
    x = v["crosscheck"]
    assert (x["max_diff"], x["max_diff_z"]) == ("0.0200", "1.5")  # the largest difference, with its own z
    assert (x["max_z"], x["max_z_diff"]) == ("2.1", "0.0007")  # the largest z, with its own difference


# -- the prose: no typed comparison next to a quoted number -----------------------------------------------------

#: a comparative or quantifying word typed right before or after a quoted number: such a relation must be a
#: computed statement ({{< var claims.KEY >}}), because nothing checks a typed one against the numbers; "the rate
#: exceeds X" defines an event (a posterior probability), it claims nothing
TYPED = re.compile(
    r"(?<!rate )\b(reach(?:es|ed)?|exceed(?:s|ed)?|raises?|lowers?|gains?|(?:larger|smaller|higher|greater|more|less|fewer)"
    r"\s+than|at\s+most|at\s+least|up\s+to)\s+(\{\{< var (?!claims\.)[^>]*>\}\})",
    re.I,
)
#: reviewed exceptions: the relation is the variable's definition (a bound is 'at most' by construction)
ALLOWED = (
    "at least {{< var context.refractory_min_therapies >}}",
    "up to {{< var freq.zero_events.upper1s >}}",  # an exact upper bound: rates up to it are compatible, by definition
    "at most {{< var priors.vague_max_ab >}}",  # the definition of a near-uniform mixture component
    "up to {{< var priors.map.primary.em.k_max >}}",  # the largest mixture fitted: a setting, not a finding
    "at most {{< var basket.alpha >}}",  # the calibration's constraint: thresholds are chosen so, by definition
)


def typed_comparisons(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", text)
    return [m.group(0) for m in TYPED.finditer(text) if not any(m.group(0).startswith(a) for a in ALLOWED)]


@pytest.mark.parametrize("path", SOURCES)
def test_no_typed_comparison_beside_a_quoted_number(path):
    found = typed_comparisons(source(ROOT / path))  # with the generated sections it includes
    assert found == [], f"{path}: typed comparisons beside quoted numbers (make them claims.*): {found}"


@pytest.mark.parametrize(
    "sentence",
    [
        "the type I error of the design reaches {{< var priors.x.max >}} wherever",
        "a gain larger than {{< var basket.go.exnex >}}",
    ],
)
def test_the_prose_check_finds_typed_comparisons(sentence):
    assert typed_comparisons(sentence)


def test_the_prose_check_leaves_computed_statements_alone():
    assert typed_comparisons("the type I error {{< var claims.design_type1_moved >}} wherever") == []


@pytest.mark.parametrize("path", SOURCES)
def test_every_quoted_claim_exists(path, variables):
    keys = re.findall(r"\{\{< var claims\.([\w.]+) >\}\}", source(ROOT / path))
    missing = [k for k in keys if k not in variables["claims"]]
    assert missing == [], f"{path}: claims quoted but not computed: {missing}"
