"""No borrowing: a Beta or Beta-mixture prior per indication (conjugate), e.g. the priors step's MAP priors."""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.special import betaln, logsumexp

from analysis.basket.checks import DesignError, per_indication, prior_ab, unknown_keys
from analysis.basket.methods.base import BorrowingMethod, beta_sf


def beta_components(prior) -> np.ndarray:
    """(C, 3) array of (w, a, b) from [a, b], [[w, a, b], ...] or an object with ``.components`` (BetaMixture)."""
    if hasattr(prior, "components"):
        comps = np.array(prior.components, float)
    else:
        arr = np.asarray(prior, float)
        comps = np.array([[1.0, arr[0], arr[1]]]) if arr.ndim == 1 else arr
    comps[:, 0] /= comps[:, 0].sum()
    return comps


def beta_mixture_summary(prior, y, n, p0):
    """Posterior mean, second moment and P(p > p0) under a Beta-mixture prior, elementwise in (y, n, p0)."""
    comps = beta_components(prior)
    y, n, p0 = (np.asarray(v, float)[..., None] for v in (y, n, p0))
    w, a, b = comps[:, 0], comps[:, 1], comps[:, 2]
    lw = np.log(w) + betaln(a + y, b + n - y) - betaln(a, b)
    pw = np.exp(lw - logsumexp(lw, axis=-1, keepdims=True))
    A, B = a + y, b + n - y
    mean = (pw * A / (A + B)).sum(-1)
    m2 = (pw * A * (A + 1) / ((A + B) * (A + B + 1))).sum(-1)
    pa = (pw * beta_sf(p0, A, B)).sum(-1)
    return mean, m2, pa


def mixture(v, where):
    """``[a, b]`` or a Beta mixture ``[[w, a, b], ...]`` (finite, positive)."""
    if isinstance(v, list) and v and isinstance(v[0], (int, float)):
        return prior_ab(v, where)
    try:
        from analysis.priors.mixture import BetaMixture

        if not all(isinstance(x, (int, float)) and math.isfinite(x) for c in v for x in c):
            raise ValueError(f"every weight and shape must be a finite number, got {v!r}")
        return BetaMixture([tuple(c) for c in v])
    except (TypeError, ValueError) as err:
        raise DesignError(f"{where}, key 'prior': {err}") from err


def map_priors(v, where: str, K: int, base: Path | None) -> dict:
    """MAP priors by name from a priors step's ``priors.json``: ``{"map": {...}, "priors": (one per indication)}``."""

    from analysis.priors.mixture import Mixture

    w = f"{where}, key 'map'"
    if not isinstance(v, dict):
        raise DesignError(f"{w}: expected a table {{file = ..., names = ..., robust = true}}, got {v!r}")
    unknown_keys(v, {"file", "names", "robust"}, w)
    file, names, robust = v.get("file"), v.get("names"), v.get("robust", True)
    if not isinstance(file, str) or not file:
        raise DesignError(f"{w}: 'file' must name a priors.json written by `python -m analysis priors`")
    if not isinstance(robust, bool):
        raise DesignError(f"{w}: 'robust' must be true (the robust mixture) or false (the MAP mixture alone)")
    names = per_indication(names, "names", w, K, lambda x: x)
    listed = list(names) if isinstance(names, tuple) else [names]
    if not all(isinstance(x, str) and x for x in listed):
        raise DesignError(f"{w}: 'names' must be a prior's name or a list of {K} names, got {names!r}")
    candidates = [Path(file)] + ([base / file] if base is not None and not Path(file).is_absolute() else [])
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        tried = " or ".join(str(c) for c in candidates)
        raise DesignError(f"{w}: no file {tried}; run `make paper` (or `python -m analysis priors`) first")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))["priors"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DesignError(f"{w}: {path} is not a priors.json of the priors step ({type(err).__name__}: {err})") from err
    key = "mixture" if robust else "informative_mixture"
    priors = []
    for name in listed:
        if name not in stored:
            close = difflib.get_close_matches(name, sorted(stored), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; it has {', '.join(sorted(stored))}"
            raise DesignError(f"{w}: {path} has no prior '{name}'{hint}")
        try:
            mix = Mixture.from_dict(stored[name][key])
        except (KeyError, TypeError, ValueError) as err:
            raise DesignError(f"{w}: prior '{name}' in {path} has no readable '{key}' ({err})") from err
        if mix.family != "beta":
            raise DesignError(f"{w}: prior '{name}' in {path} is a {mix.family} mixture; a rate needs a Beta one")
        priors.append(mix)
    priors = priors * K if len(priors) == 1 else priors
    return {"map": {"file": str(path), "names": listed, "robust": robust}, "priors": tuple(priors)}


class Independent(BorrowingMethod):
    """No borrowing: each indication's own conjugate posterior."""

    kind: ClassVar[str] = "independent"
    label: ClassVar[str] = "Independent (no borrowing)"
    noun: ClassVar[str] = "no borrowing"
    keys: ClassVar[frozenset[str]] = frozenset({"prior", "map"})

    @classmethod
    def parse(cls, table, where, K, base):
        if "map" in table:
            if "prior" in table:
                raise DesignError(f"{where}: give either 'prior' or 'map', not both")
            return map_priors(table["map"], where, K, base)
        return {"prior": mixture(table.get("prior", [1, 1]), where)}

    @classmethod
    def describe(cls, params):
        if "map" in params:
            return (
                f"robust MAP priors {', '.join(params['map']['names'])}"
                if params["map"]["robust"]
                else (f"MAP priors {', '.join(params['map']['names'])}")
            )
        return f"Beta{_ab(params.get('prior', (1.0, 1.0)))} per indication"

    @classmethod
    def analyze(cls, design, method, n, y, prepared=None):
        p0 = design.p0
        if "priors" in method.params:  # one prior per indication (MAP priors)
            parts = [beta_mixture_summary(pr, y[:, k], n[:, k], p0[k]) for k, pr in enumerate(method.params["priors"])]
            mean, m2, pa = (np.stack([part[i] for part in parts], 1) for i in range(3))
        else:
            mean, m2, pa = beta_mixture_summary(method.params.get("prior", (1.0, 1.0)), y, n, p0[None, :])
        return {"mean": mean, "m2": m2, "p_above": pa}


def _ab(prior) -> str:
    if hasattr(prior, "components"):
        return " mixture"
    return f"({prior[0]:g}, {prior[1]:g})" if np.ndim(prior) == 1 else " mixture"
