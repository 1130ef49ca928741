"""The supplement's generated sections: each analysis's tables and figures, present only when the report has it.

``manuscript/supplement.qmd`` includes ``_sections/supplement-*.md``; :func:`sections` writes each one's Markdown,
empty for an analysis the cohort does not have: no published cohorts (no meta-analysis, no evidence flow, no
PRISMA checklist), no MAP prior, no single-arm design, no basket design for its groups.  A table is included
relative to the section file (``../tables/NAME.md``), a figure relative to the document (``figures/NAME.png``).
"""

from __future__ import annotations

from analysis.publish.prose import Facts, get

SUPPLEMENT_META = """# Published cohorts {.unnumbered}

@tbl-meta lists every published cohort per disease and endpoint class, the primary analysis (an exact
binomial-normal random-effects model) and its DerSimonian-Laird sensitivity analysis.

::: {.landscape width="29.7cm" height="21cm"}

{{< include ../tables/meta.md >}}

:::
"""

SUPPLEMENT_PRIORS = """# Meta-analytic-predictive priors {.unnumbered}

@tbl-priors and @fig-map show the MAP priors of the paper's section on priors for a follow-up trial,
and @tbl-priors-full gives every effective sample size: of the fitted mixture and of the exact MAP
distribution, before and after robustification.

{{< include ../tables/priors.md >}}

![MAP priors per disease: the MCMC draws of the predictive response rate, the Beta mixture fitted
to them, and the robustified mixture.](figures/map-priors.png){#fig-map fig-alt="One panel per prior, each with a histogram of MAP prior draws, the fitted Beta mixture density following it, and a robust mixture with a heavier left tail."}

{{< include ../tables/priors-full.md >}}
"""

SUPPLEMENT_FLOW = """# Evidence base: flow of the records {.unnumbered}

@tbl-flow counts every record behind the analysis, from the data files, with the reason for every
exclusion. No systematic search was run (see the paper's Methods).

{{< include ../tables/flow.md >}}
"""

SUPPLEMENT_PRISMA = """# PRISMA checklist {.unnumbered}

Beside the BARG checklist (@tbl-barg), @tbl-prisma answers the PRISMA 2020 checklist for the external
evidence, which was not gathered by a systematic review.

{{< include ../tables/prisma.md >}}
"""


def sections(v: dict, f: Facts) -> dict[str, str]:
    """Every generated section of the supplement, by file name (empty for an analysis the report lacks)."""
    return {
        "supplement-meta": SUPPLEMENT_META if f.evidence else "",
        "supplement-priors": SUPPLEMENT_PRIORS if get(v, "priors.map.primary") is not None else "",
        "supplement-design": supplement_design(v, f),
        "supplement-basket": SUPPLEMENT_BASKET if f.basket else "",
        "supplement-flow": SUPPLEMENT_FLOW if f.evidence else "",
        "supplement-prisma": SUPPLEMENT_PRISMA if f.evidence else "",
    }


SUPPLEMENT_BASKET = """# Follow-up basket trial {.unnumbered}

@tbl-basket-methods states the priors of every borrowing method of the follow-up basket trial, as
run. @tbl-basket gives its operating characteristics under every scenario and borrowing method at
thresholds calibrated to equal type I error (@tbl-basket-calibration), @tbl-basket-nominal the same
at the design file's nominal thresholds, and @tbl-basket-lone the power of a disease that responds
alone.

{{< include ../tables/basket-methods.md >}}

{{< include ../tables/basket.md >}}

{{< include ../tables/basket-calibration.md >}}

{{< include ../tables/basket-nominal.md >}}

{{< include ../tables/basket-lone.md >}}
"""


def supplement_design(v: dict, f: Facts) -> str:
    """The supplement's section on the single-arm designs of the spec, with their figures (empty without one)."""
    if not f.designs:
        return ""
    out = ["# Single-arm follow-up design {.unnumbered}"]
    for i, (d, g) in enumerate(f.designs.items()):
        tag = "" if i == 0 else f"-{d}"
        k = f"priors.design.{d}"
        calibrated = i == 0 and get(v, k + ".calibration") is not None  # the tables show the first design's
        grid = i == 0 and get(v, k + ".sensitivity") is not None
        interim = ",\nwithout and with the interim futility rule" if str(get(v, k + ".interim_n") or "").strip() else ""
        out.append(
            f"@fig-oc{tag} shows the probability of success of the single-arm {g} design under each prior"
            + (", and @tbl-design-calibration compares the priors at the same type I error." if calibrated else ".")
        )
        out.append(
            f"![Probability of success of the single-arm {g} design by true {f.rate_of(g)} under each prior{interim}; "
            f'the dashed line marks the null rate.](figures/oc-{d}.png){{#fig-oc{tag} fig-alt="Operating '
            "characteristic curves of the design, one per prior, rising from 0 to 1 with the true rate; a dashed line "
            'marks the null rate."}'
        )
        if calibrated:
            out.append("{{< include ../tables/design-calibration.md >}}")
        out.append(
            f"@fig-prior-posterior{tag} shows the posteriors for two outcomes of the trial"
            + (
                ", and\n@tbl-design-sensitivity gives the exact operating characteristics over a range of null rates "
                "and\nrobust weights of the primary prior."
                if grid
                else "."
            )
        )
        out.append(
            f"![Prior and posterior densities of the {g} {f.rate_of(g)} for two outcomes of the follow-up trial,\n"
            f'under each prior.](figures/prior-posterior-{d}.png){{#fig-prior-posterior{tag} fig-alt="Panels, one '
            "per prior, each showing the prior density and posterior densities for a null outcome and for an "
            'outcome at the success boundary."}'
        )
        if grid:
            out.append("{{< include ../tables/design-sensitivity.md >}}")
    return "\n\n".join(out)
