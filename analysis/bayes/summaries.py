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

from dataclasses import replace

import arviz as az
import numpy as np
from scipy import stats

from analysis.bayes.models import Model
from analysis.bayes.units import Units
from analysis.settings import LEVEL, NEW_GROUP, SETTINGS

INTERVAL = "equal-tailed credible"


def summarise_draws(draws, level: float = LEVEL) -> dict:
    """Posterior mean, median and equal-tailed interval of ``draws``, with their Monte Carlo standard errors.

    ``draws`` with ``chain`` and ``draw`` dimensions (an xarray DataArray) get MCSEs from ArviZ
    (Vehtari et al. 2021: ``mcse`` of the mean, of the median and of each interval limit) and the
    bulk ESS; a flat array gets the point values only (MCSE ``nan``).
    """
    flat = np.asarray(draws).ravel()
    lo, med, hi = np.quantile(flat, [(1 - level) / 2, 0.5, (1 + level) / 2])
    out = {"estimate": float(np.mean(flat)), "lower": float(lo), "upper": float(hi), "median": float(med)}
    mc = {"mcse": np.nan, "mcse_median": np.nan, "mcse_lower": np.nan, "mcse_upper": np.nan, "ess": np.nan}
    if hasattr(draws, "dims") and {"chain", "draw"} <= set(draws.dims):
        ds = draws.to_dataset(name="x")
        mc = {
            "mcse": float(az.mcse(ds, method="mean")["x"]),
            "mcse_median": float(az.mcse(ds, method="median")["x"]),
            "mcse_lower": float(az.mcse(ds, method="quantile", prob=(1 - level) / 2)["x"]),
            "mcse_upper": float(az.mcse(ds, method="quantile", prob=(1 + level) / 2)["x"]),
            "ess": float(az.ess(ds)["x"]),
        }
    return {**out, **mc}


def exact_summary(s: dict) -> dict:
    """An exact posterior's summary in the same shape (MCSE 0: nothing is simulated)."""
    from scipy import stats as st

    median = float(st.beta.ppf(0.5, s["a"], s["b"])) if "a" in s else np.nan
    return {
        "estimate": s["estimate"],
        "lower": s["lower"],
        "upper": s["upper"],
        "median": median,
        **dict.fromkeys(("mcse", "mcse_median", "mcse_lower", "mcse_upper"), 0.0),
        "ess": np.inf,
    }


def model_rows(
    spec: Model, units: Units, idata: az.InferenceData, exact: dict | None, scenario: str = "default"
) -> list[dict]:
    rows = []
    base = dict(
        analysis="bayes", method=spec.method, endpoint="response", scenario=scenario, level=LEVEL, interval=INTERVAL
    )
    p = idata.posterior["p"]
    for g, x, m in zip(units.labels, units.events, units.n):
        s = exact_summary(exact[g]) if exact else summarise_draws(p.sel(unit=g))
        note = "exact Beta posterior" if exact else ""
        rows.append({**base, "group": g, "n": m, "events": x, **s, "note": note})
        rows.append(
            {
                **base,
                "analysis": "bayes-predictive",
                "group": g,
                "n": m,
                "events": x,
                "estimate": s["estimate"],
                "mcse": s["mcse"],
                "lower": np.nan,
                "upper": np.nan,
                "interval": "",
                "note": "probability that the next patient with this disease responds",
            }
        )
    if "p_new" in idata.posterior:
        s = summarise_draws(idata.posterior["p_new"])
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
        da = idata.posterior["p_new"] if g == NEW_GROUP else idata.posterior["p"].sel(unit=g)
        draws = da.values.ravel()
        for b in benchmarks:
            if exact and g in exact:
                prob, mcse = float(stats.beta.sf(b, exact[g]["a"], exact[g]["b"])), 0.0
            else:
                prob = float(np.mean(draws > b))
                above = (da > b).astype(float).to_dataset(name="x")
                mcse = float(az.mcse(above, method="mean")["x"]) if 0.0 < prob < 1.0 else 0.0
            rows.append(dict(model=spec.name, method=spec.method, group=g, benchmark=b, probability=prob, mcse=mcse))
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


def _prior_summary(prior) -> dict:
    """Mean, sd and quantiles of a prior, exactly (its scipy distribution, :attr:`Prior.frozen`)."""
    dist = prior.frozen
    q = dist.ppf([0.025, 0.5, 0.975])
    mean, sd = dist.mean(), dist.std()
    return {"mean": float(mean), "sd": float(sd), "q025": q[0], "q50": q[1], "q975": q[2]}


def hyperparameter_rows(spec: Model, idata: az.InferenceData) -> list[dict]:
    """Prior against posterior for each hyperparameter with a prior (mu, tau, ...): how much the data moved it.

    ``sd_ratio`` is posterior sd / prior sd; close to 1 means the data say little and the prior decides.
    """
    rows = []
    for name, prior in spec.priors.items():
        if name not in idata.posterior or set(idata.posterior[name].dims) != {"chain", "draw"}:
            continue  # only scalar hyperparameters (a conjugate model's p is per group)
        pr = _prior_summary(prior)
        da = idata.posterior[name]
        post = summarise_draws(da)
        flat = da.values.ravel()
        q = np.quantile(flat, [0.025, 0.5, 0.975])
        sd = float(np.std(flat))
        rows.append(dict(model=spec.name, parameter=name, source="prior", distribution=repr(prior), **pr, mcse=0.0))
        rows.append(
            dict(
                model=spec.name,
                parameter=name,
                source="posterior",
                distribution="",
                mean=post["estimate"],
                sd=sd,
                q025=q[0],
                q50=q[1],
                q975=q[2],
                mcse=post["mcse"],
                sd_ratio=sd / pr["sd"] if np.isfinite(pr["sd"]) and pr["sd"] > 0 else np.nan,
            )
        )
    return rows


def exchangeability_rows(spec: Model, units: Units, idata: az.InferenceData) -> list[dict]:
    """EXNEX: prior and posterior probability that each group is exchangeable with the others.

    The posterior probability is the posterior mean of each group's full-conditional probability of
    exchangeability (``pi_ex``, the indicator summed out: a Rao-Blackwellised estimate).
    """
    if "pi_ex" not in idata.posterior:
        return []
    rows = []
    weights = spec.unit_weights(units.labels)
    for g, weight in zip(units.labels, weights):
        s = summarise_draws(idata.posterior["pi_ex"].sel(unit=g))
        rows.append(
            dict(model=spec.name, group=g, prior=float(weight), posterior=s["estimate"], mcse=s["mcse"], ess=s["ess"])
        )
    return rows


def lodo_rows(spec: Model, units: Units, grid: int = 400) -> list[dict]:
    """Leave-one-group-out predictive check, by the deterministic engine.

    For each group, the model is fitted to the other groups only and predicts the held-out group's count
    as a new, exchangeable group: ``p_rep(y) = E[Binomial(y | n_d, p_new) | other groups]``, integrated
    over the predictive distribution of ``p_new`` (its CDF on a logit grid).  ``p_upper`` =
    P(y_rep >= y_obs) and ``p_lower`` = P(y_rep <= y_obs); a small value flags a group that the others
    do not predict.  Unlike a posterior predictive check, the held-out count has not informed the
    prediction, so the check has power even when every patient responded.
    """
    from scipy import stats as st
    from scipy.special import expit

    from analysis.bayes.engine import posterior

    if spec.engine_model(list(units.labels)) is None or len(units.labels) < 2:
        return []
    z = np.linspace(-12, 12, grid + 1)
    p_edges = expit(z)
    mid = expit((z[:-1] + z[1:]) / 2)
    rows = []
    for d, (g, x, m) in enumerate(zip(units.labels, units.events, units.n)):
        keep = [i for i in range(len(units.labels)) if i != d]
        model = spec.engine_model([units.labels[i] for i in keep])
        if model.is_exnex:  # the held-out group is predicted with its own weights and NEX prior
            own_w = np.atleast_2d(spec.unit_weights([g]))[0]
            model = replace(model, new_weights=own_w, new_nex=tuple(spec.unit_nex([g])[0]))
        post = posterior(model, [units.events[i] for i in keep], [units.n[i] for i in keep], reuse=False)
        cdf = np.array([1.0 - post.new_prob_above(float(p)) for p in p_edges])
        mass = np.clip(np.diff(cdf), 0, None)
        mass = mass / mass.sum()
        pmf = st.binom.pmf(np.arange(m + 1)[:, None], m, mid[None, :]) @ mass
        rows.append(
            dict(
                model=spec.name,
                group=g,
                n=m,
                observed=x,
                predicted_mean=float(np.sum(np.arange(m + 1) * pmf)),
                p_upper=float(pmf[x:].sum()),
                p_lower=float(pmf[: x + 1].sum()),
                prob_all_respond=float(pmf[m]),
            )
        )
    return rows
