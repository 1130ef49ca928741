"""The studio's model, free of any web framework: fields -> design-file table -> checked design -> OC.

The app's fields are text (numbers too, so that ``abc`` in a number field reaches the design-file reader
and gets its message).  :func:`spec_from_fields` builds the table that a design file would hold,
:func:`check` reads it with :func:`analysis.basket.spec.parse` (the CLI's checks and messages) and
:func:`field_of` finds the field a message is about.  :class:`Engine` computes the operating
characteristics as ``python -m analysis design`` does (:mod:`analysis.basket.run`), keeping the posterior
summaries of each joint outcome space for later changes, and :func:`dumps` writes the design file.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.basket import methods as registry
from analysis.basket.calibrate import calibrate
from analysis.basket.checks import DesignError, weight
from analysis.basket.design import (
    Design,
    combine_chunks,
    n_outcomes,
    simulate_chunk,
    use_exact,
)
from analysis.basket.run import DISPLAY_COLUMNS, chunk_sizes, method_oc, ordered
from analysis.basket.spec import parse
from analysis.settings import ROOT
from analysis.studio.spaces import Reuse

#: method kinds the studio edits, in the order of its panel
KINDS = ("independent", "hierarchical", "exnex", "jsd", "mem")
#: the method settings each kind's panel edits (field suffix -> design-file key)
METHOD_FIELDS = {
    "hierarchical": ("mu", "tau", "scale"),
    "exnex": ("mu", "tau", "nex", "w", "scale"),
    "jsd": ("prior_a", "prior_b", "epsilon", "tau", "logbase", "scale"),
    "mem": ("prior_a", "prior_b", "inclusion", "structure", "scale"),
}
#: method settings that are text (prior distributions, choices); the others are numbers
TEXT_FIELDS = {
    "hierarchical": ("mu", "tau", "scale"),
    "exnex": ("mu", "tau", "nex", "scale"),
    "jsd": ("scale",),
    "mem": ("structure", "scale"),
}
#: settings left out of the design file when empty (the reader's default applies)
OPTIONAL_FIELDS = ("scale",)
IND_FIELDS = ("name", "n", "p0", "target")
GENERATE = ("null", "target", "single")
DEFAULT_DESIGN = ROOT / "config" / "basket.toml"
PRIORS_FILE = ROOT / "results" / "priors" / "priors.json"
DESIGNS_FILE = ROOT / "results" / "priors" / "designs.json"


class Cancelled(Exception):
    """The user cancelled a computation."""


# -- fields <-> design-file table ------------------------------------------------------------------------------------


def number(text):
    """A field's text as an int or float when it is one, else the text itself (for the reader's message)."""
    if not isinstance(text, str):
        return text
    s = text.strip()
    for kind in (int, float):
        try:
            v = kind(s)
        except ValueError:
            continue
        return v if kind is int or math.isfinite(v) else s
    return s


def _text(v) -> str:
    return repr(v) if isinstance(v, float) else str(v)


@dataclass
class Priors:
    """The priors step's MAP priors (``priors.json``): names, labels, mixtures and stored robust weights."""

    file: Path | None
    stored: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = PRIORS_FILE) -> Priors:
        if path is None or not Path(path).is_file():
            return cls(None, {})
        try:
            return cls(Path(path), json.loads(Path(path).read_text(encoding="utf-8"))["priors"])
        except (OSError, ValueError, KeyError, TypeError):
            return cls(None, {})

    @property
    def names(self) -> list[str]:
        return list(self.stored)

    def label(self, name: str) -> str:
        return str(self.stored.get(name, {}).get("label", name))

    def stored_weight(self, name: str) -> float | None:
        """The robust weight the priors step used for ``name`` (None for a prior it did not robustify)."""
        r = self.stored.get(name, {}).get("robust")
        return float(r["weight"]) if isinstance(r, dict) and "weight" in r else None

    def file_text(self, cwd: Path | None = None) -> str:
        """The file name as a design file gives it: relative to the working directory when inside it."""
        cwd = Path.cwd() if cwd is None else cwd
        try:
            return str(self.file.resolve().relative_to(cwd.resolve()))
        except ValueError:
            return str(self.file)


@dataclass
class Fields:
    """Every field of the app as text (choices as tuples), plus what a loaded design file held that the studio
    does not edit (``extras``: kept and written back unchanged)."""

    values: dict
    extras: dict = field(default_factory=dict)

    @property
    def K(self) -> int:
        return int(self.values["K"])


def fields_from_spec(spec: dict, priors: Priors) -> Fields:
    """The app's fields from a design-file table.

    Parameters
    ----------
    spec : dict
        A design-file table that :func:`analysis.basket.spec.parse` accepts.
    priors : Priors
        The priors step's MAP priors (for the stored robust weight of a ``map`` table).

    Returns
    -------
    Fields
        The fields, and in ``extras`` what the studio shows but does not edit (interim rules, a second
        method of one kind, per-indication lists), written back unchanged by :func:`spec_from_fields`.
    """
    v: dict = {}
    extras: dict = {"design": {}, "indication": [], "method": {}, "calibration": {}, "names": {}}
    d = dict(spec.get("design", {}))
    v["design_name"] = str(d.pop("name", "basket"))
    extras["design"] = d
    inds = spec.get("indication", [])
    v["K"] = len(inds)
    for i, t in enumerate(inds):
        for key in IND_FIELDS:
            v[f"ind_{key}_{i}"] = _text(t.get(key, ""))
        v[f"thr_c_{i}"] = _text(t.get("c", ""))
        extras["indication"].append({k: x for k, x in t.items() if k not in (*IND_FIELDS, "c")})
    chosen = []
    v |= _method_defaults(len(inds), priors)
    for name, table in spec.get("method", {}).items():
        kind = table.get("type", name)
        if kind not in KINDS or kind in chosen:
            extras.setdefault("skipped", []).append(name)
            continue
        chosen.append(kind)
        extras["names"][kind] = name
        rest = {k: x for k, x in table.items() if k != "type"}
        if kind == "independent":
            if "map" in rest:
                m = rest.pop("map")
                names = m.get("names", "vague")
                names = names if isinstance(names, list) else [names] * len(inds)
                v["prior_mode"] = "map"
                for i, nm in enumerate(names):
                    v[f"prior_map_{i}"] = nm
                robust = m.get("robust", True)
                ws = [priors.stored_weight(nm) for nm in names]
                w = next((x for x in ws if x is not None), 0.2)
                v["prior_robust"] = _text(w if robust else 0.0)
            else:
                p = rest.pop("prior", [1, 1])
                if isinstance(p, list) and p and isinstance(p[0], list):
                    v["prior_mode"] = "mixture"
                    v["prior_mixture"] = json.dumps(p)
                else:
                    v["prior_mode"] = "vague"
                    v["prior_a"], v["prior_b"] = (_text(x) for x in p)
        else:
            prior = rest.get("prior")
            if isinstance(prior, list) and len(prior) == 2 and "prior_a" in METHOD_FIELDS[kind]:
                v[f"{kind}_prior_a"], v[f"{kind}_prior_b"] = (_text(x) for x in rest.pop("prior"))
            for f in METHOD_FIELDS[kind]:
                if f in rest and isinstance(rest[f], (str, int, float)):  # lists (one per indication) stay extras
                    v[f"{kind}_{f}"] = _text(rest.pop(f))
        extras["method"][kind] = rest
    v["methods"] = tuple(chosen)
    gen = spec.get("scenarios", {}).get("generate", [])
    v["scen_generate"] = tuple(g for g in GENERATE if g in gen)
    v["scen_custom"] = "\n".join(
        f"{t.get('name', '')}: {', '.join(_text(x) for x in t.get('p', []))}" for t in spec.get("scenario", [])
    )
    cal = spec.get("calibration")
    v["thr_mode"] = "calibrated" if cal is not None else "nominal"
    cal = cal or {}
    v["cal_alpha"] = _text(cal.get("alpha", 0.1))
    v["cal_control"] = cal.get("control", "each")
    v["cal_thresholds"] = cal.get("thresholds", "per-indication")
    extras["calibration"] = {k: x for k, x in cal.items() if k not in ("alpha", "control", "thresholds")}
    return Fields(v, extras)


def _method_defaults(K: int, priors: Priors) -> dict:
    """Settings shown for a method that the design does not use yet (config/basket.toml's); an empty ``scale``
    leaves the reader's default (the null scale when the null rates differ)."""
    v = {
        "prior_mode": "vague",
        "prior_a": "1",
        "prior_b": "1",
        "prior_robust": "0.2",
        "prior_mixture": "[[0.8, 5, 5], [0.2, 1, 1]]",
        "hierarchical_mu": "Normal(0.65, 1.5)",
        "hierarchical_tau": "HalfNormal(1)",
        "hierarchical_scale": "null",
        "exnex_mu": "Normal(0.65, 1.5)",
        "exnex_tau": "HalfNormal(1)",
        "exnex_nex": "Normal(0.65, 2)",
        "exnex_w": "0.5",
        "exnex_scale": "null",
        "jsd_prior_a": "1",
        "jsd_prior_b": "1",
        "jsd_epsilon": "2.0",
        "jsd_tau": "0.5",
        "jsd_logbase": "e",
        "jsd_scale": "null",
        "mem_prior_a": "1",
        "mem_prior_b": "1",
        "mem_inclusion": "0.5",
        "mem_structure": "symmetric",
        "mem_scale": "null",
    }
    for i in range(K):
        v[f"prior_map_{i}"] = "vague" if "vague" in priors.stored else (priors.names or ["vague"])[0]
    return v


def spec_from_fields(f: Fields, priors: Priors, where: str = "studio design") -> dict:
    """The design-file table of the fields (numbers in text fields become numbers; other text stays text, so
    that the reader names it).

    Parameters
    ----------
    f : Fields
        The app's fields.
    priors : Priors
        The priors step's MAP priors.
    where : str
        The design's name in messages (the CLI uses the file's path).

    Returns
    -------
    dict
        The table, as ``tomllib`` reads it from the file :func:`dumps` writes.

    Raises
    ------
    DesignError
        For what no design file can hold (a robust weight outside [0, 1], or another weight than the priors
        step's with different MAP priors per indication).
    """
    v, ex = f.values, f.extras
    spec: dict = {"design": {"name": v["design_name"], **ex.get("design", {})}}
    inds = []
    for i in range(f.K):
        t = {key: (number(v[f"ind_{key}_{i}"]) if key != "name" else v[f"ind_{key}_{i}"]) for key in IND_FIELDS}
        t["c"] = number(v[f"thr_c_{i}"])
        extra = ex.get("indication", [])
        inds.append(t | (extra[i] if i < len(extra) else {}))
    spec["indication"] = inds
    methods = {}
    for kind in v["methods"]:
        name = ex.get("names", {}).get(kind, kind)
        table: dict = {} if name == kind else {"type": kind}
        if kind == "independent":
            table |= _independent(v, f.K, priors, f"{where}, [method.{name}]")
        else:
            for fl in METHOD_FIELDS[kind]:
                if fl == "prior_a":
                    table["prior"] = [number(v[f"{kind}_prior_a"]), number(v[f"{kind}_prior_b"])]
                elif fl != "prior_b":
                    text = v[f"{kind}_{fl}"]
                    if fl in OPTIONAL_FIELDS and not str(text).strip():
                        continue
                    table[fl] = str(text) if fl in TEXT_FIELDS.get(kind, ()) else number(text)
        methods[name] = table | ex.get("method", {}).get(kind, {})
    spec["method"] = methods
    if v["scen_generate"]:
        spec["scenarios"] = {"generate": list(v["scen_generate"])}
    scen = []
    for line in str(v.get("scen_custom", "")).splitlines():
        if not line.strip():
            continue
        name, sep, rest = line.partition(":")
        p = [number(x) for x in rest.split(",")] if sep and rest.strip() else []
        scen.append({"name": name.strip(), "p": p})
    if scen:
        spec["scenario"] = scen
    if v["thr_mode"] == "calibrated":
        spec["calibration"] = {
            "alpha": number(v["cal_alpha"]),
            "control": v["cal_control"],
            "thresholds": v["cal_thresholds"],
            **ex.get("calibration", {}),
        }
        if v["cal_control"] == "fwer" and v["cal_thresholds"] == "per-indication":
            del spec["calibration"]["thresholds"]  # family-wise control has one common threshold anyway
    return spec


def _independent(v: dict, K: int, priors: Priors, where: str) -> dict:
    mode = v["prior_mode"]
    if mode == "vague":
        return {"prior": [number(v["prior_a"]), number(v["prior_b"])]}
    if mode == "mixture":
        try:
            comps = json.loads(v["prior_mixture"])
        except ValueError:
            comps = v["prior_mixture"]
        return {"prior": comps}
    if priors.file is None:
        raise DesignError(f"{where}, key 'map': no priors.json of the priors step; run `make paper` first")
    names = [v[f"prior_map_{i}"] for i in range(K)]
    w = weight(number(v["prior_robust"]), "robust_weight", where, zero=True)
    stored = {priors.stored_weight(nm) for nm in names} - {None}
    file = priors.file_text()
    one = names[0] if len(set(names)) == 1 else names
    if w == 0:
        return {"map": {"file": file, "names": one, "robust": False}}
    if not stored or stored == {w}:
        return {"map": {"file": file, "names": one, "robust": True}}
    if len(set(names)) > 1:
        raise DesignError(
            f"{where}, key 'robust_weight': {w} differs from the priors step's weight "
            f"({', '.join(f'{x:g}' for x in sorted(stored))}); a design file holds another weight only as one "
            "mixture for every indication: choose one MAP prior for all, or the priors step's weight"
        )
    from analysis.priors.mixture import Mixture

    mix = Mixture.from_dict(priors.stored[names[0]]["informative_mixture"])
    if w < 1:
        mix = mix.robustify(w)
        comps = [[float(c[0]), float(c[1]), float(c[2])] for c in mix.components]
    else:
        comps = [[1.0, 1.0, 1.0]]  # all weight on the robust component, Beta(1, 1)
    return {"prior": comps}


def check(f: Fields, priors: Priors, where: str = "studio design", base: Path | None = None) -> tuple[dict, Design]:
    """The design-file table of the fields and the design the CLI reads from it.

    Parameters
    ----------
    f : Fields
        The app's fields.
    priors : Priors
        The priors step's MAP priors.
    where : str
        The design's name in messages.
    base : Path, optional
        The folder relative file names are read from (default: the working directory).

    Returns
    -------
    tuple of (dict, Design)
        The table and :func:`analysis.basket.spec.parse` of it.

    Raises
    ------
    DesignError
        The reader's message (the CLI's) for the first bad value.
    """
    spec = spec_from_fields(f, priors, where)
    return spec, parse(spec, where, base if base is not None else Path.cwd())


_IND_KEY = re.compile(r"indication '(?P<name>.*?)', key '(?P<key>\w+)'")
_IND_NUM = re.compile(r"\[\[indication\]\] #(?P<i>\d+)")
_METHOD = re.compile(r"\[method\.(?P<name>[^\]]+)\](?:, key '(?P<key>\w+)')?")
_CAL = re.compile(r"\[calibration\], key '(?P<key>\w+)'")


def field_of(message: str, f: Fields) -> str:
    """The id of the field a design-file message is about.

    Parameters
    ----------
    message : str
        A :class:`DesignError` message (it names the table, the indication or method, and the key).
    f : Fields
        The fields that produced it.

    Returns
    -------
    str
        A field id (``ind_p0_0``, ``thr_c_1``, ``exnex_w``, ``cal_alpha``, ...), ``method_KIND`` for a
        method's settings as a whole, or ``general``.
    """
    v = f.values
    m = _IND_KEY.search(message)
    if m:
        names = [v[f"ind_name_{i}"] for i in range(f.K)]
        i = names.index(m["name"]) if m["name"] in names else 0
        key = m["key"]
        if key == "c":
            return f"thr_c_{i}"
        return f"ind_{key}_{i}" if key in IND_FIELDS else f"ind_name_{i}"
    m = _IND_NUM.search(message)
    if m:
        return f"ind_name_{int(m['i']) - 1}"
    if "indication names must be unique" in message:
        return f"ind_name_{max(f.K - 1, 0)}"
    m = _CAL.search(message)
    if m:
        return {"alpha": "cal_alpha", "control": "cal_control", "thresholds": "cal_thresholds"}.get(
            m["key"], "cal_alpha"
        )
    m = _METHOD.search(message)
    if m:
        names = {n: k for k, n in f.extras.get("names", {}).items()}
        kind = names.get(m["name"], m["name"])
        key = m["key"]
        if kind == "independent":
            if key == "robust_weight":
                return "prior_robust"
            if key == "map" or v["prior_mode"] == "map":
                return "prior_map_0"
            return "prior_mixture" if v["prior_mode"] == "mixture" else "prior_a"
        if key == "prior":
            return f"{kind}_prior_a"
        if key and f"{kind}_{key}" in v:
            return f"{kind}_{key}"
        return f"method_{kind}"
    if "[[scenario]]" in message or "scenario names" in message:
        return "scen_custom"
    if "[scenarios]" in message or "no scenarios" in message:
        return "scen_generate"
    if "[method." in message or "need at least one [method" in message:
        return "methods"
    if "[design], key 'name'" in message:
        return "design_name"
    return "general"


# -- TOML ------------------------------------------------------------------------------------------------------------


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return {math.inf: "inf", -math.inf: "-inf"}.get(v, "nan")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} to TOML")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def dumps(spec: dict, header: str = "") -> str:
    """A design file (TOML) holding ``spec``.

    Parameters
    ----------
    spec : dict
        A design-file table (strings, numbers, booleans, lists and tables).
    header : str
        Comment lines at the top.

    Returns
    -------
    str
        TOML text with ``tomllib.loads(dumps(spec)) == spec``: floats are written with ``repr``, which reads
        back to the same number, so the CLI computes from exactly the studio's values.
    """
    out = [f"# {line}" for line in header.splitlines()]
    for top in ("design", "indication", "method", "scenarios", "scenario", "calibration"):
        if top not in spec:
            continue
        val = spec[top]
        if top == "method":
            for name, table in val.items():
                out += ["", f"[method.{_key(name)}]"] + [f"{_key(k)} = {_value(x)}" for k, x in table.items()]
        elif isinstance(val, list):
            for table in val:
                out += ["", f"[[{top}]]"] + [f"{_key(k)} = {_value(x)}" for k, x in table.items()]
        else:
            out += ["", f"[{top}]"] + [f"{_key(k)} = {_value(x)}" for k, x in val.items()]
    return "\n".join(out).lstrip("\n") + "\n"


# -- computation -----------------------------------------------------------------------------------------------------


@dataclass
class Results:
    """One computation: the OC table as ``python -m analysis design`` writes it, calibration rows, timing."""

    oc: pd.DataFrame
    calibration: pd.DataFrame
    mode: str
    seconds: float
    outcomes: int
    spec: dict
    #: CPU seconds of the computing thread (steadier than ``seconds`` on a busy machine)
    cpu_seconds: float = float("nan")


def space_key(design: Design, spec: dict, name: str) -> str:
    """What the posterior summaries of a method's joint outcome space depend on: sample sizes, null rates,
    interim rules (and thresholds when an interim looks ahead to them), the interim prior and the method's
    settings; not the target rates, thresholds, scenarios or calibration."""
    interim = any(i.interim_n is not None for i in design.indications)
    inds = [(i.n, i.p0, i.interim_n, i.futility, i.efficacy, i.c if interim else None) for i in design.indications]
    settings = [list(design.interim_prior), getattr(design, "interim", None), getattr(design, "interim_rule", None)]
    return json.dumps([inds, settings, name, spec["method"][name]], default=str, sort_keys=True)


class Engine:
    """Operating characteristics of designs, reusing each method's outcome-space summaries across changes.

    Parameters
    ----------
    max_spaces : int
        How many outcome spaces to keep (least recently used dropped first).
    """

    def __init__(self, max_spaces: int = 16):
        self.max_spaces = max_spaces
        self._spaces: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.RLock()  # sessions (browser tabs) share one engine; each computes in its thread
        self.hits = 0
        self.misses = 0
        self.reuse = Reuse(2 * max_spaces)

    def space(self, design: Design, spec: dict, method):
        """The method's :class:`~analysis.basket.design.ExactSpace` for the design, stored or computed."""
        key = space_key(design, spec, method.name)
        with self._lock:
            if key in self._spaces:
                self._spaces.move_to_end(key)
                self.hits += 1
                return self._spaces[key]
            self.misses += 1
            sp = self.reuse.space(design, method, spec["method"][method.name])
            self._spaces[key] = sp
            while len(self._spaces) > self.max_spaces:
                self._spaces.popitem(last=False)
            return sp

    def needs_work(self, design: Design, spec: dict) -> bool:
        """Whether :meth:`compute` has more to do than reuse stored spaces (simulation, or a new space)."""
        if not use_exact(design):
            return True
        with self._lock:
            return any(space_key(design, spec, m.name) not in self._spaces for m in design.methods)

    def compute(
        self,
        design: Design,
        spec: dict,
        progress: Callable[[float, str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Results:
        """The OC table and calibration rows of ``design``, as :func:`analysis.basket.run.run` computes them.

        Parameters
        ----------
        design : Design
            A checked design (:func:`check`).
        spec : dict
            Its design-file table (the methods' settings key the stored outcome spaces).
        progress : callable, optional
            ``progress(fraction, message)``, told of each step (a method's outcome space, a simulated chunk).
        cancelled : callable, optional
            Asked between steps; when it returns true the work stops with :class:`Cancelled`.

        Returns
        -------
        Results
            The table (rows and columns as ``oc.csv``), calibration rows, mode and seconds.
        """
        say = progress or (lambda *_: None)
        stop = cancelled or (lambda: False)
        t0, c0 = time.perf_counter(), time.thread_time()
        rows, cal_rows = [], []
        exact = use_exact(design)
        if exact:
            M = len(design.methods)
            for mi, m in enumerate(design.methods):
                if stop():
                    raise Cancelled()
                say(mi / M, f"{m.label}: posterior summaries of {n_outcomes(design):,} joint outcomes")
                part = method_oc(design, m, self.space(design, spec, m))
                rows += part["oc"]
                cal_rows += part["calibration"]
        else:
            rows, cal_rows = self._simulate(design, say, stop)
        say(1.0, "done")
        return Results(
            ordered(design, pd.DataFrame(rows)),
            pd.DataFrame(cal_rows),
            "exact" if exact else "simulate",
            time.perf_counter() - t0,
            n_outcomes(design),
            spec,
            time.thread_time() - c0,
        )

    def _simulate(self, design: Design, say, stop) -> tuple[list, list]:
        """Chunk by chunk as :func:`analysis.basket.run.operating_characteristics` (same seeds, same numbers)."""
        cal_rows = []
        thresholds = None
        if design.calibration is not None:
            thresholds = {}
            for m in design.methods:
                if stop():
                    raise Cancelled()
                say(0.0, f"{m.label}: calibrating on simulated null trials")
                res = calibrate(design, m, design.calibration, exact=False)
                thresholds[m.name] = res["thresholds"]
                cal_rows += res["rows"]
        sizes = chunk_sizes(design)
        n_chunks = len(sizes)
        labels = ("nominal", "calibrated") if thresholds else ("nominal",)
        total = len(labels) * len(design.methods) * len(design.scenarios) * n_chunks
        done, rows = 0, []
        for label in labels:
            for m in design.methods:
                thr = None if label == "nominal" else tuple(thresholds[m.name])
                for s in design.scenarios:
                    parts = []
                    for c in range(n_chunks):
                        if stop():
                            raise Cancelled()
                        say(done / total, f"simulating {m.label}, {s.name} ({label}): chunk {c + 1} of {n_chunks}")
                        parts.append(simulate_chunk(design, m, s, c, sizes[c], thr))
                        done += 1
                    rows += [r | {"thresholds": label} for r in combine_chunks(design, m, s, parts)]
        return rows, cal_rows


def load_designs(path: Path | None = DESIGNS_FILE) -> dict:
    """The priors step's trial designs (``designs.json``), or an empty dict when it has not run."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")) if path is not None else {}
    except (OSError, ValueError):
        return {}


def prior_design_tables(designs: dict) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Per design of the priors step (``designs.json``): a title, its settings and its operating
    characteristics: for a single-arm design its priors calibrated to each alpha (threshold, type I error,
    power, expected sample sizes), for a two-arm design P(success) at treatment rates 0, 0.1, ..., 1 with the
    control at ``p_c``."""
    keys = (
        "type", "n", "n_t", "n_c", "p0", "p_c", "delta", "c", "interim_n", "futility",
        "prior", "prior_treatment", "prior_control", "decision",
    )  # fmt: skip
    out = []
    for name, d in designs.items():
        shown = [k for k in keys if k in d]
        settings = pd.DataFrame({"setting": shown, "value": [str(d[k]) for k in shown]})
        if "calibration" in d:
            cal = pd.DataFrame(d["calibration"])
            cols = ("prior", "alpha", "c", "type1", "power", "expected_n_null", "expected_n_alt")
            oc = cal[[c for c in cols if c in cal]]
        elif "oc" in d and "grid" in d:
            grid, succ = np.asarray(d["grid"], float), np.asarray(d["oc"], float)
            at = [int(np.argmin(np.abs(grid - x))) for x in np.linspace(0, 1, 11)]
            oc = pd.DataFrame({"treatment rate": grid[at], "P(success)": succ[at]})
        else:
            oc = pd.DataFrame()
        out.append((f"{name} ({d.get('type', '')})", settings, oc))
    return out


def oc_display(df: pd.DataFrame) -> pd.DataFrame:
    """The OC table's columns for display: the CLI's (thresholds, scenario, method, indication, true rate, P(go),
    its Monte Carlo SE when simulated, FWER, expected N, bias, MSE), then the interim stopping probabilities."""
    return df[[c for c in (*DISPLAY_COLUMNS, "stop_futility", "stop_efficacy") if c in df]]


def registered_kinds() -> list[str]:
    """The studio's method kinds that the designer's registry has (all of :data:`KINDS` on main)."""
    return [k for k in KINDS if k in registry.REGISTRY]


__all__ = [
    "Cancelled",
    "DesignError",
    "Engine",
    "Fields",
    "Priors",
    "Results",
    "check",
    "dumps",
    "field_of",
    "fields_from_spec",
    "spec_from_fields",
]
