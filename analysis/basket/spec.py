"""Read and check a basket design file (TOML); see ``config/basket.toml``.

Schema (every key is checked; unknown keys are errors with a suggestion)::

    [design]                 name (str), seed (int), oc ("auto" | "exact" | "simulate"),
                             n_sim (int >= 100), chunk (int >= 10), max_outcomes (int),
                             interim_prior ([a, b], the Beta prior of interim predictive probabilities)
    [[indication]]           name, n (int >= 1), p0 and target (0 < p0 < target < 1), c (0 < c < 1);
                             optional min_mean (0..1), interim_n (1 <= interim_n < n),
                             futility (0..1) and efficacy (0..1) (need interim_n)
    [method.NAME]            type = "independent" | "hierarchical" | "exnex" | "jsd" | "mem"
                             (default: NAME when it is one of these) and its settings:
                             independent:  prior = [a, b] or [[w, a, b], ...] (a Beta mixture, e.g. a MAP prior),
                                           or map = {file = "results/priors/priors.json", names = "NAME" or
                                           [one per indication], robust = true}: the priors step's (robust)
                                           MAP priors by name (file relative to the working directory or to
                                           the design file)
                             hierarchical: mu = "Normal(m, s)", tau = "HalfNormal(s)" | "HalfCauchy(s)" |
                                           "HalfStudentT(nu, s)" | "Uniform(0, b)" | "LogNormal(m, s)"
                             exnex:        mu, tau as above and w (0 < w <= 1, the prior probability of
                                           exchangeability), or several exchangeable components:
                                           component = [{mu, tau, w}, ...] (Neuenschwander et al. 2016,
                                           section 2.2; the weights of an indication sum to at most 1);
                                           nex = "Normal(m, s)" (the non-exchangeable prior); every w and
                                           nex may instead be a list with one entry per indication
                             jsd:          prior = [a, b], epsilon (> 0), tau (0 <= tau < 1), logbase ("e" or 2)
                             mem:          prior = [a, b], inclusion (0..1, the prior probability that two
                                           indications are exchangeable; default 0.5), structure
                                           ("symmetric", Hobbs and Landin's basket package, or "source")
    [scenarios]              generate = any of "null" (all at p0), "target" (all at target),
                             "single" (each indication alone at target)
    [[scenario]]             name, p = [one rate per indication]
"""

from __future__ import annotations

import difflib
import math
import tomllib
from pathlib import Path

from analysis.basket.design import Design, Indication, Method, Scenario
from analysis.bayes.engine import Component, as_dist


class DesignError(ValueError):
    """A design file is invalid; the message names the file, table and key."""


TOP = {"design", "indication", "method", "scenarios", "scenario"}
DESIGN_KEYS = {"name", "seed", "oc", "n_sim", "chunk", "max_outcomes", "interim_prior"}
IND_KEYS = {"name", "n", "p0", "target", "c", "min_mean", "interim_n", "futility", "efficacy"}
METHOD_KEYS = {
    "independent": {"type", "prior", "map"},
    "hierarchical": {"type", "mu", "tau"},
    "exnex": {"type", "mu", "tau", "nex", "w", "component"},
    "jsd": {"type", "prior", "epsilon", "tau", "logbase"},
    "mem": {"type", "prior", "inclusion", "structure"},
}
GENERATE = ("null", "target", "single")


def _unknown(table: dict, allowed: set, where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(sorted(allowed))}"
            raise DesignError(f"{where}: unknown key '{key}'{hint}")


def _get(table, key, where, kind, default=..., lo=None, hi=None, lo_open=False, hi_open=False):
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
    if kind in (int, float):
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise DesignError(f"{where}, key '{key}': {v} must be {'>' if lo_open else '>='} {lo}")
        if hi is not None and (v > hi or (hi_open and v == hi)):
            raise DesignError(f"{where}, key '{key}': {v} must be {'<' if hi_open else '<='} {hi}")
    return v


def _prior_ab(v, where, key: str = "prior"):
    ok = isinstance(v, list) and len(v) == 2
    if not (ok and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in v)):
        raise DesignError(f"{where}, key '{key}': expected [a, b] with a, b > 0, got {v!r}")
    return (float(v[0]), float(v[1]))


def _mixture(v, where):
    if isinstance(v, list) and v and isinstance(v[0], (int, float)):
        return _prior_ab(v, where)
    try:
        from analysis.priors.mixture import BetaMixture

        return BetaMixture([tuple(c) for c in v])
    except (TypeError, ValueError) as err:
        raise DesignError(f"{where}, key 'prior': {err}") from err


def _component(mu, tau, where: str) -> None:
    """An exchangeable component the engine can integrate (a tau prior with mass above 1e-3, ...)."""
    from analysis.bayes.engine import make_grid

    try:
        make_grid(Component(mu, tau), 100)
    except ValueError as err:
        raise DesignError(f"{where}: {err}") from err


def _dist(table, key, where, default):
    text = table.get(key, default)
    if not isinstance(text, str):
        raise DesignError(f"{where}, key '{key}': expected text such as 'HalfNormal(1)', got {text!r}")
    try:
        return as_dist(text)
    except ValueError as err:
        raise DesignError(f"{where}, key '{key}': {err}") from err


def _per_indication(v, key: str, where: str, K: int, read):
    """``read(v)`` for one value, or a tuple of ``read(x)`` for a list of one value per indication."""
    if isinstance(v, list):
        if len(v) != K:
            raise DesignError(f"{where}, key '{key}': expected one value or {K} (one per indication), got {len(v)}")
        return tuple(read(x) for x in v)
    return read(v)


def _weight(v, key: str, where: str, zero: bool = False):
    """A prior weight in (0, 1], or in [0, 1] with ``zero`` (a component may be off for an indication)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= 1 and (zero or v > 0)):
        raise DesignError(f"{where}, key '{key}': {v!r} must be a number in {'[' if zero else '('}0, 1]")
    return float(v)


def _exnex(table: dict, where: str, K: int) -> dict:
    """EXNEX settings: one exchangeable component (mu, tau, w) or several (component = [...]); nex; per-indication
    weights and nex priors."""

    def nex_of(text):
        d = _dist({"nex": text}, "nex", where, None)
        if d.name != "Normal":
            raise DesignError(f"{where}, key 'nex': must be Normal(m, s), got {d}")
        return d.params

    p: dict = {"nex": _per_indication(table.get("nex", "Normal(0, 2)"), "nex", where, K, nex_of)}
    comps = table.get("component")
    if comps is None:
        p["mu"] = _dist(table, "mu", where, "Normal(0, 1.5)")
        p["tau"] = _dist(table, "tau", where, "HalfNormal(1)")
        _component(p["mu"], p["tau"], where)
        p["w"] = _per_indication(table.get("w", 0.5), "w", where, K, lambda x: _weight(x, "w", where))
        return p
    if any(k in table for k in ("mu", "tau", "w")):
        raise DesignError(f"{where}: give either mu, tau and w (one component) or 'component' tables, not both")
    if not isinstance(comps, list) or not comps or not all(isinstance(c, dict) for c in comps):
        raise DesignError(f"{where}, key 'component': expected a list of tables {{mu, tau, w}}, got {comps!r}")
    out, weights = [], []
    for j, c in enumerate(comps, start=1):
        wc = f"{where}, component #{j}"
        _unknown(c, {"mu", "tau", "w"}, wc)
        if "w" not in c:
            raise DesignError(f"{wc}: missing key 'w' (its prior weight)")
        mu, tau = _dist(c, "mu", wc, "Normal(0, 1.5)"), _dist(c, "tau", wc, "HalfNormal(1)")
        _component(mu, tau, wc)
        w = _per_indication(c["w"], "w", wc, K, lambda x, wc=wc: _weight(x, "w", wc, zero=True))
        out.append({"mu": repr(mu), "tau": repr(tau), "w": w})
        weights.append(w if isinstance(w, tuple) else (w,) * K)
    totals = [sum(col) for col in zip(*weights)]
    if any(t > 1 + 1e-12 for t in totals) or any(t <= 0 for t in totals):
        raise DesignError(
            f"{where}, key 'component': the weights of each indication must sum to a number in (0, 1], "
            f"got {[round(t, 6) for t in totals]}"
        )
    p["component"] = tuple(out)
    return p


def _map_priors(v, where: str, K: int, base: Path | None) -> dict:
    """MAP priors by name from a priors step's ``priors.json``: ``{"map": {...}, "priors": (one per indication)}``."""
    import json

    from analysis.priors.mixture import Mixture

    w = f"{where}, key 'map'"
    if not isinstance(v, dict):
        raise DesignError(f"{w}: expected a table {{file = ..., names = ..., robust = true}}, got {v!r}")
    _unknown(v, {"file", "names", "robust"}, w)
    file, names, robust = v.get("file"), v.get("names"), v.get("robust", True)
    if not isinstance(file, str) or not file:
        raise DesignError(f"{w}: 'file' must name a priors.json written by `python -m analysis priors`")
    if not isinstance(robust, bool):
        raise DesignError(f"{w}: 'robust' must be true (the robust mixture) or false (the MAP mixture alone)")
    names = _per_indication(names, "names", w, K, lambda x: x)
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


def _method(name: str, table: dict, where: str, K: int = 1, base: Path | None = None) -> Method:
    if not isinstance(table, dict):
        raise DesignError(f"{where}: expected a table")
    kind = table.get("type", name)
    if kind not in METHOD_KEYS:
        close = difflib.get_close_matches(str(kind), list(METHOD_KEYS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise DesignError(f"{where}, key 'type': unknown method type {kind!r}{hint} (one of {', '.join(METHOD_KEYS)})")
    _unknown(table, METHOD_KEYS[kind], where)
    p: dict = {}
    if kind == "independent":
        if "map" in table:
            if "prior" in table:
                raise DesignError(f"{where}: give either 'prior' or 'map', not both")
            p.update(_map_priors(table["map"], where, K, base))
        else:
            p["prior"] = _mixture(table.get("prior", [1, 1]), where)
    elif kind == "jsd":
        p["prior"] = _prior_ab(table.get("prior", [1, 1]), where)
        p["epsilon"] = _get(table, "epsilon", where, float, 2.0, lo=0, lo_open=True)
        p["tau"] = _get(table, "tau", where, float, 0.5, lo=0, hi=1, hi_open=True)
        base = table.get("logbase", "e")
        if base not in ("e", 2):
            raise DesignError(f"{where}, key 'logbase': must be \"e\" or 2, got {base!r}")
        p["logbase"] = math.e if base == "e" else 2.0
    elif kind == "mem":
        p["prior"] = _prior_ab(table.get("prior", [1, 1]), where)
        p["inclusion"] = _get(table, "inclusion", where, float, 0.5, lo=0, hi=1)
        p["structure"] = table.get("structure", "symmetric")
        if p["structure"] not in ("symmetric", "source"):
            raise DesignError(f'{where}, key \'structure\': must be "symmetric" or "source", got {p["structure"]!r}')
    elif kind == "exnex":
        p = _exnex(table, where, K)
    else:
        p["mu"] = _dist(table, "mu", where, "Normal(0, 1.5)")
        p["tau"] = _dist(table, "tau", where, "HalfNormal(1)")
        _component(p["mu"], p["tau"], where)
    return Method(name, kind, p)


def parse(spec: dict, where: str = "design file", base: Path | None = None) -> Design:
    """A checked :class:`Design` from a TOML table; ``base``: the design file's folder (for relative paths)."""
    _unknown(spec, TOP, where)
    d = spec.get("design", {})
    _unknown(d, DESIGN_KEYS, f"{where}, [design]")
    wd = f"{where}, [design]"
    name = _get(d, "name", wd, str, "basket")
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise DesignError(f"{wd}, key 'name': {name!r} must not contain path separators")
    oc = _get(d, "oc", wd, str, "auto")
    if oc not in ("auto", "exact", "simulate"):
        raise DesignError(f"{wd}, key 'oc': must be 'auto', 'exact' or 'simulate', got {oc!r}")
    ip = d.get("interim_prior", [1, 1])
    inds_t = spec.get("indication")
    if not isinstance(inds_t, list) or not inds_t:
        raise DesignError(f"{where}: need at least one [[indication]] table")
    inds = []
    for i, t in enumerate(inds_t, start=1):
        w = f"{where}, [[indication]] #{i}"
        _unknown(t, IND_KEYS, w)
        nm = _get(t, "name", w, str)
        w = f"{where}, indication {nm!r}"
        n = _get(t, "n", w, int, lo=1)
        p0 = _get(t, "p0", w, float, lo=0, hi=1, lo_open=True, hi_open=True)
        target = _get(t, "target", w, float, lo=0, hi=1, lo_open=True, hi_open=True)
        if not target > p0:
            raise DesignError(f"{w}, key 'target': {target} must be above p0 = {p0}")
        c = _get(t, "c", w, float, lo=0, hi=1, lo_open=True, hi_open=True)
        mm = _get(t, "min_mean", w, float, None, lo=0, hi=1)
        n1 = _get(t, "interim_n", w, int, None, lo=1, hi=n - 1)
        fut = _get(t, "futility", w, float, None, lo=0, hi=1)
        eff = _get(t, "efficacy", w, float, None, lo=0, hi=1)
        if (fut is not None or eff is not None) and n1 is None:
            raise DesignError(f"{w}: 'futility' and 'efficacy' need 'interim_n'")
        if n1 is not None and fut is None and eff is None:
            raise DesignError(f"{w}: 'interim_n' needs 'futility' and/or 'efficacy'")
        if fut is not None and eff is not None and not eff > fut:
            raise DesignError(f"{w}, key 'efficacy': {eff} must be above futility = {fut}")
        inds.append(Indication(nm, n, p0, target, c, mm, n1, fut, eff))
    names = [i.name for i in inds]
    if len(set(names)) != len(names):
        raise DesignError(f"{where}: indication names must be unique, got {names}")
    mt = spec.get("method")
    if not isinstance(mt, dict) or not mt:
        raise DesignError(f"{where}: need at least one [method.NAME] table")
    methods = [_method(k, v, f"{where}, [method.{k}]", len(inds), base) for k, v in mt.items()]
    scen = []
    gen = spec.get("scenarios", {})
    _unknown(gen, {"generate"}, f"{where}, [scenarios]")
    if not isinstance(gen.get("generate", []), list):
        raise DesignError(
            f"{where}, [scenarios], key 'generate': expected a list such as [\"null\"], got {gen['generate']!r}"
        )
    for g in gen.get("generate", []):
        if g not in GENERATE:
            close = difflib.get_close_matches(str(g), GENERATE, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DesignError(
                f"{where}, [scenarios], key 'generate': unknown {g!r}{hint} (one of {', '.join(GENERATE)})"
            )
        if g == "null":
            scen.append(Scenario("all null", tuple(i.p0 for i in inds)))
        elif g == "target":
            scen.append(Scenario("all active", tuple(i.target for i in inds)))
        else:
            for k, ind in enumerate(inds):
                scen.append(
                    Scenario(f"only {ind.name} active", tuple(x.target if j == k else x.p0 for j, x in enumerate(inds)))
                )
    for i, t in enumerate(spec.get("scenario", []), start=1):
        w = f"{where}, [[scenario]] #{i}"
        _unknown(t, {"name", "p"}, w)
        nm = _get(t, "name", w, str)
        p = t.get("p")
        if not (
            isinstance(p, list) and len(p) == len(inds) and all(isinstance(x, (int, float)) and 0 <= x <= 1 for x in p)
        ):
            raise DesignError(f"{w}, key 'p': expected {len(inds)} rates in [0, 1] (one per indication), got {p!r}")
        scen.append(Scenario(nm, tuple(float(x) for x in p)))
    if not scen:
        raise DesignError(f"{where}: no scenarios (add [scenarios] generate = [...] or [[scenario]] tables)")
    if len({s.name for s in scen}) != len(scen):
        raise DesignError(f"{where}: scenario names must be unique, got {[s.name for s in scen]}")
    return Design(
        name=name,
        indications=inds,
        methods=methods,
        scenarios=scen,
        seed=_get(d, "seed", wd, int, 1, lo=0),
        oc=oc,
        n_sim=_get(d, "n_sim", wd, int, 10_000, lo=100),
        chunk=_get(d, "chunk", wd, int, 2_000, lo=10),
        max_outcomes=_get(d, "max_outcomes", wd, int, 200_000, lo=1),
        interim_prior=_prior_ab(ip, wd, "interim_prior"),
    )


def load(path: Path | str) -> Design:
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise DesignError(f"{path}: file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise DesignError(f"{path}: not valid TOML: {err}") from err
    return parse(spec, str(path), path.parent)
