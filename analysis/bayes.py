"""Fit every Bayesian model to the index study and write the results files.

Writes, under ``out_dir`` (default ``results/bayes``):

- ``<model>.nc`` (ArviZ InferenceData) and ``<model>.json`` (provenance
  sidecar) for each model;
- ``estimates.csv``: posterior mean and 95% equal-tailed credible interval
  of each disease's response probability (``group`` = disease), of a new
  disease's (``group = new``), and the predictive probability that the next
  patient with each disease responds (``analysis = bayes-predictive``);
- ``exceedance.csv``: P(p_d > benchmark | data) over the benchmark grid;
- ``diagnostics.csv``: R-hat, bulk/tail ESS and divergences per parameter;
- ``ppc.csv``: posterior predictive checks;
- ``prior_predictive.csv``: what the priors imply for p_d.
"""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
from scipy.special import expit

from analysis import conjugate
from analysis.data import endpoint_counts, load_index
from analysis.fit import Units, fit
from analysis.io import atomic_path, write_csv, write_json
from analysis.models import DEFAULT_MODELS, ModelSpec
from analysis.provenance import sha256
from analysis.settings import DISEASES, INDEX_STUDY, LEVEL, MCMC, SETTINGS

INTERVAL = "equal-tailed credible"


def index_units(
    index_path: Path = INDEX_STUDY, endpoint: str = "response", diseases: tuple[str, ...] = DISEASES
) -> Units:
    counts = endpoint_counts(load_index(index_path))
    sub = (
        counts[(counts["endpoint"] == endpoint) & counts["group"].isin(diseases)].set_index("group").loc[list(diseases)]
    )
    return Units(tuple(diseases), tuple(int(x) for x in sub["events"]), tuple(int(m) for m in sub["n"]))


def _conjugate_idata(spec: ModelSpec, units: Units, mcmc: MCMC) -> tuple[az.InferenceData, dict]:
    post = conjugate.fit_conjugate(spec, list(units.labels), np.array(units.events), np.array(units.n), LEVEL)
    rng = np.random.default_rng([mcmc.seed, 2])
    size = mcmc.chains * mcmc.draws
    draws = np.stack([rng.beta(post[g]["a"], post[g]["b"], size) for g in units.labels], axis=-1)
    if spec.kind == "pooled":
        draws = np.repeat(draws[:, :1], len(units.labels), axis=1)
    idata = az.from_dict(
        posterior={"p": draws.reshape(mcmc.chains, mcmc.draws, -1)},
        coords={"unit": list(units.labels)},
        dims={"p": ["unit"]},
    )
    idata.attrs.update({"model": spec.name, "kind": spec.kind, "exact": "Beta posterior; draws only for plots"})
    return idata, post


def summarise_draws(draws: np.ndarray, level: float = LEVEL) -> dict:
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": float(np.mean(draws)), "lower": float(lo), "upper": float(hi)}


def model_rows(
    spec: ModelSpec, units: Units, idata: az.InferenceData, exact: dict | None, scenario: str = "default"
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
                "group": "new",
                "n": sum(units.n),
                "events": sum(units.events),
                **s,
                "note": "predictive response probability for a new, exchangeable disease",
            }
        )
    return rows


def exceedance_rows(
    spec: ModelSpec, units: Units, idata: az.InferenceData, exact: dict | None, benchmarks: tuple[float, ...]
) -> list[dict]:
    from scipy import stats

    rows = []
    groups = list(units.labels) + (["new"] if "p_new" in idata.posterior else [])
    for g in groups:
        draws = (idata.posterior["p_new"] if g == "new" else idata.posterior["p"].sel(unit=g)).values.ravel()
        for b in benchmarks:
            if exact and g in exact:
                prob = float(stats.beta.sf(b, exact[g]["a"], exact[g]["b"]))
            else:
                prob = float(np.mean(draws > b))
            rows.append(dict(model=spec.name, method=spec.method, group=g, benchmark=b, probability=prob))
    return rows


def ppc_rows(spec: ModelSpec, units: Units, idata: az.InferenceData, seed: int) -> list[dict]:
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


def prior_predictive(spec: ModelSpec, size: int = 20000, seed: int = SETTINGS.mcmc.seed) -> dict:
    """Draws of one disease's response probability implied by the priors."""
    rng = np.random.default_rng([seed, 4])
    if spec.kind in ("independent", "pooled"):
        return {"p_d": rng.beta(*spec.priors["p"].params, size)}
    mu = spec.priors["mu"].rvs(size, rng)
    tau = spec.priors["tau"].rvs(size, rng)
    theta = mu + tau * rng.standard_normal(size)
    if spec.kind == "exnex":
        nex = spec.priors["nex"].rvs(size, rng)
        theta = np.where(rng.random(size) < spec.exnex_weight, theta, nex)
    return {"p_d": expit(theta)}


def prior_predictive_rows(specs: dict[str, ModelSpec]) -> list[dict]:
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


def fit_model(spec: ModelSpec, units: Units, out_dir: Path | None, mcmc: MCMC, checksums: dict, tag: str | None = None):
    """Fit one model (conjugate exactly, the others by NUTS); returns (idata, exact summaries, diagnostics)."""
    name = tag or spec.name
    if spec.kind in ("independent", "pooled"):
        idata, exact = _conjugate_idata(spec, units, mcmc)
        if out_dir is not None:
            with atomic_path(Path(out_dir) / f"{name}.nc") as tmp:
                idata.to_netcdf(str(tmp))
            write_json(
                Path(out_dir) / f"{name}.json",
                {"model": spec.describe(), "exact_posterior": exact, "data": checksums, "seed": mcmc.seed},
            )
        return idata, exact, None
    out = None if out_dir is None else Path(out_dir) / f"{name}.nc"
    idata, diag = fit(spec, units, out, mcmc, SETTINGS.gates, checksums)
    return idata, None, diag


def run(
    index_path: Path = INDEX_STUDY,
    out_dir: Path = Path("results/bayes"),
    mcmc: MCMC = SETTINGS.mcmc,
    models: dict[str, ModelSpec] | None = None,
) -> pd.DataFrame:
    models = models or DEFAULT_MODELS
    out_dir = Path(out_dir)
    units = index_units(index_path)
    checksums = {str(index_path): sha256(index_path)}
    est, exc, diags, ppc = [], [], [], []
    for spec in models.values():
        idata, exact, diag = fit_model(spec, units, out_dir, mcmc, checksums)
        est += model_rows(spec, units, idata, exact)
        exc += exceedance_rows(spec, units, idata, exact, SETTINGS.benchmarks.grid)
        ppc += ppc_rows(spec, units, idata, mcmc.seed)
        if diag is not None:
            diags.append(diag)
    estimates = pd.DataFrame(est)
    write_csv(out_dir / "exceedance.csv", pd.DataFrame(exc))
    write_csv(out_dir / "diagnostics.csv", pd.concat(diags, ignore_index=True))
    write_csv(out_dir / "ppc.csv", pd.DataFrame(ppc))
    write_csv(out_dir / "prior_predictive.csv", pd.DataFrame(prior_predictive_rows(models)))
    write_csv(out_dir / "estimates.csv", estimates)
    return estimates
