"""Fit every registered Bayesian model to the index study and write the results files.

Writes, under ``out_dir`` (default ``results/bayes``):

- ``<model>.nc`` (ArviZ InferenceData) and ``<model>.json`` (provenance
  sidecar) for each model;
- ``estimates.csv``: posterior mean and 95% equal-tailed credible interval
  of each disease's response probability (``group`` = disease), of a new
  disease's (``group = new``), and the predictive probability that the next
  patient with each disease responds (``analysis = bayes-predictive``);
- ``exceedance.csv``: P(p_d > benchmark | data) over the benchmark grid;
- ``diagnostics.csv``: R-hat, bulk/tail ESS and divergences per parameter
  (an empty table with its header when no model is sampled);
- ``ppc.csv``: posterior predictive checks;
- ``hyperparameters.csv``: prior against posterior of mu and tau (how much the data decide);
- ``exchangeability.csv``: EXNEX prior and posterior probability of exchangeability per group;
- ``lodo.csv``: leave-one-disease-out predictive check (the held-out disease predicted from the others);
- ``crosscheck.csv``: every MCMC fit against the deterministic posterior engine (the step fails,
  naming model, group and quantity, when they differ by more than 4 Monte Carlo standard errors);
- ``prior_predictive.csv``: what the priors imply for p_d.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from analysis.bayes.crosscheck import check_resources as check_crosscheck_resources
from analysis.bayes.crosscheck import crosscheck
from analysis.bayes.models import DEFAULT_MODELS, Model
from analysis.bayes.sampling import fit, fit_record, prepare
from analysis.bayes.summaries import (
    exceedance_rows,
    exchangeability_rows,
    hyperparameter_rows,
    lodo_rows,
    model_rows,
    ppc_rows,
    prior_predictive_rows,
)
from analysis.bayes.units import Units, index_units
from analysis.data.schema import DataError
from analysis.io import atomic_path, write_csv, write_json
from analysis.provenance import sha256
from analysis.results import table
from analysis.settings import INDEX_STUDY, LEVEL, MCMC, SETTINGS, Gates


def closed_form_idata(spec: Model, units: Units, mcmc: MCMC) -> tuple[az.InferenceData, dict]:
    """Exact posterior summaries and, for plots only, draws from the exact posterior (generator ``[seed, 2]``)."""
    post = spec.exact(units, LEVEL)
    rng = np.random.default_rng([mcmc.seed, 2])
    size = mcmc.chains * mcmc.draws
    draws = spec.exact_draws(post, units, size, rng)
    idata = az.from_dict(
        posterior={"p": draws.reshape(mcmc.chains, mcmc.draws, -1)},
        coords={"unit": list(units.labels)},
        dims={"p": ["unit"]},
    )
    idata.attrs.update({"model": spec.name, "kind": spec.kind, "exact": "Beta posterior; draws only for plots"})
    return idata, post


def stored_fit(
    spec: Model,
    units: Units,
    out: Path | None = None,
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    data_checksums: dict | None = None,
    reuse: Iterable[Path] = (),
) -> tuple[az.InferenceData, pd.DataFrame]:
    """A fit (:func:`analysis.bayes.sampling.fit`: a stored one with the same cache key, else a new one), kept at
    ``out`` as netCDF with its record (:func:`~analysis.bayes.sampling.fit_record`) as a JSON sidecar.

    Parameters
    ----------
    spec : Model
        The model and its priors.
    units : Units
        The binomial units.
    out : Path, optional
        Where the netCDF goes (its JSON sidecar beside it); ``None``: nothing is stored or read back.
    mcmc, gates : MCMC, Gates
        Sampler settings and convergence gates.
    data_checksums : dict, optional
        Recorded in the sidecar.
    reuse : iterable of Path
        Further folders whose stored fits (by cache key) are copied to ``out`` instead of refitted.

    Returns
    -------
    tuple of (arviz.InferenceData, pandas.DataFrame)
        The fit and its diagnostics.
    """
    idata, diag, source = fit(spec, units, mcmc, gates, out, reuse if out is not None else ())
    if out is None:
        return idata, diag
    out = Path(out)
    if source is None:
        with atomic_path(out) as tmp:
            idata.to_netcdf(str(tmp))
        write_json(out.with_suffix(".json"), fit_record(spec, units, mcmc, gates, idata, data_checksums))
    elif source.resolve() != out.resolve():
        for suffix in (".nc", ".json"):
            with atomic_path(out.with_suffix(suffix)) as tmp:
                shutil.copyfile(source.with_suffix(suffix), tmp)
    return idata, diag


def fit_model(
    spec: Model,
    units: Units,
    out_dir: Path | None,
    mcmc: MCMC,
    checksums: dict,
    tag: str | None = None,
    reuse: tuple[Path, ...] = (),
):
    """Fit one model (closed form exactly, the others by NUTS); returns (idata, exact summaries, diagnostics).

    ``reuse``: directories of stored fits; one with the same cache key is copied instead of refitted.
    """
    name = tag or spec.name
    if spec.closed_form:
        idata, exact = closed_form_idata(spec, units, mcmc)
        if out_dir is not None:
            with atomic_path(Path(out_dir) / f"{name}.nc") as tmp:
                idata.to_netcdf(str(tmp))
            write_json(
                Path(out_dir) / f"{name}.json",
                {"model": spec.describe(), "exact_posterior": exact, "data": checksums, "seed": mcmc.seed},
            )
        return idata, exact, None
    out = None if out_dir is None else Path(out_dir) / f"{name}.nc"
    idata, diag = stored_fit(spec, units, out, mcmc, SETTINGS.gates, checksums, reuse=reuse)
    return idata, None, diag


def run(
    index_path: Path = INDEX_STUDY,
    out_dir: Path = Path("results/bayes"),
    mcmc: MCMC = SETTINGS.mcmc,
    models: dict[str, Model] | None = None,
) -> pd.DataFrame:
    models = models or DEFAULT_MODELS
    out_dir = Path(out_dir)
    units = index_units(index_path)
    for spec in models.values():
        unknown = sorted(spec.groups_named() - set(units.labels))
        if unknown:
            import difflib

            lower = {g.lower(): g for g in units.labels}
            hints = [
                f"'{u}': did you mean '{m[0]}'?"
                for u in unknown
                if (m := [lower[u.lower()]] if u.lower() in lower else difflib.get_close_matches(u, units.labels, 1))
            ]
            raise DataError(
                index_path,
                [
                    f"model {spec.name!r}: per-group settings name {unknown}, not groups of this file "
                    f"({list(units.labels)})" + (f"; {' '.join(hints)}" if hints else "")
                ],
            )
    for spec in models.values():  # before any fit or file: the cross-check's engine tables fit in memory
        if not spec.closed_form:
            check_crosscheck_resources(spec, units, str(index_path))
    checksums = {str(index_path): sha256(index_path)}
    est, exc, diags, ppc, hyper, exch, checks, lodo = [], [], [], [], [], [], [], []
    prepare([(spec, units) for spec in models.values()], mcmc)
    for spec in models.values():
        idata, exact, diag = fit_model(spec, units, out_dir, mcmc, checksums)
        est += model_rows(spec, units, idata, exact)
        exc += exceedance_rows(spec, units, idata, exact, SETTINGS.benchmarks.grid)
        ppc += ppc_rows(spec, units, idata, mcmc.seed)
        hyper += hyperparameter_rows(spec, idata)
        if not spec.closed_form:
            checks.append(crosscheck(spec, units, idata))
        lodo += lodo_rows(spec, units)
        exch += exchangeability_rows(spec, units, idata)
        if diag is not None:
            diags.append(diag)
    estimates = pd.DataFrame(est)
    diagnostics = table("bayes/diagnostics.csv", pd.concat(diags, ignore_index=True) if diags else None)
    write_csv(out_dir / "exceedance.csv", pd.DataFrame(exc))
    write_csv(out_dir / "diagnostics.csv", diagnostics)
    write_csv(out_dir / "ppc.csv", pd.DataFrame(ppc))
    write_csv(out_dir / "hyperparameters.csv", pd.DataFrame(hyper))
    write_csv(out_dir / "lodo.csv", pd.DataFrame(lodo))
    write_csv(
        out_dir / "crosscheck.csv",
        table("bayes/crosscheck.csv", pd.concat(checks, ignore_index=True) if checks else None),
    )
    write_csv(out_dir / "exchangeability.csv", pd.DataFrame(exch))
    write_csv(out_dir / "prior_predictive.csv", pd.DataFrame(prior_predictive_rows(models)))
    write_csv(out_dir / "estimates.csv", estimates)
    return estimates
