"""NUTS: a registered model sampled by its compiled program (or ``pm.sample``), with each unit's rate added."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import numpy as np

from analysis.bayes.models.base import Model
from analysis.bayes.sampling.programs import _program
from analysis.bayes.sampling.trace import padded_size
from analysis.bayes.units import Units
from analysis.settings import MCMC, SETTINGS

if TYPE_CHECKING:
    import arviz as az


_STATS = ("diverging", "n_steps", "acceptance_rate", "energy", "step_size", "lp")


def _sample_compiled(spec: Model, units: Units, mcmc: MCMC) -> az.InferenceData:
    import jax
    import jax.numpy as jnp

    k = len(units.labels)
    size = padded_size(k, mcmc.pad_units)
    run, names, shapes, post_names, dims = _program(spec, size, mcmc)
    pad = np.zeros(size - k, dtype="int64")
    counts = {"events": np.concatenate([units.events, pad]), "trials": np.concatenate([units.n, pad])}
    # per-unit hyperparameters: the padding units (no data) repeat the last unit's values
    hyper = spec.unit_hyperparameters(units.labels)
    per_unit = {name: np.pad(v, (0, size - k), mode="edge") for name, v in hyper.items()}
    values = {**spec.hyperparameters(), **per_unit, **counts}
    data = [jnp.asarray(values[name]) for name in names]
    rng = np.random.default_rng([mcmc.seed, 3])
    z0 = [np.empty((mcmc.chains, *shape)) for shape in shapes]
    for c in range(mcmc.chains):
        for arr in z0:
            arr[c] = rng.uniform(-1.0, 1.0, arr.shape[1:])
    keys = jax.random.split(jax.random.PRNGKey(mcmc.seed), mcmc.chains)
    out, stats = run(keys, [jnp.asarray(a) for a in z0], data)
    posterior = {}
    for name, arr in zip(post_names, out):
        if name.endswith("__"):
            continue  # the unconstrained (transformed) values
        arr = np.asarray(arr)
        if "unit" in dims[name]:  # drop the padding units, on whichever axis 'unit' is (after chain, draw)
            axis = 2 + list(dims[name]).index("unit")
            arr = np.take(arr, np.arange(k), axis=axis)
        posterior[name] = arr
    sample_stats = {n: np.asarray(a) for n, a in zip(_STATS, stats)}
    sample_stats["tree_depth"] = np.floor(np.log2(sample_stats["n_steps"])).astype(int) + 1
    import arviz as az

    return az.from_dict(
        posterior=posterior,
        sample_stats=sample_stats,
        coords={"unit": list(units.labels)},
        dims={name: list(d) for name, d in dims.items() if name in posterior and d},
    )


def run_nuts(model, mcmc: MCMC) -> az.InferenceData:
    """``pm.sample`` of a PyMC model with the MCMC settings (any sampler PyMC dispatches to)."""
    import pymc as pm

    with model:
        return pm.sample(
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


def sample(spec: Model, units: Units, mcmc: MCMC = SETTINGS.mcmc) -> az.InferenceData:
    """Run NUTS for ``spec``; add draws of each unit's rate and of a new unit's rate."""
    if spec.closed_form:
        raise ValueError(f"model {spec.name!r}: kind {spec.kind!r} is not sampled by MCMC (it is conjugate)")
    t0 = time.perf_counter()
    if mcmc.sampler == "numpyro":
        idata = _sample_compiled(spec, units, mcmc)
    else:
        idata = run_nuts(spec.build(units), mcmc)
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
