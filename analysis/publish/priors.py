"""The follow-up trial section: MAP priors, their ESS, and the design's operating characteristics."""

from __future__ import annotations

import pandas as pd

from analysis.data import group_order
from analysis.publish.format import ci, ess_text, md_table, prop, pval


def priors_table(priors: dict) -> str:
    rows = []
    for name in group_order(priors["priors"]):
        p = priors["priors"][name]
        if "studies" not in p:
            continue
        s, e = p["summary"], p["ess"]
        rows.append(
            {
                "Disease": name,
                "Cohorts": ", ".join(st["name"] for st in p["studies"]),
                "Robust MAP mean (95% interval)": f"{prop(s['mean'])} ({ci(s['q025'], s['q975'])})",
                "Components": len(p["mixture"]["components"]),
                "ESS informative (moment / Morita / ELIR)": " / ".join(
                    ess_text(e["informative"][m]) for m in ("moment", "morita", "elir")
                ),
                "ESS robust (moment / Morita / ELIR)": " / ".join(
                    ess_text(e["robust"][m]) for m in ("moment", "morita", "elir")
                ),
            }
        )
    return md_table(
        pd.DataFrame(rows),
        "Meta-analytic-predictive priors per disease from the published cohorts "
        "(one per overlap group), approximated by Beta mixtures and robustified, with their effective "
        "sample sizes before and after robustification.",
        "tbl-priors",
        "llrrrr",
    )


def design_table(designs: dict) -> str:
    rows = []
    for d in designs.values():
        if d["type"] != "one-sample":
            continue
        for pname, e in d["priors"].items():
            row = {"Prior": pname, "Success boundary": f"{e['boundary']}/{d['n']}"}
            for r, v in e["oc_at"].items():
                row[f"P(success), p = {float(r):.2f}"] = prop(v, 3)
            if "pos" in e:
                row["Probability of success (MAP design prior)"] = prop(e["pos"], 3)
            rows.append(row)
    return md_table(
        pd.DataFrame(rows),
        "Operating characteristics of the single-arm follow-up design with and "
        "without borrowing; the first rate column is the null rate p0, so it is the type I error.",
        "tbl-design",
    )


def priors_variables(priors: dict, designs: dict) -> dict:
    v: dict = {"map": {}, "design": {}}
    for name, p in priors["priors"].items():
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
            }
        dv["example_null_events"] = d["null_events"]
        dv["power_rate"] = prop(d["power_rate"], 1)
        v["design"][dname] = dv
    return v
