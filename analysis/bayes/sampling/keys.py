"""The fit cache's keys: everything that determines a fit's draws, the code among it (:func:`code_hash`)."""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import asdict
from pathlib import Path

from analysis.bayes.models.base import Model
from analysis.bayes.units import Units
from analysis.provenance import package_versions
from analysis.settings import MCMC, ROOT

#: the sources whose text is part of every fit's cache key
CODE_FILES = ("analysis/bayes", "analysis/settings.py")


class CacheWarning(UserWarning):
    """A cached fit could not be read and is refitted."""


def code_hash() -> str:
    """SHA-256 of the source of ``analysis/bayes`` (every ``.py``, recursively) and ``analysis/settings.py``."""
    h = hashlib.sha256()
    for entry in CODE_FILES:
        path = ROOT / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def cache_key(spec: Model, units: Units, mcmc: MCMC) -> str:
    """Everything that determines a fit's draws: model and priors, data, MCMC settings, versions, code."""
    payload = {
        "spec": spec.describe(),
        "units": asdict(units),
        "mcmc": asdict(mcmc),
        "versions": package_versions(),
        "code": code_hash(),
    }
    sources = model_sources(spec)
    if sources:  # a model kind registered outside analysis/bayes
        payload["model_sources"] = sources
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def model_sources(spec: Model) -> str:
    """SHA-256 of the source files of ``spec``'s classes outside ``analysis/bayes`` (which :func:`code_hash`
    covers): a model kind registered elsewhere is part of the keys too; ``""`` when there is none."""

    bayes = (ROOT / "analysis" / "bayes").resolve()
    h, found = hashlib.sha256(), False
    for cls in type(spec).__mro__:
        try:
            f = Path(inspect.getsourcefile(cls)).resolve()
        except (TypeError, OSError):  # built-in classes
            continue
        if bayes in f.parents:
            continue
        h.update(str(f).encode() + b"\0" + f.read_bytes() + b"\0")
        found = True
    return h.hexdigest() if found else ""
