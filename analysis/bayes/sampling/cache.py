"""The fit cache: a fit stored as netCDF with a JSON sidecar, read back only when its key matches.

This module reads stored fits; the steps write them (:func:`analysis.bayes.step.stored_fit`)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.bayes.models.base import Model
from analysis.bayes.sampling.gates import check_gates, diagnostics
from analysis.bayes.sampling.keys import CacheWarning, cache_key, code_hash
from analysis.bayes.sampling.nuts import sample
from analysis.bayes.units import Units
from analysis.provenance import package_versions
from analysis.settings import MCMC, SETTINGS, Gates

if TYPE_CHECKING:
    import arviz as az


def _read_cached(out: Path, key: str) -> az.InferenceData | None:
    """The fit stored at ``out`` if its sidecar's key is ``key``; ``None`` (with a warning if unreadable)."""
    sidecar = out.with_suffix(".json")
    if not (out.is_file() and sidecar.is_file()):
        return None
    import arviz as az

    try:
        if json.loads(sidecar.read_text()).get("cache_key") != key:
            return None
        idata = az.from_netcdf(out)
        idata.load()  # read every array now, so that a truncated file fails here and not later
        return idata
    except Exception as err:  # noqa: BLE001 - any unreadable cache file is refitted, never a crash
        warnings.warn(f"cached fit {out} is unreadable ({type(err).__name__}: {err}); refitting", CacheWarning, 2)
        return None


def find_fit(key: str, dirs: Iterable[Path]) -> Path | None:
    """A stored fit (``.nc`` with a sidecar) whose cache key is ``key``, in any of ``dirs``."""
    for d in dirs:
        for sidecar in sorted(Path(d).glob("*.json")):
            try:
                if json.loads(sidecar.read_text()).get("cache_key") == key and sidecar.with_suffix(".nc").is_file():
                    return sidecar.with_suffix(".nc")
            except (OSError, ValueError, AttributeError):
                continue
    return None


def fit(
    spec: Model,
    units: Units,
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    stored: Path | None = None,
    reuse: Iterable[Path] = (),
) -> tuple[az.InferenceData, pd.DataFrame, Path | None]:
    """A fit with its gates checked: a stored one with the same cache key when there is one, else a new one.

    Reads files, writes none: storing a new fit (or a copy of a reused one) is the step's
    (:func:`analysis.bayes.step.stored_fit`, with :func:`fit_record` as its sidecar).

    Parameters
    ----------
    spec : Model
        The model and its priors.
    units : Units
        The binomial units.
    mcmc, gates : MCMC, Gates
        Sampler settings and convergence gates.
    stored : Path, optional
        The netCDF file a step keeps this fit in (its JSON sidecar beside it), read back when its key matches.
    reuse : iterable of Path
        Further folders whose stored fits are read back when their key matches.

    Returns
    -------
    tuple of (arviz.InferenceData, pandas.DataFrame, Path or None)
        The fit, its :func:`~analysis.bayes.sampling.gates.diagnostics` and the file it was read from (``None``
        when it was sampled now).

    Raises
    ------
    ConvergenceError
        When a gate fails (a stored fit is checked again).
    """
    key = cache_key(spec, units, mcmc)
    idata, source = None, None
    if stored is not None:
        idata, source = _read_cached(Path(stored), key), Path(stored)
    if idata is None:
        found = find_fit(key, reuse)
        idata, source = (_read_cached(found, key), found) if found is not None else (None, None)
    if idata is None:
        idata, source = sample(spec, units, mcmc), None
    diag = diagnostics(idata, spec)
    check_gates(diag, gates)
    return idata, diag, source


def fit_record(
    spec: Model, units: Units, mcmc: MCMC, gates: Gates, idata: az.InferenceData, data_checksums: dict | None = None
) -> dict:
    """The sidecar of a stored fit: its cache key, the model with its priors, units, MCMC settings, gates, data
    checksums, package versions and sampling time (what the paper quotes is read from here)."""
    return {
        "cache_key": cache_key(spec, units, mcmc),
        "code": code_hash(),
        "model": spec.describe(),
        "units": asdict(units),
        "mcmc": asdict(mcmc),
        "gates": asdict(gates),
        "data": data_checksums or {},
        "packages": package_versions(),
        "sampling_seconds": idata.attrs["sampling_seconds"],
        "interval": "equal-tailed",
    }
