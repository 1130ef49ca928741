"""The frequentist section: its tables and quoted numbers."""

from __future__ import annotations

import pandas as pd

from analysis.data import group_order
from analysis.publish.format import ci, group_name, md_table, pct, prop, pval
from analysis.settings import LEVEL, SAFETY_ENDPOINTS, SETTINGS, TOTAL

ENDPOINT_LABELS = {
    "response": "Remission or response",
    "drug_free": "Drug-free",
    "crs_any": "CRS, any grade",
    "crs_grade2plus": "CRS, grade 2 or higher",
    "crs_grade3plus": "CRS, grade 3 or higher",
    "icans_any": "ICANS, any grade",
    "icans_grade2plus": "ICANS, grade 2 or higher",
    "infection_hospitalised": "Pneumonia requiring hospital admission",
}
#: the whole cohort's response row when it pools different endpoints (the groups' endpoint names differ): a
#: description, not an estimate
TOTAL_RESPONSE_LABEL = "All, descriptive (endpoints differ)"


def groups_with_total(groups) -> list[str]:
    """The groups in table order, then the whole cohort."""
    return [*group_order(groups), *([TOTAL] if TOTAL in set(groups) else [])]


def _freq(est: pd.DataFrame) -> pd.DataFrame:
    return est[(est["analysis"] == "frequentist")]


def response_endpoints(groups, names: dict[str, str], total: bool) -> str:
    """The caption's sentence on the response endpoint of each group (``names``: group -> endpoint name)."""
    named = [(g, names[g]) for g in groups if g in names]
    if not named:
        return ""
    if len({n for _, n in named}) == 1:
        return f" The response endpoint is {named[0][1]}" + (f" ({named[0][0]})." if len(named) == 1 else ".")
    listed = ", ".join(f"{n} ({group_name(g)})" for g, n in named)
    tail = "; the row for all patients adds these different endpoints and is descriptive only." if total else "."
    return f" The response endpoint differs by disease: {listed}{tail}"


def endpoint_names(path=None, index_path=None) -> dict[str, str]:
    """Each group's response endpoint by name: the ``endpoint_name`` column of the data's endpoint-definitions
    file (``data/raw/endpoint_definitions.csv``), else the index study's definition of the group's response row.

    Raises
    ------
    DataError
        Naming the file, row and field of every problem of the endpoint-definitions file.
    """
    from analysis.data.dataset import read_definitions
    from analysis.data.schema import DataError
    from analysis.settings import DATA_RAW

    path = path or DATA_RAW / "endpoint_definitions.csv"
    errors, rows = read_definitions(path)
    if errors:
        raise DataError(path, errors)
    fallback = {g: d for g, d in endpoint_definitions(index_path).items() if g != TOTAL}
    named = {r["disease"]: r["endpoint_name"] for r in rows if r.get("endpoint_name")}
    return named or fallback


def estimates_table(est: pd.DataFrame, names: dict[str, str] | None = None) -> str:
    """Table 2: response and freedom from immunosuppression per group; ``names``: each group's response endpoint
    by name, for the caption (default: the data's, :func:`endpoint_names`)."""
    names = endpoint_names() if names is None else names
    mixed = len(set(names.values())) > 1
    f = _freq(est)
    rows = []
    for endpoint in ("response", "drug_free"):
        for g in groups_with_total(f["group"]):
            sub = f[(f["endpoint"] == endpoint) & (f["group"] == g)].set_index("method")
            if sub.empty:
                continue
            r = sub.iloc[0]
            lower = sub.loc["clopper-pearson-lower", "lower"] if "clopper-pearson-lower" in sub.index else None
            rows.append(
                {
                    "Endpoint": ENDPOINT_LABELS[endpoint],
                    "Group": TOTAL_RESPONSE_LABEL
                    if (g == TOTAL and endpoint == "response" and mixed)
                    else group_name(g),
                    "Patients / n": f"{r.events}/{r.n}",
                    "Exact 95% CI": ci(sub.loc["clopper-pearson", "lower"], sub.loc["clopper-pearson", "upper"]),
                    "Exact one-sided 95% lower bound": "" if lower is None else prop(lower),
                    "Wilson": ci(sub.loc["wilson", "lower"], sub.loc["wilson", "upper"]),
                    "Jeffreys": ci(sub.loc["jeffreys", "lower"], sub.loc["jeffreys", "upper"]),
                }
            )
    response = f[f["endpoint"] == "response"]
    endpoints = response_endpoints(group_order(response["group"]), names, TOTAL in set(response["group"]))
    drug_free = " and freedom from immunosuppression" if (f["endpoint"] == "drug_free").any() else ""
    return md_table(
        pd.DataFrame(rows),
        f"Remission or response{drug_free} per disease, with exact (Clopper-Pearson) 95% "
        "confidence intervals and one-sided 95% lower bounds (any benchmark rate below the bound is rejected by the "
        "one-sided exact binomial test at the 5% level), and Wilson and Jeffreys intervals." + endpoints,
        "tbl-estimates",
        "llrrrrr",
    )


def safety_table(est: pd.DataFrame, meta: dict | None = None) -> str:
    """Table 3: the whole cohort's harms; ``meta`` is the study metadata (read from the data folder when not
    given), whose ``safety_caption`` (what the sources do not report) is added to the caption."""
    from analysis.publish.study import load_study

    meta = load_study() if meta is None else meta
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
    n = int(rows[0]["Patients / n"].split("/")[1]) if rows else 0
    zero = any(r["One-sided 95% upper bound"] for r in rows)
    caption = " ".join(
        x
        for x in (
            f"Adverse events among all {n} patients, as reported for the whole cohort, with exact 95% confidence "
            "intervals.",
            "For every category with no event, the exact one-sided 95% upper bound is the largest rate compatible "
            "with observing none."
            if zero
            else "",
            " ".join(str(meta.get("safety_caption") or "").split()),
        )
        if x
    )
    return md_table(pd.DataFrame(rows), caption, "tbl-safety", "lrrrr")


def endpoint_definitions(index_path=None) -> dict[str, str]:
    """Each group's response endpoint as the data file defines it ('mixed' for the whole cohort)."""
    from analysis.data import load_index
    from analysis.settings import INDEX_STUDY

    idx = load_index(index_path or INDEX_STUDY)
    resp = idx[idx["endpoint"] == "response"]
    out = dict(zip(resp["group"], resp["endpoint_definition"]))
    out.setdefault(TOTAL, "the disease-specific endpoints above, combined")
    return out


def one_endpoint(definitions: dict[str, str]) -> bool:
    """Every group has the same response endpoint (``definitions``: :func:`endpoint_definitions`)."""
    return len({d for g, d in definitions.items() if g != TOTAL}) <= 1


def bounds_table(est: pd.DataFrame, definitions: dict[str, str]) -> str:
    """Exact one-sided lower confidence bounds: every benchmark below the bound is excluded by the data."""
    f = _freq(est)
    r = f[(f["endpoint"] == "response")]
    rows = []
    for g in groups_with_total(r["group"]):
        sub = r[r["group"] == g].set_index("method")
        if "clopper-pearson-lower" not in sub.index:
            continue
        cp, lb = sub.loc["clopper-pearson"], sub.loc["clopper-pearson-lower"]
        rows.append(
            {
                "Group": group_name(g),
                "Endpoint": definitions.get(g, ""),
                "Responders / n": f"{cp.events}/{cp.n}",
                "One-sided 95% lower bound": prop(lb.lower),
                "Two-sided 95% CI": ci(cp.lower, cp.upper),
            }
        )
    return md_table(
        pd.DataFrame(rows),
        "Exact (Clopper-Pearson) one-sided 95% lower confidence bound of the response rate per disease: any "
        "benchmark rate below the bound would be rejected by the one-sided exact binomial test at the 5% level, and "
        "no benchmark above it can be. "
        + (
            "The endpoints differ between diseases."
            if not one_endpoint(definitions)
            else "All diseases share one endpoint."
        ),
        "tbl-bounds",
        "lllrr",
    )


METHOD_NAMES = {
    "binomial-normal-ml": "Binomial-normal ML",
    "random-effects-dl": "DerSimonian-Laird (sensitivity)",
    "single-study-clopper-pearson": "Single cohort, not pooled",
    "none": "",
}


def _tau_text(r) -> str:
    if r.role != "primary" or pd.isna(r.tau):
        return ""
    upper = "" if pd.isna(r.tau_upper) else f" (upper {prop(r.tau_upper)})"
    return f"{prop(r.tau)}{upper}; I² {pct(r.i2)}"


def meta_table_md(meta: pd.DataFrame) -> str:
    from analysis.frequentist.meta import SCENARIOS

    labels = {s.name: s.label for s in SCENARIOS}
    rows = []
    for r in meta.itertuples(index=False):
        if r.scenario == "systematic_review" and not r.k:
            continue
        rows.append(
            {
                "Cohorts": labels[r.scenario],
                "Disease": r.group,
                "Endpoint": "" if pd.isna(r.endpoint_class) else str(r.endpoint_class).replace("_", "-"),
                "k": r.k,
                "Responders / n": f"{r.events}/{r.n}" if r.k else "",
                "Method": METHOD_NAMES.get(r.method, r.method),
                "Rate (95% CI)": f"{prop(r.estimate)} ({ci(r.lower, r.upper)})" if r.k else "no cohort",
                "tau (95% upper); I²": _tau_text(r),
                "Studies": r.studies.replace(";", ", ") if r.k else "",
            }
        )
    return md_table(
        pd.DataFrame(rows),
        "Published cohorts, at most one per overlap group, pooled only within one disease and one endpoint class. "
        "Primary analysis: exact binomial-normal random-effects model fitted by maximum likelihood, with "
        "profile-likelihood intervals; DerSimonian-Laird on continuity-corrected logits "
        f"({SETTINGS.meta.continuity:g} added to every cell) as a sensitivity analysis. A single cohort is shown with "
        "its exact Clopper-Pearson interval and is not a meta-analysis. tau: between-cohort SD of the logit rate.",
        "tbl-meta",
        "lllrrlrll",
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
    v["lower_bound"] = {  # a group without a responder has no lower-bound row: its bound is 0 by construction
        g: prop(sub.loc["clopper-pearson-lower", "lower"] if "clopper-pearson-lower" in sub.index else 0.0)
        for g, sub in f[f["endpoint"] == "response"].set_index("method").groupby("group")
    }
    v["endpoint"] = {g: d for g, d in endpoint_definitions().items()}
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
        if r.role == "none":
            continue
        rec = {
            "k": int(r.k),
            "estimate": prop(r.estimate),
            "lower": prop(r.lower),
            "upper": prop(r.upper),
            "n": int(r.n),
            "events": int(r.events),
            "method": METHOD_NAMES.get(r.method, r.method),
        }
        slot = v["meta"].setdefault(r.scenario, {}).setdefault(r.group, {})
        if r.role == "sensitivity":
            slot.setdefault(r.endpoint_class, {})["dl"] = rec
            continue
        if r.role == "primary":
            rec.update(tau=prop(r.tau), tau2=prop(r.tau2), i2=pct(r.i2), tau_upper=prop(r.tau_upper))
        slot.setdefault(r.endpoint_class, {}).update(rec)
    v["diseases"] = ", ".join(group_order(f["group"]))
    v["zero_events"] = _zero_event_variables(f)
    v["relapse"] = relapse_variables(f)
    # who reached an endpoint, as the data say it ("every patient" only when events = n): prose never types it
    v["who"] = {key: _who(v["events"][key], n) for key, n in v["n"].items()}
    v["meta_cover"] = meta_coverage(meta)
    return v


def meta_coverage(meta: pd.DataFrame, index_ids: set[str] | None = None) -> dict:
    """What the meta-analysis had to pool, in words computed from meta.csv (no typed 'only SLE', 'every other').

    ``multi_has``: the diseases with more than one cohort of one endpoint class in the primary selection ("SLE
    has"); ``others``: whether every other disease and endpoint class has a single cohort; ``index_only``: the
    diseases for which, restricted to autologous CD19 products, the index study is the only cohort left."""
    from analysis.publish.context import _and

    if index_ids is None:
        from analysis.data import load_index

        index_ids = set(load_index()["study_id"])
    rows = meta[~meta["role"].isin(["sensitivity", "none"])]
    prim = rows[rows["scenario"] == "primary"]
    multi = [g for g in group_order(prim["group"]) if (prim.loc[prim["group"] == g, "k"] > 1).any()]
    rest = prim[prim["k"] <= 1] if multi else prim
    kmax = int(rest["k"].max()) if len(rest) else 0
    others = (
        "every other disease and endpoint has a single cohort"
        if kmax <= 1
        else f"other diseases and endpoints have up to {kmax} cohorts"
    )
    cd = rows[rows["scenario"] == "cd19_autologous"]

    def index_only(g: str) -> bool:
        studies = [st for x in cd.loc[cd["group"] == g, "studies"] for st in str(x).split(";") if st]
        return bool(studies) and all(st.split("_")[0] in index_ids for st in studies)

    only = [g for g in group_order(cd["group"]) if index_only(g)]
    return {
        "multi_has": (_and(multi) + (" has" if len(multi) == 1 else " have")) if multi else "no disease has",
        "others": others,
        "others_cap": others[0].upper() + others[1:],
        "index_only": _and(only) if only else "no disease",
    }


def _who(events: int, n: int) -> str:
    """The subject of a sentence about who reached an endpoint: 'every patient', 'no patient' or 'x of n patients'."""
    if events == n:
        return "every patient" if n > 1 else "the one patient"
    if events == 0:
        return "no patient"
    return f"{events} of {n} patients"


def _zero_event_variables(f: pd.DataFrame) -> dict:
    """The safety categories with no event, named in one phrase, with their exact one-sided upper bounds."""
    up = f[(f["method"] == "clopper-pearson-upper") & f["endpoint"].isin(SAFETY_ENDPOINTS)]
    names = [ENDPOINT_LABELS[e].replace(", ", " ") for e in up["endpoint"]]
    phrase = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else "none"
    bounds = sorted({prop(b) for b in up["upper"]})
    return {"names": phrase, "k": len(names), "upper1s": " to ".join(bounds) if bounds else "n/a"}


def relapse_group() -> str | None:
    """The group of the later relapse report in the study characteristics (``item = relapse_report``), if any."""
    from analysis.data import load_characteristics

    chars = load_characteristics()
    rows = chars[chars["item"] == "relapse_report"]
    return str(rows["group"].iloc[0]) if len(rows) else None


def relapse_variables(f: pd.DataFrame, group: str | None = None, lost: int = 1) -> dict:
    """What the response rate of ``group`` would be if ``lost`` responders had relapsed (sensitivity analysis).

    ``group`` defaults to the group of the relapse report in the study characteristics (:func:`relapse_group`;
    none: no such analysis).  A later case report describes a relapse in a patient with IIM from the same centre;
    whether she is one of the index study's patients is not stated.  Counting her as a non-responder gives ``events - lost`` of ``n``;
    the exact (Clopper-Pearson) interval and one-sided lower bound are computed with the frequentist step's own
    functions, so they are the ones its tables use for observed counts.

    Returns
    -------
    dict
        ``events``, ``n``, ``lower``, ``upper`` (two-sided 95% exact), ``lower1s`` (one-sided 95% lower bound),
        and the observed analysis's ``observed_lower1s`` for comparison.
    """
    from analysis.frequentist.intervals import interval, lower_bound

    group = group or relapse_group()
    row = f[(f["endpoint"] == "response") & (f["group"] == group) & (f["method"] == "clopper-pearson")]
    if row.empty:
        return {}
    n, events = int(row["n"].iloc[0]), int(row["events"].iloc[0]) - lost
    lo, hi = interval(events, n, "clopper-pearson", LEVEL)
    observed = f[(f["endpoint"] == "response") & (f["group"] == group) & (f["method"] == "clopper-pearson-lower")]
    return {
        group: {
            "events": events,
            "n": n,
            "lower": prop(lo),
            "upper": prop(hi),
            "lower1s": prop(lower_bound(events, n, LEVEL)),
            "observed_lower1s": prop(observed["lower"].iloc[0]) if len(observed) else "n/a",
        }
    }
