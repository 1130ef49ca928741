"""A complete report for another cohort, through render, naming nothing of the Erlangen study (issue 24).

Each cohort folder of ``tests/data`` (an ``index_study.csv`` and a ``study.yml``) is built once with
``python -m analysis cohort FOLDER`` (the ``cohort`` fixture of ``conftest.py``: every step, then the pandoc and
Typst fallback render, no Quarto here; about a minute and a half for two groups, four minutes for the ten sarcoma
strata, which are ``slow``).  A new cohort folder is picked up as it is.  ``one_file`` is the issue's "Done when":
one data file and one metadata file, no evidence base, no characteristics file, no definitions and no spec.
"""

from __future__ import annotations

import re

import yaml

from analysis.settings import ROOT
from tests.publish.test_any_cohort import WORDS

#: words of the Erlangen study beyond WORDS (its study id, centre and three diseases)
MORE_WORDS = re.compile(r"DORIS|lupus|myositis|sclerosis|Erlangen", re.IGNORECASE)


def _text(html: str) -> str:
    """The visible text of an HTML page (tags, embedded images and scripts removed), one space between words."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r'src="data:[^"]*"', "", html)
    text = re.sub(r"<[^>]+>", " ", html)
    import html as html_lib

    return re.sub(r"\s+", " ", html_lib.unescape(text)).replace("\u2060", "")


def test_the_report_is_complete(cohort):
    data, out, code, paper_untouched = cohort
    assert code == 0, f"the {data.name} cohort's build stopped (exit {code})"
    for doc in ("index", "supplement"):
        for ext in ("html", "pdf", "docx"):
            assert (out / "manuscript" / "_manuscript" / f"{doc}.{ext}").is_file(), (doc, ext)
    assert paper_untouched, "the cohort's build wrote into the paper's results"


def test_the_report_shows_every_group_with_its_own_numbers(cohort):
    data, out, code, _ = cohort
    assert code == 0
    ms = out / "manuscript"
    v = yaml.safe_load((ms / "_variables.yml").read_text(encoding="utf-8"))
    text = _text((ms / "_manuscript" / "index.html").read_text(encoding="utf-8"))
    groups = [k.removeprefix("response_") for k in v["freq"]["n"] if k.startswith("response_") and k != "response_all"]
    assert groups
    for g in groups:
        events, n = v["freq"]["events"][f"response_{g}"], v["freq"]["n"][f"response_{g}"]
        bound = str(v["freq"]["lower_bound"][g])
        assert f"In {g}, {events} of {n} patients reached" in text or f"in {g} ({events}/{n}) " in text, g
        assert f"{events} of {n} patients with {g}" in text or f"{events} of {n} with {g}" in text, g  # abstract
        assert bound in text and f"for {g}" in text, g
        posterior = str(v["bayes"]["independent"][g]["estimate"])
        assert f"{posterior} for {g}" in text, g
    assert str(v["freq"]["n"]["response_all"]) in text.split("Abstract", 1)[0]  # the title's count
    own = (yaml.safe_load((data / "study.yml").read_text(encoding="utf-8")) or {}).get("groups") or {}
    for g, words in own.items():  # a group named in full is spelt out at its first use
        if words.get("name"):
            assert f"{words['name']} ({g})" in text.split("Introduction", 1)[0], g
    index = (data / "index_study.csv").read_text(encoding="utf-8")
    if not re.search(r",10\.\d+/", index):  # no DOI: the report says the cohort is unpublished
        assert "(unpublished)" in text
    if not (data / "response.yml").is_file():  # no review to respond to: the colophon names no response
        assert "A response to the reviewers" not in text


def test_no_word_of_the_erlangen_study_appears(cohort):
    data, out, code, _ = cohort
    assert code == 0
    for doc in ("index", "supplement"):
        text = _text((out / "manuscript" / "_manuscript" / f"{doc}.html").read_text(encoding="utf-8"))
        found = sorted({m.group(0) for m in WORDS.finditer(text)} | {m.group(0) for m in MORE_WORDS.finditer(text)})
        context = [text[max(0, m.start() - 60) : m.end() + 60] for m in WORDS.finditer(text)][:3]
        assert not found, (doc, found, context)
    # nor in the files a user browses for names to quote: the variables, tables and sections (the paper's basket
    # design, copied into the cohort's results, leaves nothing there)
    ms = out / "manuscript"
    for path in [ms / "_variables.yml", *ms.glob("tables/*.md"), *ms.glob("_sections/*")]:
        text = path.read_text(encoding="utf-8")
        found = sorted({m.group(0) for m in WORDS.finditer(text)} | {m.group(0) for m in MORE_WORDS.finditer(text)})
        assert not found, (path.name, found)
    assert not (ms / "figures" / "basket.png").exists()


def test_the_text_follows_the_endpoints_time_points_and_conditioning_of_the_data(cohort):
    """One shared endpoint: no 'different endpoints'; time points in the index file: stated; no lymphodepletion: no
    'after lymphodepletion with none'."""
    import pandas as pd

    data, out, code, _ = cohort
    assert code == 0
    text = _text((out / "manuscript" / "_manuscript" / "index.html").read_text(encoding="utf-8"))
    index = pd.read_csv(data / "index_study.csv", dtype=str, keep_default_na=False)
    resp = index[(index["endpoint"] == "response") & (index["group"] != "all")]
    if resp["endpoint_definition"].nunique() == 1:
        for words in ("different endpoints", "The endpoints differ between"):
            assert words not in text, words
    from analysis.data import load_characteristics

    chars = load_characteristics(data / "study_characteristics.csv")  # or study.yml's facts without the file
    if "endpoint_timepoint" not in set(chars["item"]) and (resp["timepoint"] != "").all():
        assert "do not state when the endpoint was assessed" not in text
        assert all(f"assessed at {t}" in text for t in resp["timepoint"]), list(resp["timepoint"])
    lympho = chars.loc[chars["item"] == "lymphodepletion", "value"]
    if len(lympho) and lympho.iloc[0].lower().startswith("none"):
        assert "lymphodepletion with" not in text and "conditioning cannot be separated" not in text


def _has(data, name: str) -> bool:
    return (data / name).is_file()


def test_a_report_has_only_the_sections_its_data_support(cohort):
    """Without published cohorts: no evidence base, meta-analysis, flow or PRISMA checklist, and no sentence that
    promises them; without a MAP prior or a design: no section on priors for a follow-up trial, and the BARG
    checklist says that no decision rule was designed.  With them, each section is there."""
    data, out, code, _ = cohort
    assert code == 0
    built = out / "manuscript" / "_manuscript"
    paper = _text((built / "index.html").read_text(encoding="utf-8"))
    supp = _text((built / "supplement.html").read_text(encoding="utf-8"))
    v = yaml.safe_load((out / "manuscript" / "_variables.yml").read_text(encoding="utf-8"))
    evidence = _has(data, "published_cohorts.csv")
    for words, where in (
        ("Evidence base", paper),
        ("Other published cohorts", paper),
        ("Published cohorts", supp),
        ("PRISMA", supp),
        ("flow of the records", supp),
        ("external cohorts", paper + supp),
    ):
        assert (words in where) == evidence, (words, evidence)
    if not evidence:
        assert "meta-analytic" not in paper and "meta-analyses" not in paper
        assert "No other published cohort informs the estimates" in paper
    has_map = (v.get("priors") or {}).get("map", {}).get("primary") is not None
    assert ("Priors for a follow-up trial" in paper) == has_map
    assert ("Meta-analytic-predictive priors" in supp) == has_map
    designed = bool((v.get("priors") or {}).get("design"))
    assert ("no decision rule was designed" in supp) == (not designed)
    if not _has(data, "endpoint_definitions.csv"):
        assert "as its data file defines them" in supp
    from analysis.data import load_index
    from analysis.settings import SAFETY_ENDPOINTS

    index = load_index(data / "index_study.csv")
    harms = bool(((index["group"] == "all") & index["endpoint"].isin(SAFETY_ENDPOINTS)).any())
    assert ("Adverse events among" in paper) == harms  # no empty harms table
    assert ("harm rates" in paper and "uncommon harms" in paper) == harms
    assert ("For every adverse event category with no event" in paper) == harms  # no harms, no method for them
    own = (yaml.safe_load((data / "study.yml").read_text(encoding="utf-8")) or {}).get("sections") or {}
    if "limitations" not in own:
        assert ("the report says nothing about harms" in paper) == (not harms)
    from analysis.publish.bayes import LEFT_OUT

    data_scenarios = "External cohorts added" in supp or LEFT_OUT in supp
    assert ("prior and data scenarios" in paper) == data_scenarios
    assert f"make paper DATA={data.relative_to(ROOT)} rebuilds this document" in paper  # not the paper's command
    assert re.search(r"borrowing across diseases\. [A-Z]", paper)  # a sentence opens with a capital
