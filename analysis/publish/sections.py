"""Each manuscript section declares its outputs once: tables, figures and quoted numbers.

The publish step (:mod:`analysis.publish.build`) writes exactly what is
declared here; the Makefile's file lists are checked against this declaration
by a test, so a new table is one line here plus the prose that includes it.
Tables are ``manuscript/tables/<name>.md``, figures
``manuscript/figures/<name>.png``, variables the ``<key>`` group of
``manuscript/_variables.yml``.  ``copied`` figures are drawn by a pipeline
step (the priors step) and copied into the manuscript by make.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.data import load_characteristics, load_cohorts, load_index
from analysis.publish import (
    basket,
    bayes,
    claims,
    colophon,
    context,
    evidence,
    figures,
    frequentist,
    priors,
    statements,
)
from analysis.results import Results
from analysis.settings import NEW_GROUP, PRIORS_SPEC, SETTINGS


@dataclass(frozen=True)
class Section:
    name: str
    tables: dict[str, Callable[[Results], str]] = field(default_factory=dict)
    figures: dict[str, Callable[[Results], object]] = field(default_factory=dict)  # -> a matplotlib Figure
    copied: tuple[str, ...] = ()
    variables: tuple[str, Callable[[Results], dict]] | None = None


def _priors_figures(spec_path: Path = PRIORS_SPEC) -> tuple[str, ...]:
    """The priors step's figures the manuscript shows: the MAP priors, and each one-sample design's OC curves and
    prior-posterior panels, named after the designs of the paper's priors spec (``oc-NAME``, ``prior-posterior-NAME``,
    as :func:`analysis.publish.figures.priors_figures` saves them)."""
    from analysis.priors.spec import load_spec

    designs = [d["name"] for d in load_spec(spec_path)["design"] if d["type"] == "one-sample"]
    return ("map-priors", *(f"{kind}-{name}" for name in designs for kind in ("oc", "prior-posterior")))


def _build_times(r: Results) -> dict:
    from analysis.timing import build_times

    return build_times(r.root)


def _flow() -> dict:
    return evidence.flow(load_cohorts(), load_characteristics())


def _efficacy(r: Results) -> pd.DataFrame:
    est = r.estimates
    return est[est["analysis"].isin(["frequentist", "bayes"])]


def _forest_frequentist(r: Results):
    est = _efficacy(r)
    return figures.forest(
        est[est["analysis"] == "frequentist"],
        ["clopper-pearson", "wilson", "jeffreys"],
        benchmark=SETTINGS.benchmarks.default,
    )


def _forest_bayes(r: Results):
    est = _efficacy(r)
    bayes_methods = [
        m for m in bayes.bayes_methods(est.loc[est["analysis"] == "bayes", "method"]) if m != "bayes-pooled"
    ]
    return figures.forest(
        est[(est["endpoint"] == "response") & (est["group"] != NEW_GROUP)],
        ["clopper-pearson", *bayes_methods],
        benchmark=SETTINGS.benchmarks.default,
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        "context",
        tables={"characteristics": lambda r: context.characteristics_table(load_characteristics(), load_index())},
        variables=("context", lambda r: context.context_variables(load_characteristics(), load_index())),
    ),
    Section(
        "evidence",
        tables={
            "flow": lambda r: evidence.flow_table(_flow()),
            "endpoints": lambda r: evidence.definitions_table(evidence.load_definitions()),
            "prisma": lambda r: evidence.prisma_table(),
        },
        variables=("evidence", lambda r: evidence.evidence_variables(_flow(), load_cohorts())),
    ),
    Section(
        "frequentist",
        tables={
            "estimates": lambda r: frequentist.estimates_table(r.estimates),
            "safety": lambda r: frequentist.safety_table(r.estimates),
            "bounds": lambda r: frequentist.bounds_table(r.estimates, frequentist.endpoint_definitions()),
            "meta": lambda r: frequentist.meta_table_md(r.meta),
        },
        figures={"forest-frequentist": _forest_frequentist},
        variables=("freq", lambda r: frequentist.frequentist_variables(r.estimates, r.tests, r.meta)),
    ),
    Section(
        "bayes",
        tables={
            "bayes": lambda r: bayes.bayes_table(
                r.estimates, frequentist.one_endpoint(frequentist.endpoint_definitions())
            ),
            "exceedance": lambda r: bayes.exceedance_table(r.exceedance),
            "diagnostics": lambda r: bayes.diagnostics_table(
                r.diagnostics, r.sensitivity_diagnostics, bayes.fit_settings(r.fit_records)["gates"]
            ),
            "sensitivity": lambda r: bayes.sensitivity_table(r.sensitivity),
            "hyperparameters": lambda r: bayes.hyperparameter_table(r.hyperparameters),
        },
        figures={
            "forest-bayes": _forest_bayes,
            "shrinkage": lambda r: figures.shrinkage(_efficacy(r)),
            "prior-predictive": lambda r: figures.prior_predictive(r.prior_predictive),
            "sensitivity": lambda r: figures.sensitivity(r.sensitivity),
            "hyperparameters": lambda r: figures.hyperparameters(
                r.hyperparameters, {m: r.posterior(m) for m in dict.fromkeys(r.hyperparameters["model"])}
            ),
        },
        variables=(
            "bayes",
            lambda r: (
                bayes.bayes_variables(
                    r.estimates,
                    r.exceedance,
                    pd.concat([r.diagnostics, r.sensitivity_diagnostics]),
                    r.sensitivity,
                    r.ppc,
                    r.prior_predictive,
                    r.fit_records,
                )
                | bayes.hyperparameter_variables(r.hyperparameters, r.exchangeability)
                | bayes.check_variables(r.crosscheck, r.lodo)
            ),
        ),
    ),
    Section(
        "priors",
        tables={
            "priors": lambda r: priors.priors_table(r.priors),
            "priors-full": lambda r: priors.priors_table(r.priors, full=True),
            "design": lambda r: priors.design_table(r.designs),
            "design-sensitivity": lambda r: priors.design_sensitivity_table(r.designs),
            "design-calibration": lambda r: priors.design_calibration_table(r.designs),
        },
        copied=_priors_figures(),
        variables=("priors", lambda r: priors.priors_variables(r.priors, r.designs)),
    ),
    Section(
        "basket",
        tables={
            "basket": lambda r: basket.basket_table(r.basket_oc, r.basket_design),
            "basket-nominal": lambda r: basket.basket_table(r.basket_oc, r.basket_design, "nominal"),
            "basket-calibration": lambda r: basket.basket_calibration_table(r.basket_calibration, r.basket_design),
            "basket-lone": lambda r: basket.basket_lone_table(r.basket_oc, r.basket_design),
            "basket-methods": lambda r: basket.basket_methods_table(r.basket_design),
        },
        figures={"basket": lambda r: figures.basket(r.basket_oc, r.basket_design)},
        variables=(
            "basket",
            lambda r: basket.basket_variables(r.basket_oc, r.basket_design, r.basket_calibration),
        ),
    ),
    Section("claims", variables=("claims", claims.claims_variables)),
    Section(
        "declarations",
        tables={
            "statements": lambda r: statements.statements_md(),
            "response": lambda r: statements.response_md(form=statements.journal_form()),
        },
    ),
    Section("colophon", tables={"colophon": lambda r: colophon.colophon(r.provenance, _build_times(r))}),
)


def table_files() -> list[str]:
    return [f"manuscript/tables/{name}.md" for s in SECTIONS for name in s.tables]


def figure_files() -> list[str]:
    return [f"manuscript/figures/{name}.png" for s in SECTIONS for name in s.figures]


def copied_figure_files() -> list[str]:
    return [f"manuscript/figures/{name}.png" for s in SECTIONS for name in s.copied]
