"""Priors and designs from a specification file, without writing Python.

A TOML file lists ``[[prior]]`` and ``[[design]]`` tables (see
``config/follow_up.toml`` and the README).  A prior is one of

- ``disease = "SLE"``: the MAP prior from the published cohorts of that
  disease (``data/raw/published_cohorts.csv``, one row per overlap group);
- ``studies = [{name = "...", n = 20, r = 5}, ...]``: the MAP prior from the
  given historical studies;
- ``mixture = [[w, a, b], ...]``: a Beta mixture given directly;

optionally robustified (``robust_weight``, ``robust_mean``, ``robust_n``),
with MAP settings ``mu``, ``tau`` (priors as text) and ``max_components``.
A design is ``one-sample`` (``n``, ``p0``, ``c``; optional ``interim_n``
and ``futility``; ``design_prior``; ``compare`` = other priors to evaluate)
or ``two-sample`` (``prior_treatment``, ``prior_control``, ``n_t``, ``n_c``,
``delta``, ``c``, ``p_c``).  Errors name the file, the table and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np

from analysis.bayes.prior import Prior
from analysis.io import write_json
from analysis.priors import design as D
from analysis.priors.gmap import MAP_PRIORS, gmap
from analysis.priors.mixture import BetaMixture
from analysis.settings import COHORTS, MCMC, SETTINGS


class SpecError(ValueError):
    pass


def _req(table: dict, key: str, where: str, kind=None):
    if key not in table:
        raise SpecError(f"{where}: missing field '{key}'")
    v = table[key]
    if kind is not None and not isinstance(v, kind):
        raise SpecError(f"{where}, field '{key}': {v!r} is not {getattr(kind, '__name__', kind)}")
    return v


def load_spec(path: Path) -> dict:
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SpecError(f"{path}: file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from err
    if not spec.get("prior"):
        raise SpecError(f"{path}: no [[prior]] table")
    names = [p.get("name") for p in spec["prior"]]
    for i, p in enumerate(spec["prior"], start=1):
        where = f"{path}: [[prior]] #{i}"
        _req(p, "name", where, str)
        sources = [k for k in ("disease", "studies", "mixture") if k in p]
        if len(sources) != 1:
            raise SpecError(
                f"{where} ('{p['name']}'): give exactly one of 'disease', 'studies', 'mixture'; got {sources}"
            )
    if len(set(names)) != len(names):
        raise SpecError(f"{path}: prior names must be unique, got {names}")
    for i, d in enumerate(spec.get("design", []), start=1):
        where = f"{path}: [[design]] #{i}"
        _req(d, "name", where, str)
        kind = _req(d, "type", where, str)
        required = {
            "one-sample": ["prior", "n", "p0", "c"],
            "two-sample": ["prior_treatment", "prior_control", "n_t", "n_c", "c", "p_c"],
        }
        if kind not in required:
            raise SpecError(f"{where}, field 'type': {kind!r}; expected 'one-sample' or 'two-sample'")
        for key in required[kind]:
            _req(d, key, where)
        refs = [d[k] for k in ("prior", "design_prior", "prior_treatment", "prior_control") if k in d]
        for ref in refs + list(d.get("compare", [])):
            if ref not in names:
                raise SpecError(f"{where}: prior {ref!r} is not defined; defined: {names}")
    return spec


def _studies_from_data(disease: str, cohorts_path: Path):
    from analysis.data import load_cohorts
    from analysis.frequentist.meta import SCENARIOS, select

    chosen = select(load_cohorts(cohorts_path), SCENARIOS[0])
    sub = chosen[chosen["disease"] == disease]
    if sub.empty:
        raise SpecError(f"no published cohort for disease {disease!r} in {cohorts_path}")
    return list(sub["study_id"]), list(sub["n_responders"]), list(sub["n_treated"])


def build_prior(p: dict, mcmc: MCMC, cohorts_path: Path = COHORTS) -> dict:
    """Build one prior; returns a record with the mixture and (for MAP priors) the draws."""
    rec: dict = {"name": p["name"]}
    if "mixture" in p:
        try:
            mix = BetaMixture([tuple(c) for c in p["mixture"]])
        except (TypeError, ValueError) as err:
            raise SpecError(f"prior '{p['name']}', field 'mixture': {err}") from err
        rec.update(source="given", mixture=mix)
    else:
        if "disease" in p:
            labels, r, n = _studies_from_data(p["disease"], cohorts_path)
            rec["source"] = f"MAP from published cohorts ({p['disease']})"
        else:
            try:
                labels = [s["name"] for s in p["studies"]]
                r = [int(s["r"]) for s in p["studies"]]
                n = [int(s["n"]) for s in p["studies"]]
            except (KeyError, TypeError, ValueError) as err:
                raise SpecError(f"prior '{p['name']}', field 'studies': each needs name, n and r ({err})") from err
            rec["source"] = "MAP from given studies"
        mu = Prior.parse(p["mu"]) if "mu" in p else MAP_PRIORS["mu"]
        tau = Prior.parse(p["tau"]) if "tau" in p else MAP_PRIORS["tau"]
        res = gmap(labels, r, n, mu, tau, mcmc, SETTINGS.gates, int(p.get("max_components", 4)))
        rec.update(
            mixture=res.mixture,
            draws=res.draws,
            studies=[{"name": a, "r": int(b), "n": int(c)} for a, b, c in zip(labels, r, n)],
            map_priors={"mu": repr(mu), "tau": repr(tau)},
            map_summary=res.summary(),
            em_fits=res.fits,
            diagnostics=res.diagnostics.to_dict("records"),
        )
    rec["informative"] = rec["mixture"]
    if "robust_weight" in p:
        rec["mixture"] = rec["mixture"].robustify(
            float(p["robust_weight"]), float(p.get("robust_mean", 0.5)), float(p.get("robust_n", 1))
        )
        rec["robust"] = {
            "weight": float(p["robust_weight"]),
            "mean": float(p.get("robust_mean", 0.5)),
            "n": float(p.get("robust_n", 1)),
        }
    return rec


def describe_prior(rec: dict) -> dict:
    mix = rec["mixture"]
    q = mix.quantile([0.025, 0.5, 0.975])
    out = {k: v for k, v in rec.items() if k not in ("mixture", "informative", "draws")}
    out["mixture"] = mix.to_dict()
    out["informative_mixture"] = rec["informative"].to_dict()
    out["summary"] = {"mean": mix.mean(), "sd": mix.sd(), "q025": q[0], "q50": q[1], "q975": q[2]}
    ess = {}
    for method in ("moment", "morita", "elir"):
        for label, m in (("robust", mix), ("informative", rec["informative"])):
            try:
                ess.setdefault(label, {})[method] = m.ess(method)
            except ValueError as err:
                ess.setdefault(label, {})[method] = None
                ess.setdefault(f"{label}_notes", {})[method] = str(err)
    out["ess"] = ess
    return out


def run_design(d: dict, priors: dict[str, dict]) -> dict:
    grid = np.linspace(0, 1, int(d.get("grid", 101)))
    out = {k: v for k, v in d.items()}
    out.setdefault("power_rate", 0.8)
    if d["type"] == "one-sample":
        n, p0, c = int(d["n"]), float(d["p0"]), float(d["c"])
        out["null_events"] = round(n * p0)  # the example outcome at the null rate
        evaluated = {}
        for name in [d["prior"], *d.get("compare", [])]:
            mix = priors[name]["mixture"]
            entry = {"boundary": D.decision1S(mix, n, p0, c), "oc": D.oc1S(mix, n, p0, c, grid).tolist()}
            rates = sorted({p0, *d.get("report_rates", [0.7, 0.8, 0.9]), float(d.get("power_rate", 0.8))})
            entry["oc_at"] = {f"{r:g}": float(D.oc1S(mix, n, p0, c, [r])[0]) for r in rates}
            entry["type1"] = entry["oc_at"][f"{p0:g}"]
            entry["power"] = entry["oc_at"][f"{float(d.get('power_rate', 0.8)):g}"]
            if "design_prior" in d:
                entry["pos"] = D.pos1S(mix, n, p0, c, priors[d["design_prior"]]["mixture"])
            if "interim_n" in d:
                io = D.oc1S_interim(mix, int(d["interim_n"]), n, p0, c, float(d.get("futility", 0.1)), grid)
                entry["interim"] = {
                    "stop_if_at_most": io.stop_if_at_most,
                    "success": io.success.tolist(),
                    "futility_stop": io.futility_stop.tolist(),
                    "expected_n": io.expected_n.tolist(),
                }
            examples = []
            for y in sorted({out["null_events"], min(entry["boundary"], n)}):
                post = mix.posterior(y, n)
                q = post.quantile([0.025, 0.975])
                examples.append(
                    {
                        "events": y,
                        "n": n,
                        "mean": post.mean(),
                        "lower": q[0],
                        "upper": q[1],
                        "prob_above_p0": float(post.sf(p0)),
                        "posterior": post.to_dict(),
                        "conflict": D.conflict_pvalue(mix, y, n),
                    }
                )
            entry["examples"] = examples
            evaluated[name] = entry
        out.update(grid=grid.tolist(), priors=evaluated)
    else:
        pt, pc = priors[d["prior_treatment"]]["mixture"], priors[d["prior_control"]]["mixture"]
        n_t, n_c, delta, c = int(d["n_t"]), int(d["n_c"]), float(d.get("delta", 0.0)), float(d["c"])
        p_c = float(d["p_c"])
        out.update(
            grid=grid.tolist(),
            boundary=D.decision2S(pt, pc, n_t, n_c, delta, c).tolist(),
            oc=D.oc2S(pt, pc, n_t, n_c, delta, c, grid, p_c).tolist(),
        )
    return out


def run(spec_path: Path, out_dir: Path, mcmc: MCMC | None = None, cohorts_path: Path = COHORTS) -> dict:
    """Build every prior and design of ``spec_path``; write ``priors.json`` and ``designs.json`` to ``out_dir``."""
    spec = load_spec(spec_path)
    mcmc = mcmc or replace(SETTINGS.mcmc, seed=int(spec.get("seed", SETTINGS.mcmc.seed)))
    recs = {p["name"]: build_prior(p, mcmc, cohorts_path) for p in spec["prior"]}
    priors_out = {name: describe_prior(r) for name, r in recs.items()}
    designs = {d["name"]: run_design(d, recs) for d in spec.get("design", [])}
    out_dir = Path(out_dir)
    write_json(out_dir / "priors.json", {"spec": str(spec_path), "seed": mcmc.seed, "priors": priors_out})
    write_json(out_dir / "designs.json", designs)
    draws = {name: r["draws"] for name, r in recs.items() if "draws" in r}
    if draws:
        from analysis.io import atomic_path

        with atomic_path(out_dir / "map_draws.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **draws)
    return {"priors": priors_out, "designs": designs, "records": recs}
