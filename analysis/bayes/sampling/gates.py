"""The convergence gates: R-hat, bulk and tail ESS and divergences of a fit, checked against :class:`Gates`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis.bayes.models.base import Model
from analysis.settings import SETTINGS, Gates

if TYPE_CHECKING:
    import arviz as az


class ConvergenceError(RuntimeError):
    """A fit failed a convergence gate; the message names model and parameter."""


def diagnostics(idata: az.InferenceData, spec: Model) -> pd.DataFrame:
    """R-hat, bulk and tail ESS per scalar parameter, and the fit's divergences."""
    import arviz as az

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
