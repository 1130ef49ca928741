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
from analysis.limits import engine_bytes, engine_grid_points, require
from analysis.results import CROSSCHECK_COLUMNS as COLUMNS

K_MCSE = 4.0


def check_resources(spec: Model, units: Units, where: str = "") -> None:
    """Refuse, before any fit, a cross-check whose engine tables would exceed the memory limit
    (:mod:`analysis.limits`): they hold one row per count 0..n for each group, so groups of 1e5 asked for 238 GiB.

    Parameters
    ----------
    spec : Model
        The model (closed-form ones have no engine and pass).
    units : Units
        The data's groups.
    where : str
        The data file, for the message.

    Raises
    ------
    ResourceError
        With the estimate and the limit.
    """
    model = spec.engine_model(list(units.labels))
    if model is None:
        return
    sizes = [int(v) for v in units.n]
    points = sum(engine_grid_points(c, sum(sizes)) for c in model.components)
    require(
        f"{where}{': ' if where else ''}cross-check of model '{spec.name}' with the posterior engine (groups of "
        f"{', '.join(f'{v:,}' for v in sizes)} patients; {points:,} grid points)",
        nbytes=engine_bytes(points, sizes),
    )


def crosscheck(spec: Model, units: Units, idata: az.InferenceData, k_mcse: float = K_MCSE) -> pd.DataFrame:
    """Rows comparing MCMC with the engine; raises :class:`MCMCMismatch` on disagreement.

    Models without a deterministic counterpart (closed-form ones) give an empty table.
    """
    model = spec.engine_model(list(units.labels))
    if model is None:
        return pd.DataFrame(columns=list(COLUMNS))
    check_resources(spec, units)
    post = posterior(model, list(units.events), list(units.n), reuse=False)  # a fresh engine: the reference's bits
    rows = compare_mcmc(idata, post, k_mcse=k_mcse)
    df = pd.DataFrame(rows)
    df["model"] = spec.name
    df["z"] = (df["mcmc"] - df["engine"]).abs() / df["mcse"]
    return df[list(COLUMNS)]


__all__ = ["COLUMNS", "K_MCSE", "MCMCMismatch", "check_resources", "crosscheck"]
