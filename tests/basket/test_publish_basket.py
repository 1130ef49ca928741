"""The follow-up section's prose: every comparative sentence is generated from the numbers it quotes."""

import re

import pandas as pd
import pytest

from analysis.publish.basket import basket_variables, lone_active, statements

DESIGN = {
    "indications": [
        {"name": "A", "n": 10, "p0": 0.2, "target": 0.5, "c": 0.9},
        {"name": "B", "n": 10, "p0": 0.2, "target": 0.5, "c": 0.9},
    ],
    "methods": [
        {"name": "independent", "label": "Independent", "noun": "no borrowing", "settings": "Beta(1, 1)"},
        {"name": "mem", "label": "MEM", "noun": "the MEM", "settings": "Beta(1, 1); 0.5"},
    ],
    "calibration": {"alpha": 0.1, "control": "each", "common": False},
}


def _oc(go_alone_mem: float, go_all_mem: float) -> pd.DataFrame:
    rows = []
    for th in ("nominal", "calibrated"):
        for m, alone, both in (("independent", 0.8, 0.8), ("mem", go_alone_mem, go_all_mem)):
            for sc, nulls, gos in (
                ("all null", (True, True), (0.05, 0.06)),
                ("all active", (False, False), (both, both)),
                ("only A active", (False, True), (alone, 0.07)),
            ):
                for ind, nl, g in zip("AB", nulls, gos):
                    rows.append(
                        {
                            "method": m,
                            "scenario": sc,
                            "indication": ind,
                            "null": nl,
                            "go": g,
                            "expected_n": 10.0,
                            "fwer": float("nan"),
                            "thresholds": th,
                            "oc": "exact",
                        }
                    )
                rows.append(
                    {
                        "method": m,
                        "scenario": sc,
                        "indication": "(any)",
                        "null": any(nulls),
                        "go": max(gos),
                        "expected_n": 20.0,
                        "fwer": 0.1 if any(nulls) else float("nan"),
                        "thresholds": th,
                        "oc": "exact",
                    }
                )
    return pd.DataFrame(rows)


CAL = pd.DataFrame(
    [
        {
            "method": m,
            "indication": i,
            "alpha": 0.1,
            "threshold": 0.9,
            "type1": t,
            "type1_max_partial": w,
            "fwer": 0.15,
            "nominal_threshold": 0.9,
            "nominal_type1": t,
        }
        for m, t, w in (("independent", 0.05, 0.05), ("mem", 0.09, 0.3))
        for i in "AB"
    ]
)


@pytest.mark.parametrize("alone,word", [(0.7, "loses"), (0.9, "gains"), (0.8, "neither gains nor loses")])
def test_lone_active_sentence_follows_the_numbers(alone, word):
    say = statements(_oc(alone, 0.95), CAL, DESIGN)
    assert say["lone"]["mem"].startswith(f"with the MEM a disease that responds alone {word}")
    assert f"{abs(0.8 - alone):.3f}" in say["lone"]["mem"]
    assert lone_active(_oc(alone, 0.95)).set_index("method").loc["mem", "lost"] == pytest.approx(0.8 - alone)


@pytest.mark.parametrize("both,word", [(0.95, "above"), (0.6, "below")])
def test_all_active_and_partial_sentences_follow_the_numbers(both, word):
    say = statements(_oc(0.8, both), CAL, DESIGN)
    best = max(both, 0.8)
    assert say["all_active"]["A"].startswith(f"{best:.3f} (")
    if both > 0.8:
        assert f"{word} 0.800 without borrowing" in say["all_active"]["A"]
    assert "0.300 (the MEM, A), above the target of 0.10" in say["partial"]
    assert "all at most 0.10" in say["achieved"]


def test_variables_hold_the_sentences_and_the_priors():
    v = basket_variables(_oc(0.7, 0.95), DESIGN, CAL)
    assert v["priors"]["mem"] == "Beta(1, 1); 0.5" and v["alpha"] == "0.10"
    assert v["go"]["mem"]["only_a_active"]["A"] == "0.700"  # calibrated rows by default
    assert "say" in v and "lone" in v["say"]


def _basket_prose(root) -> str:
    from analysis.publish.narrative import source

    text = source(root / "manuscript" / "index.qmd")  # with its generated sections (the basket trial's among them)
    a = text[text.index("**A follow-up basket trial.**") :]
    methods = a[: a.index("\n\n")]
    r = text[text.index("## A follow-up basket trial") :]
    results = r[: r.index("![")]
    return methods + "\n" + results


def test_the_section_types_no_number_and_no_comparison(root):
    """Numbers and comparative words in the follow-up section come from generated variables only: outside
    the {{< var >}} shortcodes, citations and cross-references, no digit and no comparative word."""
    prose = _basket_prose(root)
    bare = re.sub(r"\{\{< (var|meta) [^>]+>\}\}", "", prose)
    bare = re.sub(r"\[Table S\d+\]\([^)]+\)|@\w+|\[@[^\]]+\]|`[^`]+`|logit\(p\) - logit\(p0\)", "", bare)
    assert not re.search(r"\d", bare), re.findall(r".{20}\d.{20}", bare)
    words = r"\b(higher|lower|more|less|larger|smaller|better|worse|limits|above|below|than)\b"
    found = [w for w in re.findall(words, bare) if w not in ("above", "below")]
    # "above" and "below" occur only in the rule definitions (a probability above or below a threshold)
    assert not found, found
