"""Random-effects meta-analysis of published cohorts on the logit scale.

Each cohort contributes ``logit((x + c) / (n + 2c))`` with variance
``1/(x + c) + 1/(n - x + c)``, where ``c`` is the continuity correction of
:class:`analysis.settings.MetaAnalysis` (added to every study, so that studies
with 100% response get a finite logit).  Studies are combined with
statsmodels' ``combine_effects`` (DerSimonian & Laird 1986 by default) and
back-transformed to the probability scale.  statsmodels 0.15 does not
truncate a negative moment estimate of tau2 at zero (which narrows the
interval wrongly); :func:`pool` does.

Which rows enter is decided by :func:`select`: never the systematic-review
rows (they pool the primary studies), and at most one row per overlap group
(the one with the most patients; ties go to the first row in the file).  The
systematic review's pooled DORIS count is shown on its own, as a check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm
from statsmodels.stats.meta_analysis import combine_effects

from analysis.data import group_order
from analysis.settings import SETTINGS, MetaAnalysis


@dataclass(frozen=True)
class Scenario:
    """A rule for which cohorts enter a meta-analysis."""

    name: str
    label: str
    exclude_endpoint_classes: tuple[str, ...] = ()
    products: tuple[str, ...] | None = None
    pooled_only: bool = False


WEAK_ENDPOINTS = ("weak", "nonstandard", "event_free")
SCENARIOS = (
    Scenario("primary", "All primary cohorts"),
    Scenario("no_weak_endpoints", "Without weak or non-standard endpoints", exclude_endpoint_classes=WEAK_ENDPOINTS),
    Scenario("cd19_autologous", "Autologous CD19 products only", products=("cd19_autologous",)),
    Scenario("strict", "Both restrictions", exclude_endpoint_classes=WEAK_ENDPOINTS, products=("cd19_autologous",)),
    Scenario(
        "systematic_review",
        "Systematic review, DORIS (a check: overlaps the cohorts above)",
        exclude_endpoint_classes=(*WEAK_ENDPOINTS, "low_activity"),
        pooled_only=True,
    ),
)


def select(cohorts: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Rows eligible under ``scenario``, at most one per overlap group."""
    pooled = cohorts["overlap_group"] == "POOLED"
    df = cohorts[pooled] if scenario.pooled_only else cohorts[~pooled]
    df = df[~df["endpoint_class"].isin(scenario.exclude_endpoint_classes)]
    if scenario.products is not None:
        df = df[df["product_class"].isin(scenario.products)]
    df = df.assign(_order=np.arange(len(df)))
    grouped = df[df["overlap_group"] != ""].sort_values(["n_treated", "_order"], ascending=[False, True])
    keep = grouped if scenario.pooled_only else grouped.drop_duplicates("overlap_group")
    out = pd.concat([keep, df[df["overlap_group"] == ""]]).sort_values("_order")
    return out.drop(columns="_order")


def logit_effects(events: np.ndarray, n: np.ndarray, continuity: float) -> tuple[np.ndarray, np.ndarray]:
    """Logit of the corrected proportion and its delta-method variance."""
    x = np.asarray(events, float) + continuity
    f = np.asarray(n, float) - np.asarray(events, float) + continuity
    return np.log(x / f), 1.0 / x + 1.0 / f


def pool(events, n, level: float = 0.95, settings: MetaAnalysis = SETTINGS.meta) -> dict:
    """Pool cohorts; returns estimate and interval on the probability scale."""
    events, n = np.asarray(events), np.asarray(n)
    k = len(n)
    if k == 0:
        return dict(k=0, estimate=np.nan, lower=np.nan, upper=np.nan, tau2=np.nan, i2=np.nan, note="no eligible cohort")
    eff, var = logit_effects(events, n, settings.continuity)
    if k == 1:
        z = norm.ppf(0.5 + level / 2)
        se = np.sqrt(var[0])
        return dict(
            k=1,
            estimate=float(expit(eff[0])),
            lower=float(expit(eff[0] - z * se)),
            upper=float(expit(eff[0] + z * se)),
            tau2=np.nan,
            i2=np.nan,
            note="single cohort: no pooling, between-study variance not estimable",
        )
    res = combine_effects(eff, var, method_re=settings.method_re, alpha=1 - level)
    frame = res.summary_frame(alpha=1 - level)
    tau2 = float(res.tau2)
    note = (
        "random effects (DerSimonian-Laird)" if settings.method_re == "dl" else f"random effects ({settings.method_re})"
    )
    if tau2 < 0:
        # statsmodels 0.15 returns the untruncated moment estimate; a negative
        # between-study variance is 0 by definition, and the random-effects
        # estimate with tau2 = 0 is the fixed-effect one.
        tau2, row = 0.0, frame.loc["fixed effect"]
        note += "; moment estimate of tau2 was negative and is truncated at 0"
    else:
        row = frame.loc["random effect"]
    if k < 5:
        note += f"; only {k} cohorts, so the between-study variance is poorly estimated"
    return dict(
        k=k,
        estimate=float(expit(row["eff"])),
        lower=float(expit(row["ci_low"])),
        upper=float(expit(row["ci_upp"])),
        tau2=tau2,
        i2=max(0.0, float(res.i2)),
        note=note,
    )


def meta_table(cohorts: pd.DataFrame, level: float = 0.95, settings: MetaAnalysis = SETTINGS.meta) -> pd.DataFrame:
    """Every disease under every scenario."""
    rows = []
    for scenario in SCENARIOS:
        chosen = select(cohorts, scenario)
        for disease in group_order(cohorts["disease"]):
            sub = chosen[chosen["disease"] == disease]
            res = pool(sub["n_responders"], sub["n_treated"], level, settings)
            rows.append(
                dict(
                    analysis="meta-analysis",
                    method=f"random-effects-{settings.method_re}",
                    endpoint="response",
                    group=disease,
                    scenario=scenario.name,
                    n=int(sub["n_treated"].sum()),
                    events=int(sub["n_responders"].sum()),
                    estimate=res["estimate"],
                    lower=res["lower"],
                    upper=res["upper"],
                    level=level,
                    k=res["k"],
                    tau2=res["tau2"],
                    i2=res["i2"],
                    studies=";".join(sub["study_id"]),
                    continuity=settings.continuity,
                    note=res["note"],
                )
            )
    return pd.DataFrame(rows)
