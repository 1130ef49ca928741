"""The results contract: each results table's columns (:data:`TABLES`), and the reader of ``results/``.

The steps build their tables through :func:`table` (columns in the contract's order) and the publish stage
reads every results file through :class:`Results`, once and on demand: tables, the priors' and designs'
records, and each fit's own record (its priors, MCMC settings and gates: what the paper quotes). A missing
file is a clear error naming it and the step that writes it.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import pandas as pd


class MissingResultError(FileNotFoundError):
    """A results file the manuscript needs does not exist."""


# -- the contract: each table's columns, in order ---------------------------------------------
#: ``estimates.csv`` (combined): these columns always exist, in this order, before any others
CONTRACT = ("analysis", "method", "endpoint", "group", "n", "events", "estimate", "lower", "upper", "level")
#: ``frequentist/estimates.csv``
ESTIMATE_COLUMNS = (
    "analysis",
    "method",
    "endpoint",
    "group",
    "scenario",
    "n",
    "events",
    "estimate",
    "lower",
    "upper",
    "level",
    "interval",
    "note",
)
#: ``frequentist/tests.csv``: exact benchmark tests and the heterogeneity test
TEST_COLUMNS = (
    "test",
    "endpoint",
    "group",
    "n",
    "events",
    "benchmark",
    "statistic",
    "p_value",
    "reject",
    "alpha",
    "note",
)
#: ``frequentist/meta.csv``: one row per meta-analysis (method, role, endpoint) with its heterogeneity
META_COLUMNS = (
    "analysis",
    "method",
    "role",
    "endpoint",
    "endpoint_class",
    "group",
    "scenario",
    "n",
    "events",
    "estimate",
    "lower",
    "upper",
    "level",
    "k",
    "mu",
    "mu_lower",
    "mu_upper",
    "se_mu",
    "tau",
    "tau_lower",
    "tau_upper",
    "tau2",
    "i2",
    "pred_lower",
    "pred_upper",
    "status",
    "studies",
    "continuity",
    "note",
)
#: ``bayes/diagnostics.csv`` and ``bayes/sensitivity_diagnostics.csv``: one row per parameter of each MCMC fit
DIAGNOSTIC_COLUMNS = ("model", "parameter", "r_hat", "ess_bulk", "ess_tail", "divergences")
#: ``bayes/crosscheck.csv``: every MCMC fit against the deterministic engine
CROSSCHECK_COLUMNS = ("model", "group", "quantity", "mcmc", "engine", "mcse", "z")
#: results file -> the columns it must have (read and written through :func:`table`)
TABLES = {
    "estimates.csv": CONTRACT,
    "frequentist/estimates.csv": ESTIMATE_COLUMNS,
    "frequentist/tests.csv": TEST_COLUMNS,
    "frequentist/meta.csv": META_COLUMNS,
    "bayes/diagnostics.csv": DIAGNOSTIC_COLUMNS,
    "bayes/sensitivity_diagnostics.csv": DIAGNOSTIC_COLUMNS,
    "bayes/crosscheck.csv": CROSSCHECK_COLUMNS,
}


def table(name: str, rows=None) -> pd.DataFrame:
    """A results table of the contract: ``rows`` (a DataFrame or records) with ``TABLES[name]``'s columns in
    order, empty with its header when there are no rows.

    Parameters
    ----------
    name : str
        The results file, relative to ``results/`` (a key of :data:`TABLES`).
    rows : pandas.DataFrame or list of dict, optional
        The rows; every column of the contract must be among theirs.

    Returns
    -------
    pandas.DataFrame
        The table, columns in the contract's order (extra columns dropped).

    Raises
    ------
    KeyError
        When ``name`` has no contract, or a row set lacks one of its columns (a bug in the step).
    """
    if name not in TABLES:
        raise KeyError(f"{name}: no results contract; known: {sorted(TABLES)}")
    cols = list(TABLES[name])
    df = pd.DataFrame(rows) if rows is not None and not isinstance(rows, pd.DataFrame) else rows
    if df is None or (df.empty and not len(df.columns)):
        return pd.DataFrame(columns=cols)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{name}: the rows lack the contract's column(s) {missing}")
    return df[cols]


#: results file -> the make target / command that writes it
WRITERS = {
    "estimates.csv": "make results (python -m analysis combine)",
    "provenance.json": "make results (python -m analysis provenance)",
    "frequentist": "python -m analysis frequentist",
    "bayes": "python -m analysis bayes / sensitivity",
    "priors": "python -m analysis priors config/follow_up.toml",
    "basket": "python -m analysis design config/basket.toml",
}


class Results:
    """Typed access to ``results/``: each table or record is read the first time it is used."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, name: str) -> Path:
        path = self.root / name
        if not path.is_file():
            step = WRITERS.get(name.split("/")[0], "make results")
            raise MissingResultError(f"{path} is missing: run the step that writes it ({step})")
        return path

    def csv(self, name: str) -> pd.DataFrame:
        path = self.path(name)
        try:
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise MissingResultError(f"{path} is not a readable results table ({err}): rerun its step") from err

    def json(self, name: str) -> dict:
        path = self.path(name)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise MissingResultError(f"{path} is not valid JSON ({err}): rerun its step") from err

    @cached_property
    def estimates(self) -> pd.DataFrame:
        return self.csv("estimates.csv")

    @cached_property
    def tests(self) -> pd.DataFrame:
        return self.csv("frequentist/tests.csv")

    @cached_property
    def meta(self) -> pd.DataFrame:
        return self.csv("frequentist/meta.csv")

    @cached_property
    def exceedance(self) -> pd.DataFrame:
        return self.csv("bayes/exceedance.csv")

    @cached_property
    def diagnostics(self) -> pd.DataFrame:
        return self.csv("bayes/diagnostics.csv")

    @cached_property
    def sensitivity(self) -> pd.DataFrame:
        return self.csv("bayes/sensitivity.csv")

    @cached_property
    def sensitivity_diagnostics(self) -> pd.DataFrame:
        return self.csv("bayes/sensitivity_diagnostics.csv")

    @cached_property
    def ppc(self) -> pd.DataFrame:
        return self.csv("bayes/ppc.csv")

    @cached_property
    def prior_predictive(self) -> pd.DataFrame:
        return self.csv("bayes/prior_predictive.csv")

    @cached_property
    def hyperparameters(self) -> pd.DataFrame:
        return self.csv("bayes/hyperparameters.csv")

    @cached_property
    def exchangeability(self) -> pd.DataFrame:
        return self.csv("bayes/exchangeability.csv")

    @cached_property
    def basket_oc(self) -> pd.DataFrame:
        """The follow-up design's OC: nominal and (when the design calibrates) calibrated rows, told apart by the
        ``thresholds`` column; the basket section picks the set each table shows."""
        return self.csv("basket/oc.csv")

    @cached_property
    def basket_calibration(self) -> pd.DataFrame | None:
        """``calibration.csv`` of the design run (None when the design does not calibrate)."""
        return self.csv("basket/calibration.csv") if (self.root / "basket/calibration.csv").is_file() else None

    @cached_property
    def basket_design(self) -> dict:
        return self.json("basket/design.json")

    @cached_property
    def crosscheck(self) -> pd.DataFrame:
        return self.csv("bayes/crosscheck.csv")

    @cached_property
    def lodo(self) -> pd.DataFrame:
        return self.csv("bayes/lodo.csv")

    def posterior(self, model: str):
        """A fitted model's posterior draws (the ``posterior`` group of ``bayes/<model>.nc``, an xarray Dataset).

        Read with xarray itself: importing ArviZ for this would cost the figures step, the end of the build,
        about 3 s.
        """
        import xarray as xr

        path = self.path(f"bayes/{model}.nc")
        try:
            with xr.open_dataset(path, group="posterior", engine="h5netcdf") as ds:
                return ds.load()
        except (OSError, ValueError, KeyError) as err:  # h5py's messages name no file
            raise MissingResultError(
                f"{path} is not a readable posterior file ({err}): rerun its step (make paper refits it)"
            ) from err

    def fit_record(self, model: str, folder: str = "bayes") -> dict:
        """The record a step kept beside a fit (``bayes/<model>.json``): its model with the priors it was fitted
        with, and for an MCMC fit its sampler settings and convergence gates."""
        record = self.json(f"{folder}/{model}.json")
        if not isinstance(record.get("model"), dict) or "priors" not in record["model"]:
            raise MissingResultError(f"{self.root / folder / model}.json: no model and priors recorded; rerun its step")
        return record

    @cached_property
    def fit_records(self) -> dict[str, dict]:
        """The record of every model of the Bayesian estimates (``bayes-<model>`` methods), by model."""
        methods = self.estimates.loc[self.estimates["analysis"] == "bayes", "method"].unique()
        return {m.removeprefix("bayes-"): self.fit_record(m.removeprefix("bayes-")) for m in methods}

    @cached_property
    def priors(self) -> dict:
        return self.json("priors/priors.json")

    @cached_property
    def designs(self) -> dict:
        return self.json("priors/designs.json")

    @cached_property
    def provenance(self) -> dict:
        return self.json("provenance.json")
