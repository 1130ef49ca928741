"""Priors and designs from a specification file, without writing Python.

A TOML file lists ``[[prior]]`` and ``[[design]]`` tables (see
``config/follow_up.toml`` and the README).  A prior is one of

- ``disease = "SLE"``: the MAP prior from the published cohorts of that
  disease (``data/raw/published_cohorts.csv``, one row per overlap group), optionally restricted
  by ``products`` (product classes) and ``endpoint_classes`` before the overlap groups are reduced;
  its ESS is reported for the fitted mixture (``ess``) and for the exact MAP distribution
  (``ess_exact``, :mod:`analysis.priors.map_exact`);
- ``studies = [{name = "...", n = 20, r = 5}, ...]``: the MAP prior from the
  given historical studies;
- ``mixture = [[w, a, b], ...]``: a Beta mixture given directly; with ``family = "normal"``
  (rows ``[w, m, s]``, and ``sigma``, the reference scale) or ``family = "gamma"`` (rows
  ``[w, a, b]``, shape and rate, and ``likelihood = "poisson"`` or ``"exp"``) a Normal or Gamma
  mixture; ``family = "normal"`` with ``studies = [{name, m, se}]`` or ``family = "poisson"`` with
  ``studies = [{name, y, exposure}]`` builds a MAP prior for a mean or an event rate;
- ``family = "mvnormal"`` with ``components = [{w, mean = [...], cov = [[...]]}, ...]`` (and optional
  ``sigma_cov``): a multivariate normal mixture (RBesT's ``mixmvnorm``), a prior for a model
  (:func:`analysis.priors.pymc_prior.as_pymc`), not for a design;

optionally robustified (``robust_weight``, ``robust_mean``, ``robust_n``; RBesT's defaults),
with MAP settings ``mu``, ``tau`` (priors as text) and ``max_components``; a key that would have no
effect is refused by the schema.
A design is ``one-sample`` (``n``, ``p0``, ``c``; optional ``interim_n``
and ``futility``; ``design_prior``; ``compare`` = other priors to evaluate; ``[design.sensitivity]``
with lists ``p0`` and ``robust_weight`` and ``delta`` (power at p0 + delta); ``[design.calibration]``
with ``alpha`` (target type I errors) and ``match`` (a prior whose type I error at c is the target),
see :mod:`analysis.priors.calibrate`)
or ``two-sample`` (``prior_treatment``, ``prior_control``, ``n_t``, ``n_c``,
``delta``, ``c``, ``p_c``; optional ``power_rate``, the treatment value of the reported power) or ``adaptive-two-sample`` (Schmidli et al. 2014: ``prior_treatment``,
``prior_control``, stage-1 controls ``n1``, ``n_target``, ``n_min``, treatment size ``m``, ``c``,
``delta``, true control rates ``p_c`` and effects ``effect``; :mod:`analysis.priors.adaptive2S`).
Errors name the file, the table and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np

from analysis.bayes.prior import Prior
from analysis.io import write_json
from analysis.priors.adaptive2S import adaptive2S
from analysis.priors.calibrate import calibrate1S
from analysis.priors.decision1S import decision1S
from analysis.priors.decision2S import decision2S
from analysis.priors.ess import METHODS, S_DEFAULT, ess
from analysis.priors.gmap import MAP_PRIORS, gmap, gmap_normal, gmap_poisson
from analysis.priors.interim import oc1S_interim
from analysis.priors.map_exact import elir_share_mixture, map_exact
from analysis.priors.mixmvnorm import MvNormalMixture
from analysis.priors.mixture import BetaMixture, GammaMixture, NormalMixture
from analysis.priors.oc1S import oc1S
from analysis.priors.oc2S import oc2S
from analysis.priors.pos1S import pos1S
from analysis.priors.preddist import conflict
from analysis.priors.schema import SpecError  # noqa: E402  (SpecError is re-exported)
from analysis.priors.schema_errors import validate_spec
from analysis.settings import COHORTS, MCMC, SETTINGS


def _req(table: dict, key: str, where: str, kind=None):
    if key not in table:
        raise SpecError(f"{where}: missing field '{key}'")
    v = table[key]
    if kind is not None and not isinstance(v, kind):
        raise SpecError(f"{where}, field '{key}': {v!r} is not {getattr(kind, '__name__', kind)}")
    return v


def load_spec(path: Path) -> dict:
    """Read and validate a specification file (:mod:`analysis.priors.schema`); returns the checked tables."""
    path = Path(path)
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, expected a TOML file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SpecError(f"{path}: file not found") from err
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from err
    spec = validate_spec(raw, path)
    out = spec.model_dump(exclude_none=True, exclude_unset=True)
    out["prior"] = [p.model_dump(exclude_none=True, exclude_unset=True) for p in spec.prior]
    for p in out["prior"]:
        if "studies" in p:
            p["studies"] = [{k: v for k, v in s.items() if v is not None} for s in p["studies"]]
    out["design"] = [d.model_dump(exclude_none=True, exclude_unset=True) for d in spec.design]
    out["seed"] = spec.seed  # the schema's default (the analysis' seed) when the file gives none
    return out


def _studies_from_data(disease: str, cohorts_path: Path, products=None, endpoint_classes=None):
    """Published cohorts of ``disease`` (never the systematic-review rows), restricted to the given
    product and endpoint classes *before* one row per overlap group is kept (the largest eligible one),
    so that a restriction never brings back a cohort that shares patients with another."""
    from analysis.data import load_cohorts
    from analysis.frequentist.meta import Scenario, select

    cohorts = load_cohorts(cohorts_path)
    cohorts = cohorts[cohorts["disease"] == disease]
    exclude = ()
    if endpoint_classes is not None:
        exclude = tuple(sorted(set(cohorts["endpoint_class"]) - set(endpoint_classes)))
    scenario = Scenario(
        "spec", "spec", exclude_endpoint_classes=exclude, products=tuple(products) if products else None
    )
    sub = select(cohorts, scenario)
    if sub.empty:
        raise SpecError(
            f"no published cohort for disease {disease!r} with products {products} and endpoint classes "
            f"{endpoint_classes} in {cohorts_path}"
        )
    return list(sub["study_id"]), list(sub["n_responders"]), list(sub["n_treated"])


def build_prior(p: dict, mcmc: MCMC, cohorts_path: Path = COHORTS) -> dict:
    """Build one prior; returns a record with the mixture and (for MAP priors) the draws."""
    rec: dict = {"name": p["name"], "label": p.get("label", p["name"])}
    family = p.get("family", "beta")
    if family == "mvnormal":  # a prior on several parameters at once (checked by the schema)
        comps = [(c["w"], c["mean"], c["cov"]) for c in p["components"]]
        rec.update(mixture=MvNormalMixture(comps, sigma=p.get("sigma_cov")), source="given multivariate normal mixture")
        return rec
    if family not in ("beta", "normal", "gamma", "poisson"):
        raise SpecError(f"prior '{p['name']}', field 'family': {family!r}; expected beta, normal, gamma or poisson")
    if "mixture" in p:
        try:
            rows = [tuple(c) for c in p["mixture"]]
            if family == "normal":
                mix = NormalMixture(rows, sigma=float(p["sigma"]) if "sigma" in p else None)
            elif family in ("gamma", "poisson"):
                mix = GammaMixture(rows, likelihood=p.get("likelihood", "poisson"))
            else:
                mix = BetaMixture(rows)
        except (TypeError, ValueError) as err:
            raise SpecError(f"prior '{p['name']}', field 'mixture': {err}") from err
        rec.update(source="given", mixture=mix)
    elif family in ("normal", "poisson", "gamma"):  # studies (the schema refuses 'disease' for these families)
        # gamma: the studies are counts {y, exposure}, so the MAP model is the Poisson one (its Gamma mixture)
        hyper = {k: Prior.parse(p[k]) for k in ("mu", "tau") if k in p}
        try:
            labels = [s["name"] for s in p["studies"]]
            if family == "normal":
                sigma = float(p["sigma"])
                res = gmap_normal(
                    labels,
                    [float(s["m"]) for s in p["studies"]],
                    [float(s["se"]) for s in p["studies"]],
                    sigma,
                    **hyper,
                    mcmc=mcmc,
                    max_components=int(p.get("max_components", 4)),
                )
            else:
                res = gmap_poisson(
                    labels,
                    [int(s["y"]) for s in p["studies"]],
                    [float(s["exposure"]) for s in p["studies"]],
                    **hyper,
                    mcmc=mcmc,
                    max_components=int(p.get("max_components", 4)),
                )
        except (KeyError, TypeError, ValueError) as err:
            raise SpecError(f"prior '{p['name']}', field 'studies'/'sigma': {err}") from err
        rec.update(
            map_priors={k: repr(v) for k, v in res.spec.priors.items()},
            source=f"MAP from given studies ({family})",
            mixture=res.mixture,
            draws=res.draws,
            studies=list(p["studies"]),
            map_summary=res.summary(),
            em_fits=res.fits,
            diagnostics=res.diagnostics.to_dict("records"),
        )
    else:
        if "disease" in p:
            labels, r, n = _studies_from_data(p["disease"], cohorts_path, p.get("products"), p.get("endpoint_classes"))
            rec["source"] = f"MAP from published cohorts ({p['disease']})"
            rec["selection"] = {
                "disease": p["disease"],
                "products": p.get("products", "all"),
                "endpoint_classes": p.get("endpoint_classes", "all"),
            }
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
        if mu.dist == "Normal" and tau.dist == "HalfNormal":
            rec["exact"] = map_exact(r, n, mu, tau)
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
        mean = float(p["robust_mean"]) if "robust_mean" in p else None
        try:
            rec["mixture"] = rec["mixture"].robustify(float(p["robust_weight"]), mean, float(p.get("robust_n", 1)))
        except ValueError as err:
            raise SpecError(f"prior '{p['name']}', robustification: {err}") from err
        rec["robust"] = {
            "weight": float(p["robust_weight"]),
            "mean": mean if mean is not None else rec["informative"]._default_robust_mean(),
            "n": float(p.get("robust_n", 1)),
        }
    return rec


#: a Beta component with a + b at most this is counted as vague: worth at most one patient more than
#: the Beta(1, 1) robust component
VAGUE_AB = 3.0


def vague_weights(informative: BetaMixture, robust: BetaMixture, max_ab: float = VAGUE_AB) -> dict:
    """The weight of vague components (a + b <= ``max_ab``) in the informative mixture and in the
    robustified one: the mixture fitted to the MAP draws can itself carry a near-uniform component (a
    tail of the MAP distribution), so the robust prior's effective vague weight can exceed its nominal
    robust weight."""

    def share(mix: BetaMixture) -> float:
        return float(sum(w for w, a, b in mix.components if a + b <= max_ab))

    return {"max_ab": max_ab, "informative_weight": share(informative), "effective_weight": share(robust)}


def describe_prior(rec: dict) -> dict:
    mix = rec["mixture"]
    if isinstance(mix, MvNormalMixture):  # no ESS or quantiles: mean vector and covariance
        out = {k: v for k, v in rec.items() if k != "mixture"}
        out.update(
            family=mix.family, mixture=mix.to_dict(), summary={"mean": mix.mean().tolist(), "cov": mix.cov().tolist()}
        )
        return out
    q = mix.quantile([0.025, 0.5, 0.975])
    out = {k: v for k, v in rec.items() if k not in ("mixture", "informative", "draws")}
    out["mixture"] = mix.to_dict()
    out["informative_mixture"] = rec["informative"].to_dict()
    out["summary"] = {"mean": mix.mean(), "sd": mix.sd(), "q025": q[0], "q50": q[1], "q975": q[2]}
    out["family"] = mix.family
    ess_out: dict = {}
    for method in METHODS:
        for label, m in (("robust", mix), ("informative", rec["informative"])):
            try:
                ess_out.setdefault(label, {})[method] = ess(m, method)
            except ValueError as err:
                ess_out.setdefault(label, {})[method] = None
                ess_out.setdefault(f"{label}_notes", {})[method] = str(err)
    out["ess"] = ess_out
    out["ess_settings"] = {"morita_s": S_DEFAULT, "morita_location": "mode (RBesT mixmode)"}
    if isinstance(mix, BetaMixture):
        out["vague"] = vague_weights(rec["informative"], mix)
    if "exact" in rec:  # the ESS of the MAP distribution itself, by quadrature (no MCMC, no mixture fit)
        exact = rec["exact"]
        versions = {"informative": exact}
        if "robust" in rec:
            comp = rec["mixture"].components[-1]
            versions["robust"] = exact.robustify(rec["robust"]["weight"], comp[1], comp[2])
        out["ess_exact"] = {label: {m: float(e.ess(m)) for m in METHODS} for label, e in versions.items()}
        q = exact.quantile([0.025, 0.5, 0.975])
        out["exact_summary"] = {
            "mean": exact.mean(),
            "sd": float(np.sqrt(exact.var())),
            "q025": float(q[0]),
            "q50": float(q[1]),
            "q975": float(q[2]),
            "p_above_0.99": exact.share(0.99),
        }
        # how much of each ELIR comes from rates above 0.99, where 1 / (p (1 - p)) exceeds 100
        out["elir_above_0.99"] = {
            "exact": exact.elir_share(0.99),
            "mixture": elir_share_mixture(rec["informative"], 0.99),
        }
    return out


def _grid(d: dict, mix) -> np.ndarray:
    if isinstance(mix, BetaMixture):
        return np.linspace(0, 1, int(d.get("grid", 101)))
    lo, hi = d.get("grid_range", mix.quantile([0.001, 0.999]).tolist())
    return np.linspace(float(lo), float(hi), int(d.get("grid", 101)))


def run_design(d: dict, priors: dict[str, dict]) -> dict:
    """Evaluate one design.  One-sample: success when P(theta > p0 | data) > c (an upper-tail
    :func:`decision1S`); two-sample: P(theta_t - theta_c > delta | data) > c (:func:`decision2S`).
    ``boundary`` is, as before, the fewest responders (the smallest statistic) that succeed."""
    out = {k: v for k, v in d.items()}
    if d["type"] == "one-sample":
        out.setdefault("power_rate", 0.8)
        n, p0, c = int(d["n"]), float(d["p0"]), float(d["c"])
        decision = decision1S(c, p0, lower_tail=False)
        out["decision"] = repr(decision)
        grid = _grid(d, priors[d["prior"]]["mixture"])
        out["null_events"] = round(n * p0)  # the example outcome at the null rate
        evaluated = {}
        for name in [d["prior"], *d.get("compare", [])]:
            mix = priors[name]["mixture"]
            oc = oc1S(mix, n, decision)
            discrete = mix.discrete
            boundary = int(oc.boundary) + 1 if discrete else float(oc.boundary)
            entry = {"boundary": boundary, "oc": oc(grid).tolist()}
            rates = sorted({p0, *d.get("report_rates", [0.7, 0.8, 0.9]), float(d.get("power_rate", 0.8))})
            entry["oc_at"] = {f"{r:g}": float(oc(r)) for r in rates}
            entry["type1"] = entry["oc_at"][f"{p0:g}"]
            entry["power"] = entry["oc_at"][f"{float(d.get('power_rate', 0.8)):g}"]
            if "design_prior" in d:
                entry["pos"] = pos1S(mix, n, decision)(priors[d["design_prior"]]["mixture"])
            if "interim_n" in d and isinstance(mix, BetaMixture):
                io = oc1S_interim(mix, int(d["interim_n"]), n, decision, float(d.get("futility", 0.1)), grid)
                entry["interim"] = {
                    "stop_if_at_most": io.stop_if_at_most,
                    "success": io.success.tolist(),
                    "futility_stop": io.futility_stop.tolist(),
                    "expected_n": io.expected_n.tolist(),
                }
                # the futility rule at the null and at the alternative (power_rate), exactly
                at = [p0, float(d.get("power_rate", 0.8))]
                io_at = oc1S_interim(mix, int(d["interim_n"]), n, decision, float(d.get("futility", 0.1)), at)
                entry["interim"]["at"] = {
                    f"{r:g}": {
                        "success": float(io_at.success[i]),
                        "futility_stop": float(io_at.futility_stop[i]),
                        "expected_n": float(io_at.expected_n[i]),
                    }
                    for i, r in enumerate(at)
                }
            examples = []
            if isinstance(mix, BetaMixture):
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
                            "conflict": conflict(mix, y, n),
                        }
                    )
            entry["examples"] = examples
            evaluated[name] = entry
        out.update(grid=grid.tolist(), priors=evaluated)
        out["labels"] = {name: priors[name].get("label", name) for name in evaluated}
        out["order"] = list(evaluated)  # the design's prior first, then ``compare`` (JSON keys are sorted)
        if "sensitivity" in d:
            out["sensitivity"] = design_sensitivity(d, priors)
        if "calibration" in d:
            out["calibration"] = design_calibration(d, priors, evaluated)
    elif d["type"] == "adaptive-two-sample":
        decision = decision2S(float(d["c"]), float(d.get("delta", 0.0)), lower_tail=False)
        design = adaptive2S(
            priors[d["prior_treatment"]]["mixture"],
            priors[d["prior_control"]]["mixture"],
            d["n1"],
            d["n_target"],
            d["n_min"],
            d["m"],
            decision,
            ess_method=d.get("ess_method", "morita"),
            s=float(d.get("s", 100.0)),
            conditional=bool(d.get("conditional", True)),
        )
        out["decision"] = repr(decision)
        out["adaptive"] = design.to_dict()
        out["oc_table"] = design.table(d["p_c"], d.get("effect", [0.0]))
    else:
        pt, pc = priors[d["prior_treatment"]]["mixture"], priors[d["prior_control"]]["mixture"]
        n_t, n_c, delta, c = int(d["n_t"]), int(d["n_c"]), float(d.get("delta", 0.0)), float(d["c"])
        p_c = float(d["p_c"])
        decision = decision2S(c, delta, lower_tail=False, link=d.get("link", "identity"))
        grid = _grid(d, pt)
        oc = oc2S(pt, pc, n_t, n_c, decision)
        out["decision"] = repr(decision)
        if isinstance(pc, BetaMixture):  # fewest treatment responders that succeed, per control count
            out["boundary"] = (oc.boundary(np.arange(n_c + 1)).astype(int) + 1).tolist()
        out.update(grid=grid.tolist(), oc=oc(grid, p_c).tolist())
        if "power_rate" in d:  # P(success) at the alternative: treatment value power_rate, control value p_c
            out["power"] = float(oc(float(d["power_rate"]), p_c))
    return out


def _one_sample_row(mix, d: dict, p0: float, c: float, p1: float) -> dict:
    n = int(d["n"])
    decision = decision1S(c, p0, lower_tail=False)
    oc = oc1S(mix, n, decision)
    row = {"boundary": int(oc.boundary) + 1, "type1": float(oc(p0)), "power": float(oc(p1)), "p1": p1}
    if "interim_n" in d:
        io = oc1S_interim(mix, int(d["interim_n"]), n, decision, float(d.get("futility", 0.1)), [p0, p1])
        row.update(
            stop_null=float(io.futility_stop[0]),
            stop_alt=float(io.futility_stop[1]),
            expected_n_null=float(io.expected_n[0]),
            expected_n_alt=float(io.expected_n[1]),
            power_with_futility=float(io.success[1]),
        )
    return row


def design_sensitivity(d: dict, priors: dict[str, dict]) -> list[dict]:
    """The design (threshold ``c`` fixed) over null rates p0 and robust weights of the design's prior, and
    under each compared prior that is not robustified (e.g. the vague one): exact OC (oc1S) at p0 and at
    the alternative p1 = p0 + delta (below 1: the schema refuses p0 + delta >= 1)."""
    sens, c = d["sensitivity"], float(d["c"])
    main = priors[d["prior"]]
    if "robust" not in main:
        raise SpecError(f"design '{d['name']}', sensitivity: prior '{d['prior']}' has no robust_weight to vary")
    rob = main["robust"]
    rows = []
    for p0 in sens["p0"]:
        p1 = round(float(p0) + float(sens.get("delta", 0.2)), 10)
        for w in sens["robust_weight"]:
            mix = main["informative"].robustify(float(w), rob["mean"], rob["n"])
            rows.append(
                {"prior": d["prior"], "robust_weight": float(w), "p0": float(p0), "c": c}
                | _one_sample_row(mix, d, float(p0), c, p1)
            )
        for name in d.get("compare", []):
            if "robust" not in priors[name] and isinstance(priors[name]["mixture"], BetaMixture):
                row = _one_sample_row(priors[name]["mixture"], d, float(p0), c, p1)
                rows.append({"prior": name, "robust_weight": None, "p0": float(p0), "c": c} | row)
    return rows


def design_calibration(d: dict, priors: dict[str, dict], evaluated: dict) -> list[dict]:
    """For each target type I error (``alpha``, and the type I error of the design under the ``match``
    prior at its own threshold) and each prior of the design, the threshold ``c`` giving that type I
    error at p0 (:func:`analysis.priors.calibrate.calibrate1S`), with the boundary and exact power."""
    cal = d["calibration"]
    n, p0 = int(d["n"]), float(d["p0"])
    p1 = float(d.get("power_rate", 0.8))
    targets = [(float(a), f"alpha = {float(a):g}") for a in cal.get("alpha", [])]
    if "match" in cal:
        t1 = evaluated[cal["match"]]["type1"]
        # the matched design's own type I error is a target met with equality
        targets.append((t1 * (1 + 1e-12), f"type I error of '{cal['match']}' at c = {float(d['c']):g}"))
    rows = []
    for alpha, label in targets:
        for name in [d["prior"], *d.get("compare", [])]:
            mix = priors[name]["mixture"]
            if not isinstance(mix, BetaMixture):
                continue
            res = calibrate1S(mix, n, p0, alpha)
            row = {"target": label, "alpha": alpha, "prior": name, "c": res.c, "c_upper": res.c_upper}
            row |= _one_sample_row(mix, d, p0, res.c, p1)
            if row["boundary"] != res.boundary:
                raise ArithmeticError(f"calibration of '{name}': boundary {row['boundary']} != {res.boundary}")
            rows.append(row)
    return rows


def format_summary(result: dict) -> str:
    """The text the CLI prints for a priors run (``run``'s result), one line per prior and design."""
    lines = []
    for name, p in result["priors"].items():
        if p.get("family") == "mvnormal":
            s = p["summary"]
            lines.append(
                f"prior {name}: multivariate normal mixture of {len(p['mixture']['components'])} components, "
                f"mean {[round(v, 4) for v in s['mean']]}, sd {[round(c[i] ** 0.5, 4) for i, c in enumerate(s['cov'])]}"
            )
            continue
        e = p["ess"]["robust"]
        fmt = ", ".join(f"{k} {v:.1f}" if v is not None else f"{k} undefined" for k, v in e.items())
        s = p["summary"]
        fam = p.get("family", "beta")
        lines.append(f"prior {name}: mean {s['mean']:.3f}, 95% interval {s['q025']:.3f} to {s['q975']:.3f}; ESS {fmt}")
        if "ess_exact" in p:  # robustified, or (no robust_weight) the MAP distribution itself
            label = "robust" if "robust" in p["ess_exact"] else "informative"
            ex = ", ".join(f"{k} {v:.1f}" for k, v in p["ess_exact"][label].items())
            lines.append(
                f"  ESS of the exact MAP distribution ({'robust' if label == 'robust' else 'not robustified'}): {ex}"
            )
        comps = p["mixture"]["components"]
        if fam == "normal":
            body = "; ".join(f"{c['w']:.3f} x N({c['m']:.3g}, {c['s']:.3g})" for c in comps)
        else:
            dist = "Beta" if fam == "beta" else "Gamma"
            body = "; ".join(f"{c['w']:.3f} x {dist}({c['a']:.3g}, {c['b']:.3g})" for c in comps)
        lines.append(f"  {len(comps)} components: {body}")
    for name, d in result["designs"].items():
        if d["type"] == "one-sample":
            for prior, e in d["priors"].items():
                extra = f", probability of success {e['pos']:.3f}" if "pos" in e else ""
                lines.append(
                    f"design {name} with prior {prior}: success if >= {e['boundary']} of {d['n']} respond{extra}"
                )
        elif d["type"] == "adaptive-two-sample":
            a = d["adaptive"]
            lines.append(f"design {name}: stage-2 controls by stage-1 responders 0..{a['n1']}: {a['n2']}")
            for row in d["oc_table"]:
                lines.append(
                    f"  p_c {row['p_c']:g}, effect {row['delta']:g}: P(success) {row['success']:.3f}, "
                    f"expected controls {row['expected_n_control']:.1f}"
                )
        elif "boundary" in d:
            lines.append(f"design {name}: boundaries {d['boundary']}")
        else:
            lines.append(f"design {name}: {d['decision']}")
        if d["type"] == "two-sample" and "power" in d:
            lines.append(f"  power {d['power']:.3f} at treatment {d['power_rate']:g}, control {d['p_c']:g}")
    return "\n".join(lines)


def run(spec_path: Path, out_dir: Path, mcmc: MCMC | None = None, cohorts_path: Path = COHORTS) -> dict:
    """Build every prior and design of ``spec_path``; write ``priors.json`` and ``designs.json`` to ``out_dir``."""
    spec = load_spec(spec_path)
    mcmc = mcmc or replace(SETTINGS.mcmc, seed=spec["seed"])
    recs = {p["name"]: build_prior(p, mcmc, cohorts_path) for p in spec["prior"]}
    priors_out = {name: describe_prior(r) for name, r in recs.items()}
    designs = {d["name"]: run_design(d, recs) for d in spec.get("design", [])}
    # the printed summary is built before any file is written: a failure there leaves no half-written outputs
    summary = format_summary({"priors": priors_out, "designs": designs})
    out_dir = Path(out_dir)
    write_json(
        out_dir / "priors.json", {"spec": str(spec_path), "seed": mcmc.seed, "priors": priors_out, "order": list(recs)}
    )
    write_json(out_dir / "designs.json", designs)
    draws = {name: r["draws"] for name, r in recs.items() if "draws" in r}
    if draws:
        from analysis.io import atomic_path

        with atomic_path(out_dir / "map_draws.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **draws)
    return {
        "priors": priors_out,
        "designs": designs,
        "records": recs,
        "summary": summary,
        "short_labels": short_labels(spec),
    }


def short_labels(spec: dict) -> dict[str, str]:
    """Each prior's name in figures: its ``short_label``, else its ``label``, else its name (not in the results:
    a label changes no number)."""
    return {p["name"]: p.get("short_label") or p.get("label") or p["name"] for p in spec["prior"]}
