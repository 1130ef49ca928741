"""Sample a registered model with NUTS, check the convergence gates, cache the fit.

Parameterisation.  With every patient responding, the likelihood pushes each
disease's logit towards +infinity and the posterior of the between-disease
sd ``tau`` has a funnel near 0.  The models are therefore non-centred
(``theta = mu + tau * z`` with ``z ~ Normal(0, 1)``), the priors are proper
and weakly informative, and NUTS runs with ``target_accept = 0.99`` (see
:class:`analysis.settings.MCMC`).  Divergences are never silenced: any
divergence fails the gate.

Seeds.  ``MCMC.seed`` seeds the sampler; the post-processing generator
(draws of each group's and a new group's rate, :meth:`Model.add_draws`) is
``numpy.random.default_rng([seed, 1])``.  The same seed, data, priors and
package versions give the same draws.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from analysis.bayes.models.base import Model
from analysis.bayes.units import Units
from analysis.io import atomic_path, write_json
from analysis.provenance import package_versions
from analysis.settings import MCMC, SETTINGS, Gates


class ConvergenceError(RuntimeError):
    """A fit failed a convergence gate; the message names model and parameter."""


def cache_key(spec: Model, units: Units, mcmc: MCMC) -> str:
    payload = {"spec": spec.describe(), "units": asdict(units), "mcmc": asdict(mcmc), "versions": package_versions()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def sample(spec: Model, units: Units, mcmc: MCMC = SETTINGS.mcmc) -> az.InferenceData:
    """Run NUTS for ``spec``; add draws of each unit's rate and of a new unit's rate."""
    import pymc as pm

    if spec.closed_form:
        raise ValueError(f"model {spec.name!r}: kind {spec.kind!r} is not sampled by MCMC (it is conjugate)")
    model = spec.build(units)
    t0 = time.perf_counter()
    with model:
        idata = pm.sample(
            draws=mcmc.draws,
            tune=mcmc.tune,
            chains=mcmc.chains,
            cores=mcmc.cores,
            target_accept=mcmc.target_accept,
            random_seed=mcmc.seed,
            nuts_sampler=mcmc.sampler,
            progressbar=False,
            compute_convergence_checks=False,
        )
    elapsed = time.perf_counter() - t0
    spec.add_draws(idata, units, np.random.default_rng([mcmc.seed, 1]))
    idata.attrs.update(
        {
            "model": spec.name,
            "kind": spec.kind,
            "sampler": mcmc.sampler,
            "seed": mcmc.seed,
            "sampling_seconds": elapsed,
            "priors": json.dumps(spec.describe()),
        }
    )
    return idata


def diagnostics(idata: az.InferenceData, spec: Model) -> pd.DataFrame:
    """R-hat, bulk and tail ESS per scalar parameter, and the fit's divergences."""
    summ = az.summary(idata, var_names=spec.free_parameters(), kind="diagnostics")
    div = int(idata.sample_stats["diverging"].sum())
    return pd.DataFrame(
        {
            "model": spec.name,
            "parameter": summ.index,
            "r_hat": summ["r_hat"].values,
            "ess_bulk": summ["ess_bulk"].values,
            "ess_tail": summ["ess_tail"].values,
            "divergences": div,
        }
    )


def check_gates(diag: pd.DataFrame, gates: Gates = SETTINGS.gates) -> None:
    """Raise :class:`ConvergenceError` listing every parameter that fails a gate."""
    problems = []
    for r in diag.itertuples(index=False):
        if not r.r_hat <= gates.max_r_hat:
            problems.append(f"model {r.model!r}, parameter {r.parameter}: R-hat {r.r_hat:.3f} > {gates.max_r_hat}")
        if not r.ess_bulk >= gates.min_ess_bulk:
            problems.append(
                f"model {r.model!r}, parameter {r.parameter}: bulk ESS {r.ess_bulk:.0f} < {gates.min_ess_bulk:g}"
            )
        if not r.ess_tail >= gates.min_ess_tail:
            problems.append(
                f"model {r.model!r}, parameter {r.parameter}: tail ESS {r.ess_tail:.0f} < {gates.min_ess_tail:g}"
            )
    if len(diag) and diag["divergences"].iloc[0] > gates.max_divergences:
        problems.append(
            f"model {diag['model'].iloc[0]!r}: {int(diag['divergences'].iloc[0])} divergent transitions "
            f"(allowed {gates.max_divergences})"
        )
    if problems:
        raise ConvergenceError("convergence gates failed:\n  " + "\n  ".join(problems))


def fit(
    spec: Model,
    units: Units,
    out: Path | None = None,
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    data_checksums: dict | None = None,
) -> tuple[az.InferenceData, pd.DataFrame]:
    """Sample (or reuse a cached fit with identical inputs), check the gates, save netCDF + sidecar."""
    key = cache_key(spec, units, mcmc)
    if out is not None:
        out = Path(out)
        sidecar = out.with_suffix(".json")
        if out.is_file() and sidecar.is_file() and json.loads(sidecar.read_text()).get("cache_key") == key:
            idata = az.from_netcdf(out)
            diag = diagnostics(idata, spec)
            check_gates(diag, gates)
            return idata, diag
    idata = sample(spec, units, mcmc)
    diag = diagnostics(idata, spec)
    check_gates(diag, gates)
    if out is not None:
        with atomic_path(out) as tmp:
            idata.to_netcdf(str(tmp))
        write_json(
            out.with_suffix(".json"),
            {
                "cache_key": key,
                "model": spec.describe(),
                "units": asdict(units),
                "mcmc": asdict(mcmc),
                "gates": asdict(gates),
                "data": data_checksums or {},
                "packages": package_versions(),
                "sampling_seconds": idata.attrs["sampling_seconds"],
                "interval": "equal-tailed",
            },
        )
    return idata, diag
