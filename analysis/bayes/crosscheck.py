"""Cross-check every MCMC fit against the deterministic posterior engine (:mod:`analysis.bayes.engine`).

For the hierarchical and EXNEX models the engine integrates the posterior
numerically (to about 1e-4), so an MCMC fit whose posterior mean or 95%
limits of a group's rate, or of a new group's rate, differ from it by more
than 4 Monte Carlo standard errors is wrong (a sampler or model-building
problem), and the build fails naming model, group and quantity.
"""

from __future__ import annotations

import arviz as az
import pandas as pd

from analysis.bayes.engine import MCMCMismatch, compare_mcmc, posterior
from analysis.bayes.models.base import Model
from analysis.bayes.units import Units

K_MCSE = 4.0
COLUMNS = ["model", "group", "quantity", "mcmc", "engine", "mcse", "z"]


def crosscheck(spec: Model, units: Units, idata: az.InferenceData, k_mcse: float = K_MCSE) -> pd.DataFrame:
    """Rows comparing MCMC with the engine; raises :class:`MCMCMismatch` on disagreement.

    Models without a deterministic counterpart (closed-form ones) give an empty table.
    """
    model = spec.engine_model(list(units.labels))
    if model is None:
        return pd.DataFrame(columns=COLUMNS)
    post = posterior(model, list(units.events), list(units.n), reuse=False)  # a fresh engine: the reference's bits
    rows = compare_mcmc(idata, post, k_mcse=k_mcse)
    df = pd.DataFrame(rows)
    df["model"] = spec.name
    df["z"] = (df["mcmc"] - df["engine"]).abs() / df["mcse"]
    return df[COLUMNS]


__all__ = ["COLUMNS", "K_MCSE", "MCMCMismatch", "crosscheck"]
