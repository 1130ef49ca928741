"""The rendered manuscript against the results files (needs `make paper`; `make test` runs it first)."""

import re
import shutil
from html.parser import HTMLParser

import pandas as pd
import pytest
import yaml

from analysis.publish.format import ci, prop
from analysis.publish.render import RenderError, expand, render_fallback

pytestmark = pytest.mark.pipeline


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.chunks = []

    def handle_data(self, data):
        self.chunks.append(data)


def _html_text(path):
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", " ".join(p.chunks)).replace("\u00a0", " ")


@pytest.fixture(scope="module")
def built(root):
    html = root / "manuscript/_manuscript/index.html"
    pdf = root / "manuscript/_manuscript/index.pdf"
    if not (html.is_file() and pdf.is_file()):
        pytest.fail("the manuscript is not built: run `make test` (it runs `make paper` first)")
    return root, _html_text(html)


def test_outputs_exist_and_pdf_is_a_pdf(built):
    root, _ = built
    pdf = root / "manuscript/_manuscript/index.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 20_000


def test_estimates_contract(built):
    root, _ = built
    est = pd.read_csv(root / "results/estimates.csv")
    for col in ["analysis", "method", "endpoint", "group", "n", "events", "estimate", "lower", "upper", "level"]:
        assert col in est.columns
    assert {"clopper-pearson", "wilson", "jeffreys"} <= set(est["method"])
    assert {"SLE", "IIM", "SSc", "all"} <= set(est["group"])
    assert {
        "response",
        "drug_free",
        "crs_any",
        "crs_grade2plus",
        "crs_grade3plus",
        "icans_any",
        "infection_hospitalised",
    } <= set(est["endpoint"])
    f = est[est["analysis"] == "frequentist"]
    assert (f["lower"] <= f["estimate"] + 1e-12).all() and (f["estimate"] <= f["upper"] + 1e-12).all()


def test_table_in_html_matches_results(built):
    root, text = built
    est = pd.read_csv(root / "results/estimates.csv")
    cp = est[(est["method"] == "clopper-pearson") & (est["endpoint"] == "response")].set_index("group")
    for g, label in (("SLE", "SLE"), ("IIM", "IIM"), ("SSc", "SSc"), ("all", "All")):
        r = cp.loc[g]
        row = f"{label} {r.events}/{r.n} {ci(r.lower, r.upper)}"
        assert row in text, f"table row {row!r} not in the HTML"


def test_figures_and_tables_are_numbered_and_referenced(built):
    _, text = built
    fig = re.search(r"Figure (\d+): Exact Clopper-Pearson 95% confidence intervals beside", text)
    tbl = re.search(r"Table (\d+): Remission or response", text)
    assert fig and tbl, "numbered captions missing"
    assert f"Table {tbl.group(1)} and Figure {fig.group(1)} show" in text
    # numbers run 1..N without gaps, in order of appearance
    for kind in ("Figure", "Table"):
        nums = [int(n) for n in re.findall(kind + r" (\d+): ", text)]
        assert nums == list(range(1, len(nums) + 1)), (kind, nums)
    assert "{{<" not in text and "?fig-" not in text and "@tbl-" not in text


def test_bibliography_is_formatted(built):
    _, text = built
    assert "Müller" in text and "N Engl J Med" in text or "New England Journal of Medicine" in text
    assert "Clopper" in text


def test_prose_numbers_come_from_variables(root, built):
    _, text = built
    v = yaml.safe_load((root / "manuscript/_variables.yml").read_text())["freq"]
    cp = v["cp"]["response_all"]
    assert f"exact 95% CI is {cp['lower']} to {cp['upper']}" in text
    assert f"the exact one-sided 95% upper bound is {v['zero_events']['upper1s']}" in text


def test_no_numbers_typed_into_prose(root):
    """Digits in the manuscript source appear only in labels, citations and file names, not as statistics."""
    src = (root / "manuscript/index.qmd").read_text()
    body = src.split("---", 2)[2]
    body = re.sub(r"\{\{<[^>]*>\}\}", "", body)
    body = re.sub(r"\{#[^}]*\}|@\w+|\([^)]*\.png\)|`[^`]*`", "", body)
    # model equations may use the constants 0 and 1 (a standard normal), never a statistic
    math = re.findall(r"\$[^$]+\$", body)
    assert {n for m in math for n in re.findall(r"\d+(?:\.\d+)?", m)} <= {"0", "1"}, math
    body = re.sub(r"\$[^$]+\$", "", body)
    numbers = re.findall(r"(?<![\w.-])\d+(?:\.\d+)?%?", body)
    # The conventional levels are settings, checked here against the pipeline's level.
    from analysis.settings import LEVEL

    allowed = {f"{100 * LEVEL:g}%", f"{100 * (1 - LEVEL):g}%", "80%"}  # 80%: the inner bar of a figure
    typed = [n for n in numbers if n not in allowed]
    assert typed == [], f"numbers typed into the manuscript: {typed}"


def test_unknown_variable_fails(tmp_path):
    with pytest.raises(RenderError, match="unknown variable 'a.b'"):
        expand("x {{< var a.b >}} y", tmp_path, {"a": {"c": 1}}, tmp_path / "index.qmd")


def test_missing_include_fails(tmp_path):
    with pytest.raises(RenderError, match="included file not found"):
        expand("{{< include nope.md >}}", tmp_path, {}, tmp_path / "index.qmd")


def test_unresolved_cross_reference_fails_the_render(root, tmp_path):
    ms = tmp_path / "manuscript"
    shutil.copytree(root / "manuscript" / "filters", ms / "filters")
    shutil.copy(root / "manuscript" / "references.bib", ms / "references.bib")
    (ms / "_variables.yml").write_text("x: 1\n")
    (ms / "index.qmd").write_text("---\ntitle: t\n---\n\nSee @fig-missing and {{< var x >}}.\n")
    with pytest.raises(RenderError, match="unresolved reference.*fig-missing"):
        render_fallback(ms)
    assert not (ms / "_manuscript" / "index.pdf").exists()


def test_bayesian_and_prior_numbers_in_html_match_results(root, built):
    import json

    _, text = built
    est = pd.read_csv(root / "results/estimates.csv")
    h = est[(est["method"] == "bayes-hierarchical") & (est["analysis"] == "bayes")].set_index("group")
    r = h.loc["IIM"]
    assert "Under the hierarchical model, borrowing raises" in text
    assert f"to {prop(r.estimate)} (credible interval {prop(r.lower)} to {prop(r.upper)}; EXNEX mean " in text
    diag = pd.read_csv(root / "results/bayes/diagnostics.csv")
    assert (diag["divergences"] == 0).all() and (diag["r_hat"] <= 1.01).all()
    assert f"the largest R-hat was {diag['r_hat'].max():.3f}" in text or "largest R-hat was" in text
    designs = json.loads((root / "results/priors/designs.json").read_text())
    d = designs["sle_single_arm"]
    primary = d["prior"]
    assert f"needs {d['priors'][primary]['boundary']} remissions of {d['n']} for success" in text
    assert f"at the price of a type I error of {prop(d['priors']['SLE_all']['type1'], 3)}" in text
    priors = json.loads((root / "results/priors/priors.json").read_text())["priors"]
    ess = priors[primary]["ess"]["robust"]
    assert f"and is worth {ess['moment']:.1f} patients by moment matching" in text


def test_every_figure_has_alt_text(root):
    # the paper and its supplement (the journal's limit of six display items moved figures to the supplement)
    from analysis.publish.narrative import source

    # with the generated sections inlined (the MAP priors' and the designs' figures are in them)
    src = "".join(source(root / f"manuscript/{name}.qmd") for name in ("index", "supplement"))
    figs = re.findall(r"!\[[^\]]*\]\([^)]*\)\{([^}]*)\}", src, flags=re.S)
    assert len(figs) >= 7
    assert all("#fig-" in f and "fig-alt=" in f for f in figs)


def test_make_reruns_only_what_changed(root, built):
    """Editing the manuscript text re-renders only; editing data recomputes the analysis."""
    import subprocess

    # `make paper` runs its file targets in a parallel sub-make, to which -W does not pass; ask for them directly
    docs = [f"manuscript/_manuscript/{d}.{x}" for d in ("index", "supplement") for x in ("html", "pdf", "docx")]

    def dry(*touched):
        args = ["make", "-n", "--no-print-directory", *[f"-W{t}" for t in touched], *docs]
        return subprocess.run(args, cwd=root, capture_output=True, text=True, check=True).stdout

    text_only = dry("manuscript/index.qmd")
    assert "analysis render" in text_only
    assert "analysis bayes" not in text_only and "analysis frequentist" not in text_only
    data = dry("data/raw/index_study.csv")
    # (a dry run lists the first steps to redo; make itself then follows the chain to the render)
    assert "analysis frequentist" in data and "analysis bayes" in data and "analysis sensitivity" in data
    code = dry("analysis/frequentist/meta.py")
    assert "analysis frequentist" in code and "analysis bayes --out" not in code
    nothing = dry()
    assert "analysis" not in nothing, nothing


@pytest.mark.parametrize(
    ("p", "mcse", "text"),
    [
        (1.0, 0.0, ">0.999"),
        (0.9996, 0.0001, ">0.999"),
        (0.9993, 0.0008, ">0.999"),
        (0.9993, 0.0001, "0.999"),
        (0.0, 0.0, "<0.001"),
        (0.5, 0.01, "0.500"),
    ],
)
def test_probabilities_do_not_claim_more_digits_than_the_draws(p, mcse, text):
    from analysis.publish.bayes import probability

    assert probability(p, mcse) == text
