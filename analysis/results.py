"""The results files the publish stage reads, loaded once and on demand.

A missing file is a clear error naming it and the step that writes it.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import pandas as pd


class MissingResultError(FileNotFoundError):
    """A results file the manuscript needs does not exist."""


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

    @cached_property
    def priors(self) -> dict:
        return self.json("priors/priors.json")

    @cached_property
    def designs(self) -> dict:
        return self.json("priors/designs.json")

    @cached_property
    def provenance(self) -> dict:
        return self.json("provenance.json")
