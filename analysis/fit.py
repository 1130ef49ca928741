"""Build the hierarchical and EXNEX models in PyMC, sample them, and gate them.

Parameterisation.  With every patient responding, the likelihood pushes each
disease's logit towards +infinity and the posterior of the between-disease
sd ``tau`` has a funnel near 0.  The models are therefore non-centred
(``theta = mu + tau * z`` with ``z ~ Normal(0, 1)``), the priors are proper
and weakly informative, and NUTS runs with ``target_accept = 0.99`` (see
:class:`analysis.settings.MCMC`).  Divergences are never silenced: any
divergence fails the gate.

EXNEX (Neuenschwander et al. 2016).  Each unit's logit is exchangeable,
``mu + tau * z``, with prior probability ``w``, or non-exchangeable,
``m + s * u``.  The discrete indicator is summed out of the likelihood
(``logsumexp`` of the two branches), so NUTS sees a smooth density; the
posterior probability of exchangeability per unit is a deterministic, and
draws of the unit's rate are obtained afterwards by drawing the indicator
from its full conditional with a seeded generator.

Seeds.  ``MCMC.seed`` seeds the sampler; the post-processing generator is
``numpy.random.default_rng([seed, 1])``.  The same seed, data, priors and
package versions give the same draws.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import expit

from analysis.io import atomic_path, write_json
from analysis.models import ModelSpec, Prior
from analysis.provenance import package_versions
from analysis.settings import MCMC, SETTINGS, Gates


class ConvergenceError(RuntimeError):
    """A fit failed a convergence gate; the message names model and parameter."""


@dataclass(frozen=True)
class Units:
    """The binomial units of a fit: labels, responders and patients."""

    labels: tuple[str, ...]
    events: tuple[int, ...]
    n: tuple[int, ...]

    def __post_init__(self):
        if not (len(self.labels) == len(self.events) == len(self.n)) or not self.labels:
            raise ValueError("labels, events and n must have the same, non-zero length")
        for lab, x, m in zip(self.labels, self.events, self.n):
            if not 0 <= x <= m or m <= 0:
                raise ValueError(f"unit {lab!r}: need 0 <= events <= n and n > 0, got {x}/{m}")


def _rv(name: str, prior: Prior, **kw):
    if prior.dist == "Normal":
        return pm.Normal(name, mu=prior.params[0], sigma=prior.params[1], **kw)
    if prior.dist == "HalfNormal":
        return pm.HalfNormal(name, sigma=prior.params[0], **kw)
    raise ValueError(f"prior {prior} cannot be used for {name!r} in a logit-scale model")


def build(spec: ModelSpec, units: Units) -> pm.Model:
    """The PyMC model of ``spec`` for ``units`` (hierarchical or EXNEX)."""
    if spec.kind not in ("hierarchical", "exnex"):
        raise ValueError(f"model {spec.name!r}: kind {spec.kind!r} is not sampled by MCMC (it is conjugate)")
    y = np.asarray(units.events)
    n = np.asarray(units.n)
    with pm.Model(coords={"unit": list(units.labels)}) as model:
        mu = _rv("mu", spec.priors["mu"])
        tau = _rv("tau", spec.priors["tau"])
        z = pm.Normal("z", 0.0, 1.0, dims="unit")
        theta_ex = pm.Deterministic("theta_ex", mu + tau * z, dims="unit")
        if spec.kind == "hierarchical":
            pm.Binomial("y", n=n, logit_p=theta_ex, observed=y, dims="unit")
        else:
            loc, scale = spec.priors["nex"].params
            u = pm.Normal("u", 0.0, 1.0, dims="unit")
            theta_nex = pm.Deterministic("theta_nex", loc + scale * u, dims="unit")
            w = float(spec.exnex_weight)
            ll_ex = pm.logp(pm.Binomial.dist(n=n, logit_p=theta_ex), y)
            ll_nex = pm.logp(pm.Binomial.dist(n=n, logit_p=theta_nex), y)
            a, b = np.log(w) + ll_ex, np.log1p(-w) + ll_nex
            pm.Potential("y", pt.logaddexp(a, b).sum())
            pm.Deterministic("pi_ex", pt.sigmoid(a - b), dims="unit")
    return model


def cache_key(spec: ModelSpec, units: Units, mcmc: MCMC) -> str:
    payload = {"spec": spec.describe(), "units": asdict(units), "mcmc": asdict(mcmc), "versions": package_versions()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def sample(spec: ModelSpec, units: Units, mcmc: MCMC = SETTINGS.mcmc) -> az.InferenceData:
    """Run NUTS for ``spec``; add draws of each unit's rate and of a new unit's rate."""
    model = build(spec, units)
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
    post = idata.posterior
    rng = np.random.default_rng([mcmc.seed, 1])
    shape = post["mu"].shape
    if spec.kind == "hierarchical":
        p = expit(post["theta_ex"])
        theta_new = post["mu"] + post["tau"] * rng.standard_normal(shape)
    else:
        ex = rng.random(post["pi_ex"].shape) < post["pi_ex"].values
        p = xr.where(ex, expit(post["theta_ex"]), expit(post["theta_nex"]))
        loc, scale = spec.priors["nex"].params
        new_ex = rng.random(shape) < spec.exnex_weight
        theta_new = xr.where(
            new_ex, post["mu"] + post["tau"] * rng.standard_normal(shape), loc + scale * rng.standard_normal(shape)
        )
    post["p"] = p.transpose("chain", "draw", "unit")
    post["p_new"] = expit(theta_new)
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


def free_parameters(spec: ModelSpec) -> list[str]:
    return ["mu", "tau", "z"] + (["u"] if spec.kind == "exnex" else [])


def diagnostics(idata: az.InferenceData, spec: ModelSpec) -> pd.DataFrame:
    """R-hat, bulk and tail ESS per scalar parameter, and the fit's divergences."""
    summ = az.summary(idata, var_names=free_parameters(spec), kind="diagnostics")
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
    spec: ModelSpec,
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
