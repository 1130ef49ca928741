"""Read and check a basket design file (TOML); see ``config/basket.toml``.

Schema (every key is checked; unknown keys are errors with a suggestion)::

    [design]                 name (str), seed (int), oc ("auto" | "exact" | "simulate"),
                             n_sim (int >= 100), chunk (int >= 10), max_outcomes (int),
                             interim_prior ([a, b], the Beta prior of interim predictive probabilities),
                             interim ("own": each indication's interim uses its own data; "borrow": the
                             method's posterior of all indications' stage-1 data, see analysis.basket.interim),
                             interim_rule ("predictive" or "posterior", with interim = "borrow")
    [[indication]]           name, n (int >= 1), p0 and target (0 < p0 < target < 1), c (0 < c < 1);
                             optional min_mean (0..1), interim_n (1 <= interim_n < n),
                             futility (0..1) and efficacy (0..1) (need interim_n)
    [method.NAME]            type = a registered method (analysis.basket.methods): "independent" |
                             "hierarchical" | "exnex" | "jsd" | "mem"
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
                             hierarchical, exnex, jsd and mem: scale = "null" (borrow the gain over the
                                           null, logit(p) - logit(p0); the default when the null rates
                                           differ) or "probability" (borrow logit(p), or for jsd and mem
                                           pool counts as equal rates; the default when they are equal)
                             jsd:          prior = [a, b], epsilon (> 0), tau (0 <= tau < 1), logbase ("e" or 2)
                             mem:          prior = [a, b], inclusion (0..1, the prior probability that two
                                           indications are exchangeable; default 0.5), structure
                                           ("symmetric", Hobbs and Landin's basket package, or "source")
    [scenarios]              generate = any of "null" (all at p0), "target" (all at target),
                             "single" (each indication alone at target)
    [[scenario]]             name, p = [one rate per indication]
    [calibration]            alpha (0 < alpha < 1), control ("each": every indication's type I error
                             under the global null; "partial": its largest over partial nulls; "fwer":
                             the family-wise error, one common threshold), thresholds ("per-indication"
                             or "common"), n_sim (trials per null scenario when simulating); see
                             analysis.basket.calibrate
    [search]                 n_min, n_max, step (patients per indication), power (target, 0..1), alpha
                             (type I error target; default the calibration's), power_scenarios (names;
                             default every scenario with all indications at target); `design --search`
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

from analysis.basket import methods as registry
from analysis.basket.checks import DesignError, choice, get, prior_ab, unknown_keys
from analysis.basket.design import Design, Indication, Method, Scenario

TOP = {"design", "indication", "method", "scenarios", "scenario", "calibration", "search"}
DESIGN_KEYS = {"name", "seed", "oc", "n_sim", "chunk", "max_outcomes", "interim_prior", "interim", "interim_rule"}
IND_KEYS = {"name", "n", "p0", "target", "c", "min_mean", "interim_n", "futility", "efficacy"}
GENERATE = ("null", "target", "single")


def _method(name: str, table: dict, where: str, K: int = 1, base: Path | None = None) -> Method:
    """A ``[method.NAME]`` table read by its registered class (``type``, default NAME)."""
    if not isinstance(table, dict):
        raise DesignError(f"{where}: expected a table")
    kind = table.get("type", name)
    if kind not in registry.REGISTRY:
        close = difflib.get_close_matches(str(kind), list(registry.REGISTRY), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise DesignError(
            f"{where}, key 'type': unknown method type {kind!r}{hint} (known methods: {', '.join(registry.REGISTRY)})"
        )
    cls = registry.get(kind)
    unknown_keys(table, {"type", *cls.keys}, where)
    settings = {k: v for k, v in table.items() if k != "type"}
    return Method(name, kind, cls.parse(settings, where, K, base))


def parse(spec: dict, where: str = "design file", base: Path | None = None) -> Design:
    """A checked :class:`Design` from a TOML table; ``base``: the design file's folder (for relative paths)."""
    unknown_keys(spec, TOP, where)
    d = spec.get("design", {})
    unknown_keys(d, DESIGN_KEYS, f"{where}, [design]")
    wd = f"{where}, [design]"
    name = get(d, "name", wd, str, "basket")
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise DesignError(f"{wd}, key 'name': {name!r} must not contain path separators")
    oc = get(d, "oc", wd, str, "auto")
    if oc not in ("auto", "exact", "simulate"):
        raise DesignError(f"{wd}, key 'oc': must be 'auto', 'exact' or 'simulate', got {oc!r}")
    ip = d.get("interim_prior", [1, 1])
    inds_t = spec.get("indication")
    if not isinstance(inds_t, list) or not inds_t:
        raise DesignError(f"{where}: need at least one [[indication]] table")
    inds = []
    for i, t in enumerate(inds_t, start=1):
        w = f"{where}, [[indication]] #{i}"
        unknown_keys(t, IND_KEYS, w)
        nm = get(t, "name", w, str)
        w = f"{where}, indication {nm!r}"
        n = get(t, "n", w, int, lo=1)
        p0 = get(t, "p0", w, float, lo=0, hi=1, lo_open=True, hi_open=True)
        target = get(t, "target", w, float, lo=0, hi=1, lo_open=True, hi_open=True)
        if not target > p0:
            raise DesignError(f"{w}, key 'target': {target} must be above p0 = {p0}")
        c = get(t, "c", w, float, lo=0, hi=1, lo_open=True, hi_open=True)
        mm = get(t, "min_mean", w, float, None, lo=0, hi=1)
        n1 = get(t, "interim_n", w, int, None, lo=1, hi=n - 1)
        fut = get(t, "futility", w, float, None, lo=0, hi=1)
        eff = get(t, "efficacy", w, float, None, lo=0, hi=1)
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
    unknown_keys(gen, {"generate"}, f"{where}, [scenarios]")
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
        unknown_keys(t, {"name", "p"}, w)
        nm = get(t, "name", w, str)
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
    calibration = _calibration(spec.get("calibration"), where, inds, scen)
    unequal = len({i.p0 for i in inds}) > 1
    for m in methods:  # the default scale of methods that can borrow on the null's scale: null when the nulls differ
        if "scale" in registry.get(m.kind).keys and m.params.get("scale") is None:
            m.params["scale"] = "null" if unequal else "probability"
    interim = choice(d, "interim", wd, ("own", "borrow"), "own")
    interim_rule = choice(d, "interim_rule", wd, ("predictive", "posterior"), "predictive")
    if interim == "borrow":
        missing = [i.name for i in inds if i.interim_n is None]
        if missing:
            raise DesignError(
                f"{wd}, key 'interim': an interim that borrows is one look at every indication; "
                f"{', '.join(missing)} ha{'s' if len(missing) == 1 else 've'} no interim_n"
            )
    elif "interim_rule" in d:
        raise DesignError(f"{wd}, key 'interim_rule': applies to interim = \"borrow\" only")
    search = _search(spec.get("search"), where, scen)
    design = Design(
        search=search,
        interim=interim,
        interim_rule=interim_rule,
        calibration=calibration,
        name=name,
        indications=inds,
        methods=methods,
        scenarios=scen,
        seed=get(d, "seed", wd, int, 1, lo=0),
        oc=oc,
        n_sim=get(d, "n_sim", wd, int, 10_000, lo=100),
        chunk=get(d, "chunk", wd, int, 2_000, lo=10),
        max_outcomes=get(d, "max_outcomes", wd, int, 200_000, lo=1),
        interim_prior=prior_ab(ip, wd, "interim_prior"),
    )
    from analysis.limits import ResourceError

    for m in methods:  # memory and time at load, not when the design runs (MEM with many indications)
        try:
            registry.get(m.kind).check_resources(design, m, f"{where}, [method.{m.name}]")
        except ResourceError as err:
            raise DesignError(str(err)) from err
    return design


def _calibration(table, where: str, inds, scen):
    """The ``[calibration]`` table: alpha in (0, 1), control, thresholds, n_sim; needs the global null."""
    if table is None:
        return None
    from analysis.basket.calibrate import CONTROLS, Calibration

    w = f"{where}, [calibration]"
    if not isinstance(table, dict):
        raise DesignError(f"{w}: expected a table")
    unknown_keys(table, {"alpha", "control", "thresholds", "n_sim"}, w)
    alpha = get(table, "alpha", w, float, lo=0, hi=1, lo_open=True, hi_open=True)
    control = choice(table, "control", w, CONTROLS, "each")
    common = choice(table, "thresholds", w, ("per-indication", "common"), "per-indication") == "common"
    if control == "fwer" and not common and "thresholds" in table:
        raise DesignError(f"{w}, key 'thresholds': family-wise control calibrates one common threshold")
    n_sim = get(table, "n_sim", w, int, 20_000, lo=100, hi=10_000_000)
    null = tuple(i.p0 for i in inds)
    if not any(all(abs(a - b) < 1e-12 for a, b in zip(s.p, null)) for s in scen):
        raise DesignError(
            f"{w}, key 'alpha': calibration needs the global null among the scenarios "
            f'(add "null" to [scenarios] generate, or a [[scenario]] with p = {list(null)})'
        )
    return Calibration(alpha, control, common or control == "fwer", n_sim)


def _search(table, where: str, scen):
    """The ``[search]`` table: n_min <= n_max, step, power (0..1), alpha (0..1), power_scenarios."""
    if table is None:
        return None
    from analysis.basket.search import Search

    w = f"{where}, [search]"
    if not isinstance(table, dict):
        raise DesignError(f"{w}: expected a table")
    unknown_keys(table, {"n_min", "n_max", "step", "power", "alpha", "power_scenarios"}, w)
    n_min = get(table, "n_min", w, int, lo=2, hi=1000)
    n_max = get(table, "n_max", w, int, lo=n_min, hi=1000)
    step = get(table, "step", w, int, 1, lo=1)
    power = get(table, "power", w, float, 0.8, lo=0, hi=1, lo_open=True, hi_open=True)
    alpha = get(table, "alpha", w, float, None, lo=0, hi=1, lo_open=True, hi_open=True)
    names = table.get("power_scenarios", [])
    known = [s.name for s in scen]
    if not isinstance(names, list) or any(n not in known for n in names):
        raise DesignError(f"{w}, key 'power_scenarios': expected names among {known}, got {names!r}")
    return Search(n_min, n_max, step, power, alpha, tuple(names))


def load(path: Path | str) -> Design:
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise DesignError(f"{path}: file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise DesignError(f"{path}: not valid TOML: {err}") from err
    return parse(spec, str(path), path.parent)
