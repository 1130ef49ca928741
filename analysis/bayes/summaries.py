"""Posterior summaries of a fitted model: the rows of the results files.

- :func:`model_rows`: posterior mean and equal-tailed interval of each
  group's rate and of a new group's rate, and the predictive probability that
  the next patient of each group responds (results contract);
- :func:`exceedance_rows`: P(p_g > benchmark | data);
- :func:`ppc_rows`: posterior predictive checks of each group's count;
- :func:`prior_predictive_rows`: what the priors imply for one group's rate.

Closed-form models are summarised exactly (their draws serve plots only);
the others from their posterior draws.
"""

from __future__ import annotations

import arviz as az
import numpy as np
from scipy import stats

from analysis.bayes.models import Model
from analysis.bayes.units import Units
from analysis.settings import LEVEL, NEW_GROUP, SETTINGS

INTERVAL = "equal-tailed credible"


def summarise_draws(draws: np.ndarray, level: float = LEVEL) -> dict:
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": float(np.mean(draws)), "lower": float(lo), "upper": float(hi)}


def model_rows(
    spec: Model, units: Units, idata: az.InferenceData, exact: dict | None, scenario: str = "default"
) -> list[dict]:
    rows = []
    base = dict(
        analysis="bayes", method=spec.method, endpoint="response", scenario=scenario, level=LEVEL, interval=INTERVAL
    )
    p = idata.posterior["p"]
    for g, x, m in zip(units.labels, units.events, units.n):
        s = exact[g] if exact else summarise_draws(p.sel(unit=g).values.ravel())
        note = "exact Beta posterior" if exact else ""
        rows.append(
            {
                **base,
                "group": g,
                "n": m,
                "events": x,
                "estimate": s["estimate"],
                "lower": s["lower"],
                "upper": s["upper"],
                "note": note,
            }
        )
        rows.append(
            {
                **base,
                "analysis": "bayes-predictive",
                "group": g,
                "n": m,
                "events": x,
                "estimate": s["estimate"],
                "lower": np.nan,
                "upper": np.nan,
                "interval": "",
                "note": "probability that the next patient with this disease responds",
            }
        )
    if "p_new" in idata.posterior:
        s = summarise_draws(idata.posterior["p_new"].values.ravel())
        rows.append(
            {
                **base,
                "group": NEW_GROUP,
                "n": sum(units.n),
                "events": sum(units.events),
                **s,
                "note": "predictive response probability for a new, exchangeable disease",
            }
        )
    return rows


def exceedance_rows(
    spec: Model, units: Units, idata: az.InferenceData, exact: dict | None, benchmarks: tuple[float, ...]
) -> list[dict]:
    rows = []
    groups = list(units.labels) + ([NEW_GROUP] if "p_new" in idata.posterior else [])
    for g in groups:
        draws = (idata.posterior["p_new"] if g == NEW_GROUP else idata.posterior["p"].sel(unit=g)).values.ravel()
        for b in benchmarks:
            if exact and g in exact:
                prob = float(stats.beta.sf(b, exact[g]["a"], exact[g]["b"]))
            else:
                prob = float(np.mean(draws > b))
            rows.append(dict(model=spec.name, method=spec.method, group=g, benchmark=b, probability=prob))
    return rows


def ppc_rows(spec: Model, units: Units, idata: az.InferenceData, seed: int) -> list[dict]:
    """Posterior predictive check of each unit's count: P(y_rep >= y_obs) and P(y_rep <= y_obs)."""
    rng = np.random.default_rng([seed, 3])
    rows = []
    for g, x, m in zip(units.labels, units.events, units.n):
        p = idata.posterior["p"].sel(unit=g).values.ravel()
        yrep = rng.binomial(m, p)
        rows.append(
            dict(
                model=spec.name,
                group=g,
                n=m,
                observed=x,
                mean_replicated=float(yrep.mean()),
                p_upper=float(np.mean(yrep >= x)),
                p_lower=float(np.mean(yrep <= x)),
                prob_all_respond=float(np.mean(yrep == m)),
            )
        )
    return rows


def prior_predictive(spec: Model, size: int = 20000, seed: int = SETTINGS.mcmc.seed) -> dict:
    """Draws of one disease's response probability implied by the priors (generator ``[seed, 4]``)."""
    return {"p_d": spec.prior_predictive(size, np.random.default_rng([seed, 4]))}


def prior_predictive_rows(specs: dict[str, Model]) -> list[dict]:
    rows = []
    for name, spec in specs.items():
        d = prior_predictive(spec)["p_d"]
        q = np.quantile(d, [0.025, 0.1, 0.5, 0.9, 0.975])
        rows.append(
            dict(
                model=name,
                quantity="p_d",
                mean=float(d.mean()),
                q025=q[0],
                q10=q[1],
                q50=q[2],
                q90=q[3],
                q975=q[4],
                prob_above_0_9=float(np.mean(d > 0.9)),
                prob_below_0_1=float(np.mean(d < 0.1)),
            )
        )
    return rows
