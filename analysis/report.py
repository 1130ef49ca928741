"""Tables (Markdown) and quoted numbers (``_variables.yml``) for the manuscript.

The manuscript never types a statistic: every number in its prose is a
``{{< var key >}}`` shortcode resolved from the variables written here, and
every table is a Markdown file included with ``{{< include >}}``.  Both are
derived from the results files only.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import yaml

from analysis.io import write_text
from analysis.models import DEFAULT_MODELS
from analysis.settings import DISEASES, GROUPS, SAFETY_ENDPOINTS, SETTINGS

ENDPOINT_LABELS = {
    "response": "Remission or response",
    "drug_free": "Off immunosuppression",
    "crs_any": "CRS, any grade",
    "crs_grade2plus": "CRS, grade 2 or higher",
    "crs_grade3plus": "CRS, grade 3 or higher",
    "icans_any": "ICANS, any grade",
    "infection_hospitalised": "Hospitalised infection",
}
GROUP_NAMES = {"SLE": "SLE", "IIM": "IIM", "SSc": "SSc", "all": "All", "new": "New disease"}


def prop(x: float, digits: int = 2) -> str:
    """A proportion for prose and tables ('0.63'); 'n/a' for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def pct(x: float, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.{digits}f}%"


def pval(p: float) -> str:
    """A p-value as a journal prints it."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def ci(lo: float, hi: float) -> str:
    return f"{prop(lo)} to {prop(hi)}"


def md_table(df: pd.DataFrame, caption: str, label: str, align: str | None = None) -> str:
    """A pipe table with a Quarto caption line ``: caption {#tbl-label}``."""
    cols = list(df.columns)
    align = align or "l" + "r" * (len(cols) - 1)
    # pandoc takes relative column widths from the dashes of the rule line (when rows are long), so the
    # dashes follow the longest word of the header and the longest cell of each column
    widths = [max([max(len(w) for w in str(c).split()) + 2] + [len(str(v)) + 4 for v in df[c]]) for c in cols]
    rule = [("-" * (w - 1) + ":") if a == "r" else (":" + "-" * (w - 1)) for w, a in zip(widths, align)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + f"\n\n: {caption} {{#{label}}}\n"


def _freq(est: pd.DataFrame) -> pd.DataFrame:
    return est[(est["analysis"] == "frequentist")]


def estimates_table(est: pd.DataFrame) -> str:
    f = _freq(est)
    rows = []
    for endpoint in ("response", "drug_free"):
        for g in GROUPS:
            sub = f[(f["endpoint"] == endpoint) & (f["group"] == g)].set_index("method")
            if sub.empty:
                continue
            r = sub.iloc[0]
            rows.append(
                {
                    "Endpoint": ENDPOINT_LABELS[endpoint],
                    "Group": GROUP_NAMES[g],
                    "Responders / n": f"{r.events}/{r.n}",
                    "Clopper-Pearson": ci(sub.loc["clopper-pearson", "lower"], sub.loc["clopper-pearson", "upper"]),
                    "Wilson": ci(sub.loc["wilson", "lower"], sub.loc["wilson", "upper"]),
                    "Jeffreys": ci(sub.loc["jeffreys", "lower"], sub.loc["jeffreys", "upper"]),
                }
            )
    return md_table(
        pd.DataFrame(rows),
        "Remission or response and freedom from immunosuppression per disease, "
        "with 95% confidence intervals. The response endpoint differs by disease: DORIS remission (SLE), "
        "ACR-EULAR major clinical response (IIM), any decrease in the EUSTAR activity index (SSc).",
        "tbl-estimates",
        "llrrrr",
    )


def safety_table(est: pd.DataFrame) -> str:
    f = _freq(est)
    rows = []
    for endpoint in SAFETY_ENDPOINTS:
        sub = f[(f["endpoint"] == endpoint) & (f["group"] == "all")].set_index("method")
        if sub.empty:
            continue
        r = sub.loc["clopper-pearson"]
        one = sub.loc["clopper-pearson-upper", "upper"] if "clopper-pearson-upper" in sub.index else None
        rows.append(
            {
                "Adverse event": ENDPOINT_LABELS[endpoint],
                "Patients / n": f"{r.events}/{r.n}",
                "Rate": prop(r.estimate),
                "95% CI (Clopper-Pearson)": ci(r.lower, r.upper),
                "One-sided 95% upper bound": prop(one) if one is not None else "",
            }
        )
    return md_table(
        pd.DataFrame(rows),
        "Adverse events in all 15 patients with exact 95% confidence intervals. "
        "For events that did not occur, the one-sided upper bound is the largest rate compatible with "
        "observing none.",
        "tbl-safety",
        "lrrrr",
    )


def benchmark_table(tests: pd.DataFrame) -> str:
    t = tests[(tests["test"] == "binomial-exact-one-sided") & (tests["endpoint"] == "response")]
    wide = t.pivot(index="benchmark", columns="group", values="p_value").reindex(columns=list(GROUPS))
    out = pd.DataFrame({"Benchmark rate": [prop(b) for b in wide.index]})
    for g in GROUPS:
        n = int(t[t["group"] == g]["n"].iloc[0])
        out[f"{GROUP_NAMES[g]} (n = {n})"] = [pval(p) + ("" if p < 0.05 else " (ns)") for p in wide[g]]
    return md_table(
        out,
        "One-sided exact binomial p-values of the response rate against a range of assumed "
        "benchmark rates for refractory disease; ns: not significant at the one-sided 5% level.",
        "tbl-benchmarks",
    )


def meta_table_md(meta: pd.DataFrame) -> str:
    from analysis.meta import SCENARIOS

    labels = {s.name: s.label for s in SCENARIOS}
    rows = []
    for r in meta.itertuples(index=False):
        if r.scenario == "systematic_review" and not r.k:
            continue
        rows.append(
            {
                "Cohorts": labels[r.scenario],
                "Disease": r.group,
                "k": r.k,
                "Responders / n": f"{r.events}/{r.n}" if r.k else "",
                "Pooled rate (95% CI)": f"{prop(r.estimate)} ({ci(r.lower, r.upper)})" if r.k else "no cohort",
                "Studies": r.studies.replace(";", ", ") if r.k else "",
            }
        )
    return md_table(
        pd.DataFrame(rows),
        "Random-effects meta-analysis of the published cohorts on the logit scale "
        f"(continuity correction {SETTINGS.meta.continuity:g} added to every cell), at most one cohort per "
        "overlap group.",
        "tbl-meta",
        "llrrrl",
    )


def frequentist_variables(est: pd.DataFrame, tests: pd.DataFrame, meta: pd.DataFrame) -> dict:
    f = _freq(est)
    v: dict = {"n": {}, "events": {}, "cp": {}, "wilson": {}, "jeffreys": {}, "safety": {}, "test": {}, "meta": {}}
    for (endpoint, group), sub in f.groupby(["endpoint", "group"]):
        sub = sub.set_index("method")
        key = f"{endpoint}_{group}"
        v["n"][key] = int(sub["n"].iloc[0])
        v["events"][key] = int(sub["events"].iloc[0])
        for m, name in (("clopper-pearson", "cp"), ("wilson", "wilson"), ("jeffreys", "jeffreys")):
            v[name][key] = {
                "lower": prop(sub.loc[m, "lower"]),
                "upper": prop(sub.loc[m, "upper"]),
                "lower_pct": pct(sub.loc[m, "lower"]),
                "estimate_pct": pct(sub.loc[m, "estimate"]),
            }
        if "clopper-pearson-upper" in sub.index:
            v["safety"][f"{endpoint}_upper1s"] = prop(sub.loc["clopper-pearson-upper", "upper"])
            v["safety"][f"{endpoint}_upper1s_pct"] = pct(sub.loc["clopper-pearson-upper", "upper"], 0)
    b = SETTINGS.benchmarks
    v["benchmark"] = {"default": prop(b.default), "min": prop(min(b.grid)), "max": prop(max(b.grid))}
    t = tests[(tests["test"] == "binomial-exact-one-sided") & (tests["endpoint"] == "response")]
    for g, sub in t.groupby("group"):
        at = sub[sub["benchmark"].round(6) == round(b.default, 6)]
        rejected = sub[sub["reject"].astype(str) == "True"]["benchmark"]
        v["test"][g] = {
            "p_default": pval(float(at["p_value"].iloc[0])),
            "max_rejected": prop(rejected.max()) if len(rejected) else "none",
        }
    het = tests[(tests["test"] == "freeman-halton-exact") & (tests["endpoint"] == "response")]
    v["test"]["heterogeneity_note"] = str(het["note"].iloc[0]) if len(het) else "not computed"
    for r in meta.itertuples(index=False):
        v["meta"].setdefault(r.scenario, {})[r.group] = {
            "k": int(r.k),
            "estimate": prop(r.estimate),
            "lower": prop(r.lower),
            "upper": prop(r.upper),
            "n": int(r.n),
            "events": int(r.events),
        }
    v["diseases"] = ", ".join(DISEASES)
    return v


def write_yaml(path: Path, obj: dict) -> None:
    write_text(
        path,
        "# Written by `python -m analysis report`; do not edit.\n"
        + yaml.safe_dump(obj, sort_keys=True, allow_unicode=True),
    )


BAYES_METHODS = {
    "bayes-independent": "Independent",
    "bayes-pooled": "Pooled",
    "bayes-hierarchical": "Hierarchical",
    "bayes-exnex": "EXNEX",
}


def _cri(r) -> str:
    return f"{prop(r.estimate)} ({ci(r.lower, r.upper)})"


def bayes_table(est: pd.DataFrame) -> str:
    b = est[est["analysis"] == "bayes"]
    rows = []
    for g in ("SLE", "IIM", "SSc", "new"):
        row = {"Disease": GROUP_NAMES[g]}
        for m, label in BAYES_METHODS.items():
            sub = b[(b["method"] == m) & (b["group"] == g)]
            row[label] = _cri(sub.iloc[0]) if len(sub) else "not defined"
        rows.append(row)
    return md_table(
        pd.DataFrame(rows),
        "Posterior mean (95% equal-tailed credible interval) of the response "
        "probability per disease, and predictive probability for a new disease, under each model.",
        "tbl-bayes",
        "lrrrr",
    )


def exceedance_table(exc: pd.DataFrame, model: str = "hierarchical") -> str:
    e = exc[exc["model"] == model]
    wide = e.pivot(index="benchmark", columns="group", values="probability")
    cols = [g for g in ("SLE", "IIM", "SSc", "new") if g in wide.columns]
    out = pd.DataFrame({"Benchmark rate": [prop(b) for b in wide.index]})
    for g in cols:
        out[GROUP_NAMES[g]] = [prop(p, 3) for p in wide[g]]
    return md_table(
        out, f"Posterior probability that the response rate exceeds each benchmark ({model} model).", "tbl-exceedance"
    )


def diagnostics_table(diag: pd.DataFrame, sens_diag: pd.DataFrame) -> str:
    rows = []
    for source, d in (("main", diag), ("sensitivity", sens_diag)):
        for model, sub in d.groupby("model", sort=False):
            rows.append(
                {
                    "Fit": f"{model} ({source})" if source == "sensitivity" else model,
                    "Parameters": len(sub),
                    "Max R-hat": f"{sub['r_hat'].max():.3f}",
                    "Min bulk ESS": f"{sub['ess_bulk'].min():.0f}",
                    "Min tail ESS": f"{sub['ess_tail'].min():.0f}",
                    "Divergences": int(sub["divergences"].max()),
                }
            )
    g = SETTINGS.gates
    return md_table(
        pd.DataFrame(rows),
        f"Convergence diagnostics of every MCMC fit. The build fails if any R-hat "
        f"exceeds {g.max_r_hat}, any bulk or tail ESS is below {g.min_ess_bulk:g}, or any transition "
        "diverges.",
        "tbl-diagnostics",
        "lrrrrr",
    )


def sensitivity_table(sens: pd.DataFrame) -> str:
    rows = []
    for label, sub in sens.groupby("label", sort=False):
        row = {"Scenario": label}
        for g in ("SLE", "IIM", "SSc", "new"):
            r = sub[sub["group"] == g]
            row[GROUP_NAMES[g]] = _cri(r.iloc[0]) if len(r) else "left out"
        rows.append(row)
    return md_table(
        pd.DataFrame(rows),
        "Sensitivity of the posterior mean (95% credible interval) to the priors, "
        "the EXNEX weight, leaving out SSc, and adding the external cohorts as exchangeable units.",
        "tbl-sensitivity",
        "lrrrr",
    )


def bayes_variables(
    est: pd.DataFrame,
    exc: pd.DataFrame,
    diag: pd.DataFrame,
    sens: pd.DataFrame,
    ppc: pd.DataFrame,
    prior_pred: pd.DataFrame,
) -> dict:
    v: dict = {}
    b = est[est["analysis"] == "bayes"]
    for r in b.itertuples(index=False):
        v.setdefault(r.method.removeprefix("bayes-"), {})[r.group] = {
            "estimate": prop(r.estimate),
            "lower": prop(r.lower),
            "upper": prop(r.upper),
        }
    v["exceed"] = {}
    for r in exc.itertuples(index=False):
        v["exceed"].setdefault(r.model, {}).setdefault(r.group, {})[f"b{round(100 * r.benchmark):02d}"] = prop(
            r.probability, 3
        )
    v["high_benchmark"] = prop(max(SETTINGS.benchmarks.grid), 1)
    top = exc[(exc["model"] == "hierarchical") & (exc["benchmark"] == max(SETTINGS.benchmarks.grid))]
    v["exceed_high"] = {r.group: prop(r.probability, 3) for r in top.itertuples(index=False)}
    v["priors"] = {name: {k: repr(p) for k, p in spec.priors.items()} for name, spec in DEFAULT_MODELS.items()}
    all_diag = diag
    v["diag"] = {
        "max_rhat": f"{all_diag['r_hat'].max():.3f}",
        "min_ess_bulk": f"{all_diag['ess_bulk'].min():.0f}",
        "min_ess_tail": f"{all_diag['ess_tail'].min():.0f}",
        "divergences": int(all_diag["divergences"].sum()),
        "sampler": SETTINGS.mcmc.sampler,
        "draws": SETTINGS.mcmc.draws,
        "tune": SETTINGS.mcmc.tune,
        "chains": SETTINGS.mcmc.chains,
        "target_accept": SETTINGS.mcmc.target_accept,
        "seed": SETTINGS.mcmc.seed,
        "exnex_weight": f"{DEFAULT_MODELS['exnex'].exnex_weight:g}",
    }
    s = sens[sens["group"].isin(["SLE", "IIM", "SSc"])]
    v["sens"] = {
        g: {
            "min_estimate": prop(sub["estimate"].min()),
            "max_estimate": prop(sub["estimate"].max()),
            "min_lower": prop(sub["lower"].min()),
            "max_lower": prop(sub["lower"].max()),
        }
        for g, sub in s.groupby("group")
    }
    v["sens"]["n_scenarios"] = int(sens["scenario"].nunique())
    v["ppc"] = {f"{r.model}_{r.group}": prop(r.p_upper) for r in ppc.itertuples(index=False)}
    pp = prior_pred.set_index("model")
    v["prior_pred"] = {
        m: {"q025": prop(pp.loc[m, "q025"]), "q975": prop(pp.loc[m, "q975"]), "median": prop(pp.loc[m, "q50"])}
        for m in pp.index
    }
    return v


def ess_text(value: float | None) -> str:
    """An effective sample size for prose and tables; 'undefined' where the method does not apply."""
    return "undefined" if value is None else f"{value:.1f}"


def _disease_order(names) -> list[str]:
    return [d for d in DISEASES if d in names] + sorted(n for n in names if n not in DISEASES)


def priors_table(priors: dict) -> str:
    rows = []
    for name in _disease_order(priors["priors"]):
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
