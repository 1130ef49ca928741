"""Checks shared by the design-file reader and the borrowing methods: every message names file, table and key."""

from __future__ import annotations

import difflib
import math

from analysis.bayes.engine import Component, as_dist
from analysis.bayes.prior import MAX_BETA


class DesignError(ValueError):
    """A design file is invalid; the message names the file, table and key."""


def unknown_keys(table: dict, allowed: set, where: str) -> None:
    """Refuse keys of ``table`` outside ``allowed``, suggesting the closest allowed one."""
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(sorted(allowed))}"
            raise DesignError(f"{where}: unknown key '{key}'{hint}")


def number(v, key: str, where: str) -> float:
    """A finite real number (TOML's ``nan`` and ``inf`` are refused)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DesignError(f"{where}, key '{key}': {v!r} is not a number")
    if not math.isfinite(v):
        raise DesignError(f"{where}, key '{key}': {v!r} is not a finite number")
    return float(v)


def get(table, key, where, kind, default=..., lo=None, hi=None, lo_open=False, hi_open=False):
    """``table[key]`` checked for type (int, float, str, bool), finiteness and range; ``default`` when absent."""
    if key not in table:
        if default is ...:
            raise DesignError(f"{where}: missing key '{key}'")
        return default
    v = table[key]
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise DesignError(f"{where}, key '{key}': {v!r} is not a whole number")
    if not isinstance(v, kind) or isinstance(v, bool) and kind is not bool:
        raise DesignError(f"{where}, key '{key}': {v!r} is not {getattr(kind, '__name__', kind)}")
    if kind is float and not math.isfinite(v):
        raise DesignError(f"{where}, key '{key}': {v!r} is not a finite number")
    if kind in (int, float):
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise DesignError(f"{where}, key '{key}': {v} must be {'>' if lo_open else '>='} {lo}")
        if hi is not None and (v > hi or (hi_open and v == hi)):
            raise DesignError(f"{where}, key '{key}': {v} must be {'<' if hi_open else '<='} {hi}")
    return v


def prior_ab(v, where, key: str = "prior") -> tuple[float, float]:
    """A Beta prior ``[a, b]`` with finite a, b > 0 (at most :data:`analysis.bayes.prior.MAX_BETA`)."""
    ok = isinstance(v, list) and len(v) == 2
    if not (
        ok and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0 for x in v)
    ):
        raise DesignError(f"{where}, key '{key}': expected [a, b] with finite a, b > 0, got {v!r}")
    if max(v) > MAX_BETA:
        raise DesignError(f"{where}, key '{key}': {v!r}; a and b must be at most {MAX_BETA:,} (a million patients)")
    return (float(v[0]), float(v[1]))


def dist(table, key, where, default):
    """A prior distribution from text such as ``'HalfNormal(1)'`` (finite parameters)."""
    text = table.get(key, default)
    if not isinstance(text, str):
        raise DesignError(f"{where}, key '{key}': expected text such as 'HalfNormal(1)', got {text!r}")
    try:
        return as_dist(text)
    except ValueError as err:
        raise DesignError(f"{where}, key '{key}': {err}") from err


def component(mu, tau, where: str) -> None:
    """An exchangeable component the engine can integrate (a tau prior with mass above 1e-3, ...)."""
    from analysis.bayes.engine import make_grid
    from analysis.limits import engine_bytes, engine_grid_points, require

    try:
        comp = Component(mu, tau)
        # before the grid is made: a prior mu = "Normal(0, 1e6)" asked for billions of points (24 GB, OOM-killed)
        points = engine_grid_points(comp, 100)
        require(
            f"{where}, keys 'mu' and 'tau': the quadrature grid ({points:,} points)", nbytes=engine_bytes(points, [])
        )
        make_grid(comp, 100)
    except ValueError as err:  # also the ResourceError of require, which names where
        raise DesignError(str(err) if str(err).startswith(where) else f"{where}: {err}") from err


def per_indication(v, key: str, where: str, K: int, read):
    """``read(v)`` for one value, or a tuple of ``read(x)`` for a list of one value per indication."""
    if isinstance(v, list):
        if len(v) != K:
            raise DesignError(f"{where}, key '{key}': expected one value or {K} (one per indication), got {len(v)}")
        return tuple(read(x) for x in v)
    return read(v)


def weight(v, key: str, where: str, zero: bool = False) -> float:
    """A prior weight in (0, 1], or in [0, 1] with ``zero`` (a component may be off for an indication)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= 1 and (zero or v > 0)):
        raise DesignError(f"{where}, key '{key}': {v!r} must be a number in {'[' if zero else '('}0, 1]")
    return float(v)


def choice(table, key: str, where: str, options: tuple, default):
    """One of ``options`` (with a suggestion when misspelt)."""
    v = table.get(key, default)
    if v not in options:
        close = difflib.get_close_matches(str(v), [str(o) for o in options], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise DesignError(f"{where}, key '{key}': {v!r}{hint}: must be one of {', '.join(map(repr, options))}")
    return v
