"""Meta-analysis of published cohorts: exact binomial-normal model, DL as sensitivity.

Cohorts are pooled per scenario, disease and *endpoint class*
(``endpoint_class`` of the data file): different endpoints are never pooled
together (e.g. SSc event-free survival is not pooled with an author-defined
'deep remission').  A stratum with fewer than ``min_studies`` cohorts
(:class:`analysis.settings.MetaAnalysis`, default 2) is not a meta-analysis:
it gets one row with the study's own proportion and exact Clopper-Pearson
interval, labelled ``single-study`` (role ``single-study``).

Primary analysis (method ``binomial-normal-ml``, role ``primary``): the exact
binomial-normal random-effects model ``y_i ~ Bin(n_i, expit(theta_i))``,
``theta_i ~ N(mu, tau^2)``, fitted by maximum likelihood on the marginal
likelihood (numerical integration over the study effects, no continuity
correction; :mod:`analysis.frequentist.binomial_normal`), with profile-likelihood
intervals for ``mu`` and ``tau``.  The pooled rate is ``expit(mu)``, the rate
of a typical (median) study; ``I^2`` is computed as in metafor's
``rma.glmm``.  A stratum in which every cohort has 100% response has no
finite ML estimate: ``mu = +inf`` (rate 1) with a one-sided profile bound.

Sensitivity analysis (method ``random-effects-dl``, role ``sensitivity``):
DerSimonian & Laird (1986) via statsmodels' ``combine_effects`` on
``logit((x + c) / (n + 2c))`` with variance ``1/(x + c) + 1/(n - x + c)``,
``c`` added to every study.  statsmodels 0.15 does not truncate a negative
moment estimate of tau2 at zero (which narrows the interval wrongly);
:func:`pool_dl` does.  This is the analysis the primary one replaces: with
0.5 added to every cell, 100%-response studies get a logit variance above 2
and are pulled towards 0.5, and with 2-4 studies the moment estimate of tau2
is usually 0.

Which rows enter is decided by :func:`select`: never the systematic-review
rows (they pool the primary studies), and at most one row per overlap group
(the one with the most patients; ties go to the first row in the file).  The
systematic review's pooled DORIS count is shown on its own, as a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import binomtest, norm
from statsmodels.stats.meta_analysis import combine_effects

from analysis.data import group_order
from analysis.frequentist import binomial_normal
from analysis.results import META_COLUMNS
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


def pool_dl(events, n, level: float = 0.95, settings: MetaAnalysis = SETTINGS.meta) -> dict:
    """DerSimonian-Laird pooling of corrected logits (sensitivity analysis only)."""
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
        mu=float(row["eff"]),
        mu_lower=float(row["ci_low"]),
        mu_upper=float(row["ci_upp"]),
        se_mu=float(row["sd_eff"]),
        estimate=float(expit(row["eff"])),
        lower=float(expit(row["ci_low"])),
        upper=float(expit(row["ci_upp"])),
        tau2=tau2,
        i2=max(0.0, float(res.i2)),
        note=note,
    )


pool = pool_dl  # the former name


@lru_cache(maxsize=64)
def _fit(events: tuple[int, ...], n: tuple[int, ...], level: float, tau_max: float):
    return binomial_normal.fit(events, n, level=level, tau_max=tau_max)


def pool_exact(events, n, level: float = 0.95, settings: MetaAnalysis = SETTINGS.meta) -> dict:
    """Exact binomial-normal ML pooling; estimate and profile-likelihood interval of expit(mu)."""
    f = _fit(tuple(int(x) for x in events), tuple(int(x) for x in n), float(level), float(settings.tau_max))
    pred_lower, pred_upper = f.pred_rate
    note = "primary: exact binomial-normal random-effects model, ML, profile-likelihood intervals"
    if f.status == "monotone":
        note += "; pooled rate = expit(mu-hat) with mu-hat = +/-inf (no finite estimate)"
    elif f.k >= 2:
        note += "; prediction interval Wald-type as metafor's predict(), ignoring the uncertainty in tau"
    return dict(
        k=f.k,
        estimate=f.rate,
        lower=f.rate_lower,
        upper=f.rate_upper,
        mu=f.mu,
        mu_lower=f.mu_lower,
        mu_upper=f.mu_upper,
        se_mu=f.se_mu,
        tau=f.tau,
        tau_lower=f.tau_lower,
        tau_upper=f.tau_upper,
        tau2=f.tau2,
        i2=f.i2,
        pred_lower=pred_lower,
        pred_upper=pred_upper,
        status=f.status,
        note="; ".join([note, *f.notes]),
    )


def single_study(events: int, n: int, level: float = 0.95) -> dict:
    """One cohort: its own proportion and exact (Clopper-Pearson) interval, not a meta-analysis."""
    ci = binomtest(int(events), int(n)).proportion_ci(confidence_level=level, method="exact")
    return dict(k=1, estimate=events / n, lower=float(ci.low), upper=float(ci.high))


def meta_table(cohorts: pd.DataFrame, level: float = 0.95, settings: MetaAnalysis = SETTINGS.meta) -> pd.DataFrame:
    """Every scenario x disease x endpoint class: primary exact fit, DL sensitivity, or the single study.

    A (scenario, disease) with no eligible cohort gets one row with ``k = 0``
    and role ``none``.
    """
    rows = []
    for scenario in SCENARIOS:
        chosen = select(cohorts, scenario)
        for disease in group_order(cohorts["disease"]):
            sub = chosen[chosen["disease"] == disease]
            base = dict(
                analysis="meta-analysis", endpoint="response", group=disease, scenario=scenario.name, level=level
            )
            if sub.empty:
                rows.append(
                    dict(
                        base,
                        method="none",
                        role="none",
                        endpoint_class="",
                        n=0,
                        events=0,
                        k=0,
                        studies="",
                        note="no eligible cohort",
                    )
                )
                continue
            for endpoint_class, es in sub.groupby("endpoint_class", sort=False):
                stratum = dict(
                    base,
                    endpoint_class=endpoint_class,
                    n=int(es["n_treated"].sum()),
                    events=int(es["n_responders"].sum()),
                    studies=";".join(es["study_id"]),
                )
                if len(es) < settings.min_studies:
                    r = es.iloc[0]
                    res = single_study(r["n_responders"], r["n_treated"], level)
                    rows.append(
                        dict(
                            stratum,
                            **res,
                            method="single-study-clopper-pearson",
                            role="single-study",
                            status="single_study",
                            note=(
                                f"one cohort with endpoint class '{endpoint_class}': not a meta-analysis, not pooled; "
                                "the cohort's own proportion with exact Clopper-Pearson interval"
                            ),
                        )
                    )
                    continue
                events, n = es["n_responders"].to_numpy(), es["n_treated"].to_numpy()
                rows.append(
                    dict(stratum, **pool_exact(events, n, level, settings), method=settings.primary, role="primary")
                )
                dl = pool_dl(events, n, level, settings)
                dl_note = dl.pop("note")
                rows.append(
                    dict(
                        stratum,
                        **dl,
                        method=f"random-effects-{settings.method_re}",
                        role="sensitivity",
                        status="ok",
                        continuity=settings.continuity,
                        tau=float(np.sqrt(dl["tau2"])),
                        note=f"sensitivity analysis: {dl_note}; continuity correction {settings.continuity:g} "
                        "added to every cell",
                    )
                )
    return pd.DataFrame(rows).reindex(columns=list(META_COLUMNS))
