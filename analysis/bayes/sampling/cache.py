"""The fit cache: a fit stored as netCDF with a JSON sidecar, read back only when its key matches."""

from __future__ import annotations

import json
import shutil
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
from analysis.io import atomic_path, write_json
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
    out: Path | None = None,
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    data_checksums: dict | None = None,
    reuse: Iterable[Path] = (),
) -> tuple[az.InferenceData, pd.DataFrame]:
    """Sample (or reuse a stored fit with the same cache key), check the gates, save netCDF + sidecar.

    ``reuse``: further directories whose stored fits (by cache key) are copied to ``out`` instead of refitted.
    """
    key = cache_key(spec, units, mcmc)
    if out is not None:
        out = Path(out)
        idata = _read_cached(out, key)
        if idata is None:
            found = find_fit(key, reuse)
            if found is not None and found.resolve() != out.resolve():
                idata = _read_cached(found, key)
                if idata is not None:
                    with atomic_path(out) as tmp:
                        shutil.copyfile(found, tmp)
                    with atomic_path(out.with_suffix(".json")) as tmp:
                        shutil.copyfile(found.with_suffix(".json"), tmp)
        if idata is not None:
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
                "code": code_hash(),
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
