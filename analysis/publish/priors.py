"""The follow-up trial section: MAP priors, their ESS, and the design's operating characteristics."""

from __future__ import annotations

import pandas as pd

from analysis.data import group_order
from analysis.publish.format import ci, ess_text, md_table, prop, pval
from analysis.publish.frequentist import _who


def priors_table(priors: dict, full: bool = False) -> str:
    """The MAP priors; the paper shows the robust priors' ESS, the supplement (``full``) every ESS."""
    rows = []
    for name in priors.get("order") or group_order(priors["priors"]):
        p = priors["priors"][name]
        if "studies" not in p:
            continue
        s, e = p["summary"], p["ess"]
        row = {"Prior": p.get("label", name)}
        if not full:
            row["Cohorts (responders/patients)"] = ", ".join(
                f"{st['name']} ({st['r']}/{st['n']})" for st in p["studies"]
            )
            row["Robust MAP mean (95% interval)"] = f"{prop(s['mean'])} ({ci(s['q025'], s['q975'])})"
        else:
            row["Components"] = len(p["mixture"]["components"])
            if "vague" in p:
                row["Effective vague weight"] = prop(p["vague"]["effective_weight"], 2)
            row["ESS informative, mixture"] = _ess3(e["informative"])
            row["ESS informative, exact"] = _ess3(p.get("ess_exact", {}).get("informative"))
        row["ESS robust, mixture"] = _ess3(e["robust"])
        row["ESS robust, exact"] = _ess3(p.get("ess_exact", {}).get("robust"))
        rows.append(row)
    vague_ab = next((p["vague"]["max_ab"] for p in priors["priors"].values() if "vague" in p), None)
    vague_note = (
        f" Effective vague weight: the total weight of components with a + b of at most {vague_ab:g} (the "
        "robust component and any near-uniform component of the fitted mixture)."
        if full and vague_ab is not None
        else ""
    )
    return md_table(
        pd.DataFrame(rows),
        "Meta-analytic-predictive (MAP) priors from the published cohorts (restricted by product and "
        "endpoint class where the name says so; one cohort per overlap group), approximated by Beta "
        "mixtures and robustified. Effective sample sizes (ESS) by moment matching / the Morita method / "
        "ELIR, of the fitted mixture and of the exact MAP distribution (by quadrature, without MCMC or "
        "mixture fit)" + (", before (informative) and after robustification." if full else ".") + vague_note,
        "tbl-priors-full" if full else "tbl-priors",
        ("l" if full else "llr") + "r" * (len(rows[0]) - (1 if full else 3)) if rows else "l",
    )


def _ess3(e: dict | None) -> str:
    if not e:
        return "n/a"
    return " / ".join(ess_text(e[m]) for m in ("moment", "morita", "elir"))


def _label(designs_or_priors_entry: dict, name: str) -> str:
    return designs_or_priors_entry.get("labels", {}).get(name, name)


def design_table(designs: dict) -> str:
    rows = []
    for d in designs.values():
        if d["type"] != "one-sample":
            continue
        for pname in d.get("order") or list(d["priors"]):
            e = d["priors"][pname]
            row = {"Prior": _label(d, pname), "Success boundary": f"{e['boundary']}/{d['n']}"}
            p0, p1 = f"{float(d['p0']):g}", f"{float(d['power_rate']):g}"
            row[f"Type I error (p = {float(p0):.2f})"] = prop(e["type1"], 3)
            row[f"Power (p = {float(p1):.2f})"] = prop(e["power"], 3)
            if "pos" in e:
                row["Probability of success"] = prop(e["pos"], 3)
            at = e.get("interim", {}).get("at")
            if at:
                row[f"Stop early (p = {float(p0):.2f})"] = prop(at[p0]["futility_stop"], 3)
                row[f"Expected N (p = {float(p0):.2f})"] = f"{at[p0]['expected_n']:.1f}"
            rows.append(row)
    interim = next((d for d in designs.values() if d["type"] == "one-sample" and "interim_n" in d), None)
    extra = (
        f" Stop early: probability that the futility rule stops the trial after {interim['interim_n']} "
        f"patients (predictive probability of success below {interim['futility']:g}); expected N: the "
        "expected number of patients. P(success) columns are without the interim analysis."
        if interim
        else ""
    )
    return md_table(
        pd.DataFrame(rows),
        "Operating characteristics of the single-arm follow-up design with and "
        "without borrowing, at the nominal threshold c: exact type I error at the null rate p0 and power at "
        "the stated alternative, without the interim analysis; probability of success under the MAP design "
        "prior." + extra.replace(" P(success) columns are without the interim analysis.", ""),
        "tbl-design",
    )


def design_sensitivity_table(designs: dict) -> str:
    """The design over null rates p0 and robust weights (threshold c fixed), exact OC."""
    rows = []
    for d in designs.values():
        for r in d.get("sensitivity", []):
            w = r["robust_weight"]
            rows.append(
                {
                    "p0": f"{r['p0']:.2f}",
                    "Prior (robust weight)": "vague (none)" if w is None else f"primary ({w:g})",
                    "Success boundary": f"{r['boundary']}/{d['n']}",
                    "Type I error (p = p0)": prop(r["type1"], 3),
                    "Power (p = p0 + " + f"{r['p1'] - r['p0']:.1f})": prop(r["power"], 3),
                    "Stop early (p0)": prop(r.get("stop_null"), 3),
                    "Expected N (p0)": f"{r['expected_n_null']:.1f}" if "expected_n_null" in r else "n/a",
                }
            )
    if not rows:
        return ""
    d = next(d for d in designs.values() if d.get("sensitivity"))
    c = d["c"]
    return md_table(
        pd.DataFrame(rows),
        f"Sensitivity of the single-arm design to the null rate p0 and to the robust weight of the "
        f"primary MAP prior ({_label(d, d['prior'])}; vague: Beta(1, 1), no borrowing), at the nominal "
        f"threshold c = {c:g}: exact type I error at p0 and power at "
        "p0 + 0.2 (binomial enumeration), and the futility rule's early-stop probability and expected "
        "sample size at p0.",
        "tbl-design-sensitivity",
        "llrrrrr",
    )


def design_calibration_table(designs: dict) -> str:
    """Each prior's threshold c calibrated to a common type I error, and the power then.

    Two targets can calibrate to the same rule (the type I error of the vague design at its own threshold is
    often one of the listed alphas'): a target whose rows repeat an earlier target's for every prior is not
    shown again, its label is joined to that target's (the second review found these duplicated rows)."""
    groups: dict[tuple, dict] = {}  # the calibrated rows of one rule -> their target labels, in order
    for d in designs.values():
        by_target: dict[str, list[dict]] = {}
        for r in d.get("calibration", []):
            by_target.setdefault(r["target"], []).append(
                {
                    "Prior": _label(d, r["prior"]),
                    "Calibrated c": f"{r['c']:.4f}",
                    "Success boundary": f"{r['boundary']}/{d['n']}",
                    "Type I error": prop(r["type1"], 3),
                    f"Power (p = {r['p1']:.2f})": prop(r["power"], 3),
                    "Expected N (p0)": f"{r['expected_n_null']:.1f}" if "expected_n_null" in r else "n/a",
                }
            )
        for target, cells in by_target.items():
            key = tuple(tuple(c.items()) for c in cells)
            groups.setdefault(key, {"targets": [], "cells": cells})["targets"].append(target)
    rows = [{"Target type I error": "; ".join(g["targets"]), **c} for g in groups.values() for c in g["cells"]]
    if not rows:
        return ""
    return md_table(
        pd.DataFrame(rows),
        "Borrowing and no borrowing compared at the same type I error: for each prior the threshold c "
        "of P(p > p0 | data) > c is calibrated so that the exact type I error at p0 is the largest not "
        "above the target (the smallest such c; any c up to the next posterior probability gives the "
        "same rule). At a common type I error every prior gives the same success boundary, hence the "
        "same power (Kopp-Schneider et al. 2020); the priors differ only in the interim futility rule. Targets "
        "that calibrate to the same rule share their rows.",
        "tbl-design-calibration",
        "llrrrrrr",
    )


def priors_variables(priors: dict, designs: dict) -> dict:
    v: dict = {"map": {}, "design": {}}
    for name, p in priors["priors"].items():
        if "ess" not in p:  # a multivariate normal prior has no ESS or rate summaries
            continue
        s, e = p["summary"], p["ess"]
        v["map"][name] = {
            "mean": prop(s["mean"]),
            "lower": prop(s["q025"]),
            "upper": prop(s["q975"]),
            "k": len(p.get("studies", [])),
            "components": len(p["mixture"]["components"]),
            "ess_elir": ess_text(e["robust"]["elir"]),
            "ess_morita": ess_text(e["robust"]["morita"]),
            "ess_moment": ess_text(e["robust"]["moment"]),
            "ess_informative_elir": ess_text(e["informative"]["elir"]),
            "robust_weight": f"{p.get('robust', {}).get('weight', 0):g}",
        }
        v["map"][name]["label"] = p.get("label", name)
        v["map"][name]["cohorts"] = ", ".join(f"{st['name']} ({st['r']}/{st['n']})" for st in p.get("studies", []))
        v["map"][name]["patients"] = sum(int(st.get("n", 0)) for st in p.get("studies", []))
        # responders of patients over the prior's cohorts, for prose that names the cohorts in words
        v["map"][name]["responders"] = (
            f"{sum(int(st.get('r', 0)) for st in p.get('studies', []))} of {v['map'][name]['patients']}"
        )
        v["map"][name]["evidence"] = cohorts_phrase(p.get("studies", []))
        for m in ("moment", "morita"):
            v["map"][name][f"ess_informative_{m}"] = ess_text(e["informative"][m])
        for label, key in (("informative", "ess_informative"), ("robust", "ess")):
            if "ess_exact" in p and label in p["ess_exact"]:
                for m in ("moment", "morita", "elir"):
                    v["map"][name][f"{key}_exact_{m}"] = ess_text(p["ess_exact"][label][m])
        if "elir_above_0.99" in p:
            v["map"][name]["elir_above_099_exact"] = ess_text(p["elir_above_0.99"]["exact"])
            v["tail_threshold"] = "0.99"  # the key elir_above_0.99 of priors.json
            v["map"][name]["elir_above_099_mixture"] = ess_text(p["elir_above_0.99"]["mixture"])
            v["map"][name]["p_above_099"] = prop(p["exact_summary"]["p_above_0.99"], 3)
        ms = p.get("map_summary", {})
        if "mu_q50" in ms:  # the MAP model as a Bayesian random-effects meta-analysis
            from scipy.special import expit

            v["map"][name]["meta"] = {
                "rate": prop(expit(ms["mu_q50"])),
                "rate_lower": prop(expit(ms["mu_q025"])),
                "rate_upper": prop(expit(ms["mu_q975"])),
                "tau": prop(ms["tau_q50"]),
                "tau_lower": prop(ms["tau_q025"]),
                "tau_upper": prop(ms["tau_q975"]),
            }
        if "vague" in p:  # near-uniform components: the fitted tail component plus the robust one
            v["map"][name]["vague_weight"] = prop(p["vague"]["effective_weight"], 2)
            v["map"][name]["vague_weight_informative"] = prop(p["vague"]["informative_weight"], 2)
            v["vague_max_ab"] = f"{p['vague']['max_ab']:g}"
        if "ess_settings" in p:
            v["morita_s"] = f"{p['ess_settings']['morita_s']:g}"
        fits = p.get("em_fits", [])
        if fits:  # which mixture the penalised criterion chose, and by how much
            chosen = next(f for f in fits if f["chosen"])
            others = sorted(f["aic"] - chosen["aic"] for f in fits if not f["chosen"])
            v["map"][name]["em"] = {
                "k": chosen["k"],
                "k_max": max(f["k"] for f in fits),
                "penalty": f"{chosen['penalty']:g}",
                "margin": f"{others[0]:.1f}" if others else "n/a",
                "components": _components_text(chosen["components"]),
            }
        if "robust" in p:  # robustify() appends the vague component last
            vague = p["mixture"]["components"][-1]
            v["map"][name]["robust_component"] = f"Beta({vague['a']:g}, {vague['b']:g})"
        if "map_priors" in p:
            v["map"][name].update(mu_prior=p["map_priors"]["mu"], tau_prior=p["map_priors"]["tau"])
    for dname, d in designs.items():
        if d["type"] != "one-sample":
            continue
        dv = {
            "n": d["n"],
            "p0": prop(d["p0"]),
            "c": f"{d['c']:g}",
            "interim_n": d.get("interim_n", ""),
            "futility": f"{d.get('futility', '')}",
            "priors": {},
        }
        for pname, e in d["priors"].items():
            ex = {
                str(x["events"]): {
                    "mean": prop(x["mean"]),
                    "lower": prop(x["lower"]),
                    "upper": prop(x["upper"]),
                    "conflict_p": pval(x["conflict"]["p_lower"]),
                }
                for x in e["examples"]
            }
            null = ex[str(d["null_events"])]
            dv["priors"][pname] = {
                "boundary": e["boundary"],
                "type1": prop(e["type1"], 3),
                "power": prop(e["power"], 3),
                "null_conflict_p": null["conflict_p"],
                "null_mean": null["mean"],
                "null_lower": null["lower"],
                "null_upper": null["upper"],
                "pos": prop(e.get("pos", float("nan")), 3),
                "examples": ex,
                "stop_if_at_most": e.get("interim", {}).get("stop_if_at_most", ""),
                "label": _label(d, pname),
            }
            at = e.get("interim", {}).get("at")
            if at:
                null, alt = at[f"{float(d['p0']):g}"], at[f"{float(d['power_rate']):g}"]
                dv["priors"][pname].update(
                    stop_null=prop(null["futility_stop"], 3),
                    stop_alt=prop(alt["futility_stop"], 3),
                    expected_n_null=f"{null['expected_n']:.1f}",
                    expected_n_alt=f"{alt['expected_n']:.1f}",
                    type1_with_futility=prop(null["success"], 3),
                    power_with_futility=prop(alt["success"], 3),
                )
        # the design's own prior under a fixed key
        dv["priors"]["primary"] = dv["priors"][d["prior"]]
        dv.update(_sensitivity_variables(d), **_calibration_variables(d))
        dv["example_null_events"] = d["null_events"]
        dv["power_rate"] = prop(d["power_rate"], 1)
        v["design"][dname] = dv
    primary = next((d["prior"] for d in designs.values() if d["type"] == "one-sample"), None)
    if primary in v["map"]:
        v["map"]["primary"] = v["map"][primary]
        v["edge_who"] = _edge_who(priors["priors"], primary)
    return v


def cohorts_phrase(studies: list) -> str:
    """'one cohort of 8 patients', '3 cohorts of 30 patients': how much evidence a prior rests on."""
    k, n = len(studies), sum(int(st.get("n", 0)) for st in studies)
    return f"{'one cohort' if k == 1 else f'{k} cohorts'} of {n} patient{'s' if n != 1 else ''}"


def _edge_who(priors: dict, primary: str) -> str:
    """Who responded in the cohorts of the primary prior and of the other diseases' priors (the priors whose
    ELIR and Morita ESS the paper discusses), each cohort once: 'every patient' when all did, the sharp edge of
    the MAP distribution at a rate of one."""
    disease = primary.split("_")[0]
    names = [primary] + [k for k, p in priors.items() if p.get("studies") and k.split("_")[0] != disease]
    studies = {st["name"]: st for k in names for st in priors[k].get("studies", [])}
    return _who(sum(int(st["r"]) for st in studies.values()), sum(int(st["n"]) for st in studies.values()))


def _components_text(components: list) -> str:
    """'0.49 Beta(5.73, 1), 0.38 Beta(22.4, 1.06), ...' from a fit record's [w, a, b] rows."""
    return ", ".join(f"{w:.2f} Beta({a:.3g}, {b:.3g})" for w, a, b in components)


def _sensitivity_variables(d: dict) -> dict:
    """Ranges over the sensitivity grid: type I error and power of the primary prior and of each
    non-robust comparator, per p0 (keys p030, p040, ...)."""
    rows = d.get("sensitivity", [])
    if not rows:
        return {}
    out: dict = {"sensitivity": {}}
    for p0 in sorted({r["p0"] for r in rows}):
        key = f"p{round(100 * p0):03d}"
        at = [r for r in rows if r["p0"] == p0]
        rob = [r for r in at if r["robust_weight"] is not None]
        ref = [r for r in at if r["robust_weight"] is None]
        entry = {
            "p0": prop(p0),
            "p1": prop(at[0]["p1"]),
            "type1_min": prop(min(r["type1"] for r in rob), 3),
            "type1_max": prop(max(r["type1"] for r in rob), 3),
            "power_min": prop(min(r["power"] for r in rob), 3),
            "power_max": prop(max(r["power"] for r in rob), 3),
            "boundary_min": min(r["boundary"] for r in rob),
            "boundary_max": max(r["boundary"] for r in rob),
        }
        for r in ref:
            entry[r["prior"]] = {"type1": prop(r["type1"], 3), "power": prop(r["power"], 3), "boundary": r["boundary"]}
        out["sensitivity"][key] = entry
    out["sensitivity_type1_max"] = prop(max(r["type1"] for r in rows if r["robust_weight"] is not None), 3)
    weights = [r["robust_weight"] for r in rows if r["robust_weight"] is not None]
    out["sensitivity_weight_min"], out["sensitivity_weight_max"] = f"{min(weights):g}", f"{max(weights):g}"
    return out


def _calibration_variables(d: dict) -> dict:
    """Per target (alpha005, alpha010, match) and prior: calibrated c, boundary, type I error, power."""
    rows = d.get("calibration", [])
    if not rows:
        return {}
    out: dict = {}
    for r in rows:
        key = "match" if r["target"].startswith("type I error of") else f"alpha{round(100 * r['alpha']):03d}"
        out.setdefault(key, {"target": r["target"], "type1": prop(r["type1"], 3)})[r["prior"]] = {
            "c": f"{r['c']:.4f}",
            "boundary": r["boundary"],
            "power": prop(r["power"], 3),
            "stop_null": prop(r.get("stop_null"), 3),
            "expected_n_null": f"{r['expected_n_null']:.1f}" if "expected_n_null" in r else "n/a",
        }
    powers: dict = {}
    for r in rows:
        powers.setdefault(r["target"], set()).add(round(r["power"], 12))
    return {"calibration": out, "calibrated_power_equal": all(len(p) == 1 for p in powers.values())}
