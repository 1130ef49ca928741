"""The Bayesian Analysis Reporting Guidelines (BARG) checklist of the supplement, from a declarative list.

Kruschke JK. Bayesian Analysis Reporting Guidelines. Nat Hum Behav 2021;5:1282-91 (its Table 1).
Each item is answered with pointers into the paper (``sec-``, ``tbl-`` and ``fig-`` labels of
``index.qmd``, shown as "section 2.2", "Table 3", "Figure 4" with the numbers the paper is rendered
with) or into the supplement itself (``@tbl-...``, cross-referenced there), and, where the answer is a
result, with ``{{< var ... >}}`` shortcodes that the renderer resolves from ``_variables.yml``; this
module never types a number.  ``render`` writes ``tables/barg-checklist.md`` before every render, so
Quarto and the pandoc fallback include the same file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from analysis.data import group_order
from analysis.io import write_text
from analysis.publish.format import md_table
from analysis.publish.shortcodes import expand

CHECKLIST_FILE = "tables/barg-checklist.md"
#: the label of the checklist table (the report step checks references to it before render writes it)
CHECKLIST_LABEL = "tbl-barg"

# (item, what BARG asks, answer); in an answer, [sec-x], [tbl-x], [fig-x] point into the paper and
# @tbl-x into the supplement.  Item wording is abridged from Kruschke (2021), Table 1.
ITEMS: tuple[tuple[str, str, str], ...] = (
    (
        "Preamble A",
        "Why Bayesian",
        "to borrow strength across diseases and to build priors for a follow-up trial [sec-intro], [sec-methods]",
    ),
    (
        "Preamble B",
        "Goals of the analysis",
        "estimation of response rates per disease (no borrowing, primary; borrowing as sensitivity analyses); design of a follow-up trial [sec-intro]",
    ),
    (
        "1A",
        "Data variables",
        "responders and patients per disease and endpoint; published cohorts [sec-clinical-context], [tbl-characteristics], [tbl-estimates]",
    ),
    (
        "1B",
        "Likelihood function and parameters",
        "binomial likelihood; logit-normal hierarchy (mu, tau) and EXNEX mixture, with equations [sec-methods]",
    ),
    (
        "1C",
        "Prior distribution, justified",
        "mu ~ {{< var bayes.priors.hierarchical.mu >}}, tau ~ {{< var bayes.priors.hierarchical.tau >}}, non-exchangeable {{< var bayes.priors.exnex.nex >}} [sec-methods], @tbl-hyperparameters",
    ),
    ("1D", "Formal specification", "model equations [sec-methods]; code in analysis/bayes/models/ of the repository"),
    (
        "1E",
        "Prior predictive check",
        "95% prior range {{< var bayes.prior_pred.hierarchical.q025 >}} to {{< var bayes.prior_pred.hierarchical.q975 >}} for one disease's rate @fig-prior-predictive",
    ),
    ("2A", "Software", "PyMC with the {{< var bayes.diag.sampler >}} NUTS sampler, ArviZ; versions [tbl-colophon]"),
    (
        "2B",
        "MCMC chain convergence",
        "largest R-hat {{< var bayes.diag.max_rhat >}} over all fits, {{< var bayes.diag.divergences >}} divergent transitions @tbl-diagnostics",
    ),
    (
        "2C",
        "MCMC chain resolution (ESS)",
        "smallest bulk ESS {{< var bayes.diag.min_ess_bulk >}}, tail ESS {{< var bayes.diag.min_ess_tail >}} @tbl-diagnostics",
    ),
    (
        "2D",
        "If not MCMC",
        "independent model: exact conjugate posteriors; operating characteristics by exact enumeration [sec-methods]",
    ),
    (
        "3A",
        "Posterior predictive check",
        "<<ppc>>",
    ),
    (
        "3B",
        "Posterior summary of every parameter of interest",
        "posterior means with 95% equal-tailed intervals [fig-bayes], @tbl-bayes; mu and tau @tbl-hyperparameters, @fig-hyperparameters",
    ),
    (
        "3C",
        "Bayes factors, model probabilities",
        "no model comparison; EXNEX exchangeability probabilities [sec-results]",
    ),
    (
        "4A",
        "Decision rules and thresholds",
        "posterior probabilities of exceeding benchmarks @tbl-exceedance; trial success rule [tbl-design]",
    ),
    (
        "4B",
        "Decisions' operating characteristics",
        "<<oc>>; equal power at equal type I error @fig-oc, [tbl-design], @tbl-design-calibration",
    ),
    (
        "5A",
        "Sensitivity to the prior",
        "{{< var bayes.sens.n_scenarios >}} {{< var report.scenario_kinds >}}<<sens>> @tbl-sensitivity, @fig-sensitivity",
    ),
    (
        "5B",
        "Sensitivity of decisions",
        "type I error and power with and without borrowing [tbl-design], @fig-prior-posterior",
    ),
    ("6A", "Code", "the repository; {{< var report.rebuild >}} rebuilds every number [sec-colophon]"),
    ("6B", "Data", "published counts with quoted sources, data/raw/ of the repository [sec-colophon]"),
    ("6C", "Reproducible computation", "seed {{< var bayes.diag.seed >}}, data checksums and versions [tbl-colophon]"),
)

#: the answers of a report without a single-arm design (no decision rule, no operating characteristics)
WITHOUT_DESIGN: dict[str, str] = {
    "Preamble A": "exact posteriors per disease without borrowing (primary), and what borrowing across diseases "
    "assumes (sensitivity analyses) [sec-intro], [sec-methods]",
    "Preamble B": "estimation of response rates per disease (no borrowing, primary; borrowing as sensitivity "
    "analyses) [sec-intro]",
    "2D": "independent model: exact conjugate posteriors [sec-methods]",
    "4A": "posterior probabilities of exceeding benchmarks @tbl-exceedance; no trial decision rule was designed",
    "4B": "not applicable: no decision rule was designed",
    "5B": "not applicable: no decision rule was designed",
}
#: the answers of a report without published cohorts (the index study's counts alone)
WITHOUT_EVIDENCE: dict[str, str] = {
    "1A": "responders and patients per disease and endpoint [sec-clinical-context], [tbl-characteristics], "
    "[tbl-estimates]",
    "6B": "the cohort's counts and study metadata, in its data folder [sec-colophon]",
}

SLOT = re.compile(r"<<(\w+)>>")


def answers(variables: dict, evidence: bool = True) -> list[tuple[str, str, str]]:
    """:data:`ITEMS` with the answers of a report that has no design (in ``variables``) or no published cohorts
    (``evidence`` false: the data hold none, the same test as the report's sections) replaced."""
    own = {}
    if variables and not variables.get("priors", {}).get("design"):
        own |= WITHOUT_DESIGN
    if not evidence:
        own |= WITHOUT_EVIDENCE
    return [(item, what, own.get(item, a)) for item, what, a in ITEMS]


def _var(*keys: str) -> str:
    return "{{< var " + ".".join(keys) + " >}}"


def _number(text) -> float:
    return float(str(text).lstrip("\\<> "))


def slots(variables: dict) -> dict[str, str]:
    """The answers that name a group, a design or a prior, chosen from the results (never named here).

    - ``ppc``: the posterior predictive p-value of the hierarchical model for every group (this checklist is where
      they are reported), with the groups in which every patient responded (such a check has little power);
    - ``oc``: the design's exact type I error with its primary prior, and the largest with another prior;
    - ``sens``: the group whose posterior mean moves most across the sensitivity scenarios, with its range.
    """
    bayes, freq = variables.get("bayes", {}), variables.get("freq", {})
    out = {"ppc": "posterior predictive p-values @tbl-bayes", "oc": "exact type I error and power", "sens": ""}
    ppc = [k.removeprefix("hierarchical_") for k in bayes.get("ppc", {}) if k.startswith("hierarchical_")]
    n, events = freq.get("n", {}), freq.get("events", {})
    sized = list(group_order(g for g in ppc if f"response_{g}" in n))
    if sized:  # reported here only (the paper's text quotes none): every group's p-value
        full = [g for g in sized if events.get(f"response_{g}") == n[f"response_{g}"]]
        each = ", ".join(f"{_var('bayes', 'ppc', f'hierarchical_{g}')} for {g}" for g in sized)
        out["ppc"] = f"hierarchical model, upper-tail p = {each}" + (
            f"; little power where all patients respond ({', '.join(full)})" if full else ""
        )
    designs = variables.get("priors", {}).get("design", {})
    if designs:
        name, design = next(iter(designs.items()))
        priors = design.get("priors", {})
        others = [k for k in priors if k != "primary" and "type1" in priors[k]]
        if "primary" in priors and others:
            top = max(others, key=lambda k: _number(priors[k]["type1"]))
            out["oc"] = (
                f"exact type I error {_var('priors', 'design', name, 'priors', 'primary', 'type1')} with the primary "
                f"prior and up to {_var('priors', 'design', name, 'priors', top, 'type1')} with the others"
            )
    sens = {g: r for g, r in bayes.get("sens", {}).items() if isinstance(r, dict) and "min_estimate" in r}
    if sens:
        g = max(sens, key=lambda g: _number(sens[g]["max_estimate"]) - _number(sens[g]["min_estimate"]))
        out["sens"] = (
            f"; {g} posterior mean {_var('bayes', 'sens', g, 'min_estimate')} to "
            f"{_var('bayes', 'sens', g, 'max_estimate')}"
        )
    return out


POINTER = re.compile(r"\[((?:sec|tbl|fig)-[\w-]+)\]")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
LABEL = re.compile(r"\{#((?:tbl|fig)-[\w-]+)[\s}]")


def paper_numbers(text: str) -> dict[str, str]:
    """What each label of the expanded paper is called when rendered: 'section 2.1', 'Table 3', 'Figure 4'."""
    names: dict[str, str] = {}
    counts = {"tbl": 0, "fig": 0}
    sections: list[int] = []
    in_fence = False
    for line in text.split("---", 2)[-1].splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if in_fence:
            continue
        m = HEADING.match(line)
        if m:
            attrs = m.group(3) or ""
            if ".unnumbered" not in attrs and "{-}" not in attrs:
                level = len(m.group(1))
                sections = (sections + [0] * level)[:level]
                sections[-1] += 1
                label = re.search(r"#(sec-[\w-]+)", attrs)
                if label:
                    names[label.group(1)] = "section " + ".".join(map(str, sections))
        for label in LABEL.findall(line):
            kind = label.split("-")[0]
            if label not in names:
                counts[kind] += 1
                names[label] = f"{'Table' if kind == 'tbl' else 'Figure'} {counts[kind]}"
    return names


def answer(text: str, names: dict[str, str]) -> str:
    """Each [label] of the paper as its rendered name, linked to it: '[Table 3](index.html#tbl-x)'.

    The link works in the HTML documents; in PDF and Word ``filters/manuscript.lua`` keeps its text only.
    """

    def sub(m: re.Match) -> str:
        if m.group(1) not in names:
            raise KeyError(f"BARG checklist points at '{m.group(1)}', which the paper does not define")
        return f"[{names[m.group(1)]}](index.html#{m.group(1)})"

    return POINTER.sub(sub, text)


SUPPLEMENT_REF = re.compile(r"(,\s*)?@((?:tbl|fig)-[\w-]+)")
DEFINED = re.compile(r"\{#((?:tbl|fig)-[\w-]+)")
INCLUDED = re.compile(r"\{\{<\s*include\s+([^\s>]+)\s*>\}\}")


def defined_labels(path: Path, depth: int = 0) -> set[str]:
    """The table and figure labels a document defines, its includes read where they exist (the checklist is
    written before the supplement that includes it can be expanded)."""
    path = Path(path)
    if depth > 10 or not path.is_file():
        return set()
    text = path.read_text(encoding="utf-8")
    found = set(DEFINED.findall(text))
    for inc in INCLUDED.findall(text):
        found |= defined_labels(path.parent / inc, depth + 1)
    return found


def _only_present(text: str, present: set[str] | None) -> str:
    """``text`` without its references to supplement labels that this report lacks (a cohort without a design
    has no @fig-oc); ``None`` keeps every reference."""
    if present is None:
        return text
    return SUPPLEMENT_REF.sub(lambda m: m.group(0) if m.group(2) in present else "", text)


def checklist_table(
    names: dict[str, str], variables: dict | None = None, supplement: set[str] | None = None, evidence: bool = True
) -> str:
    filled = slots(variables or {})
    names = dict(names)
    if supplement is not None:  # paper labels of optional sections (a design, a basket trial) the report lacks
        optional = re.compile(r"(,\s*)?\[((?:tbl|fig)-[\w-]+)\]")
        drop = lambda t: optional.sub(lambda m: m.group(0) if m.group(2) in names else "", t)  # noqa: E731
    else:
        drop = lambda t: t  # noqa: E731
    df = pd.DataFrame(
        [
            {
                "Item": item,
                "Guideline": what,
                "Where and what (paper unless marked)": answer(
                    drop(_only_present(SLOT.sub(lambda m: filled[m.group(1)], a), supplement)), names
                ),
            }
            for item, what, a in answers(variables or {}, evidence)
        ]
    )
    return md_table(
        df,
        "Bayesian Analysis Reporting Guidelines (BARG) checklist [@kruschke2021]. Sections, tables and figures are "
        "those of the paper; tables marked S are in this supplement. Numbers are the pipeline's results.",
        CHECKLIST_LABEL,
        align="lll",
    )


def write(manuscript: Path) -> Path:
    """Write the checklist for the paper as rendered now (its labels resolved from the expanded index.qmd)."""
    manuscript = Path(manuscript)
    src = manuscript / "index.qmd"
    variables = yaml.safe_load((manuscript / "_variables.yml").read_text(encoding="utf-8")) or {}
    names = paper_numbers(expand(src.read_text(encoding="utf-8"), manuscript, variables, src))
    path = manuscript / CHECKLIST_FILE
    supplement = defined_labels(manuscript / "supplement.qmd")
    from analysis.data import load_cohorts

    write_text(path, checklist_table(names, variables, supplement, evidence=bool(len(load_cohorts()))))
    return path
