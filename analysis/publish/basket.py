"""The follow-up basket trial section: borrowing methods compared at equal type I error.

Tables and quoted numbers come from ``results/basket`` (``oc.csv``, ``calibration.csv``, ``design.json``);
every comparative sentence of the section is generated here from those numbers (``say``), so the prose
cannot disagree with them.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.basket import methods as registry
from analysis.publish.format import md_table, prop


def own_design(design: dict, groups) -> bool:
    """Whether the basket design is the cohort's: its indications are groups of the data (``groups``).  Another
    cohort's build gets the paper's design copied into its results; its report then shows, quotes and keeps nothing
    of it (:func:`analysis.publish.build.compute_report`)."""
    names = {i.get("name") for i in design.get("indications") or []}
    return bool(names) and names <= set(groups)


def method_label(method: str, design: dict | None = None) -> str:
    """A method's readable label: from the design's own record when given, else from the method registry."""
    for m in (design or {}).get("methods", []):
        if m["name"] == method and "label" in m:
            return m["label"]
    return registry.label(method)


def key(text: str) -> str:
    """A variable key from a scenario name ('SLE and IIM active' -> 'sle_and_iim_active')."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def basket_methods_table(design: dict) -> str:
    """The borrowing methods of the design with their priors and settings, as recorded by the design run."""
    rows = [
        {"Method": m.get("label", m["name"]), "Priors and settings": m.get("settings", "")} for m in design["methods"]
    ]
    return md_table(
        pd.DataFrame(rows),
        "Borrowing methods of the follow-up basket trial and their priors (as run).",
        "tbl-basket-methods",
        "ll",
    )


def _set(oc: pd.DataFrame, thresholds: str | None = None) -> pd.DataFrame:
    """The rows of one threshold set: calibrated when the design calibrated (default), else nominal."""
    if "thresholds" not in oc:
        return oc
    if thresholds is None:
        thresholds = "calibrated" if (oc["thresholds"] == "calibrated").any() else "nominal"
    return oc[oc["thresholds"] == thresholds]


def _null(v) -> bool:
    return str(v) == "True"


def basket_table(oc: pd.DataFrame, design: dict | None = None, thresholds: str | None = None) -> str:
    """P(go) per indication, family-wise error rate and expected sample size, per scenario and method."""
    sub_oc = _set(oc, thresholds)
    which = sub_oc["thresholds"].iloc[0] if "thresholds" in sub_oc else "nominal"
    inds = [i for i in dict.fromkeys(sub_oc["indication"]) if i != "(any)"]
    rows = []
    for (scenario, method), sub in sub_oc.groupby(["scenario", "method"], sort=False):
        s = sub.set_index("indication")
        row = {"Scenario": scenario, "Method": method_label(method, design)}
        for i in inds:
            row[i] = f"{prop(s.loc[i, 'go'], 3)}{'*' if _null(s.loc[i, 'null']) else ''}"
        row["FWER"] = prop(s.loc["(any)", "fwer"], 3) if "(any)" in s.index else ""
        row["Expected N"] = f"{s.loc['(any)', 'expected_n']:.1f}" if "(any)" in s.index else ""
        rows.append(row)
    how = "exact (all outcomes enumerated)" if (sub_oc["oc"] == "exact").all() else "exact or simulated (see oc.csv)"
    cal = (design or {}).get("calibration")
    if which == "calibrated" and cal:
        thr = (
            f"at calibrated thresholds (each disease's type I error under the global null at most "
            f"{prop(cal['alpha'])}, @tbl-basket-calibration)"
        )
        label = "tbl-basket"
    else:
        thr = "at the nominal (uncalibrated) thresholds of the design file, so type I errors differ between methods"
        label = "tbl-basket" if which == "calibrated" or not cal else "tbl-basket-nominal"
    if thresholds == "nominal" and cal:
        label = "tbl-basket-nominal"
    return md_table(
        pd.DataFrame(rows),
        "Operating characteristics of the follow-up basket trial " + thr + ": probability of a go decision per "
        "disease under each scenario of true rates and each borrowing method, " + how + ". *: the true rate is "
        "the disease's null rate, so the entry is a type I error. FWER: probability of at least one false go.",
        label,
        "ll" + "r" * (len(inds) + 2),
    )


def basket_calibration_table(cal: pd.DataFrame, design: dict) -> str:
    """Nominal and calibrated thresholds per method and disease with their type I errors."""
    rows = []
    for r in cal.itertuples(index=False):
        rows.append(
            {
                "Method": method_label(r.method, design),
                "Disease": r.indication,
                "Nominal threshold": f"{r.nominal_threshold:.3f}",
                "Type I error, nominal": prop(r.nominal_type1, 3),
                "Calibrated threshold": f"{r.threshold:.3f}",
                "Type I error, calibrated": prop(r.type1, 3),
                "Largest over partial nulls": prop(r.type1_max_partial, 3),
            }
        )
    c = design["calibration"]
    aim = {
        "each": "each disease's type I error under the global null",
        "partial": "each disease's largest type I error over the partial nulls",
        "fwer": "the family-wise error under the global null (one common threshold)",
    }[c["control"]]
    return md_table(
        pd.DataFrame(rows),
        f"Calibration of the follow-up basket trial: the smallest thresholds with {aim} at most "
        f"{prop(c['alpha'])}. A go needs P(rate > null rate | data) above the threshold. Outcomes are discrete, "
        "so the achieved error is at most, and usually below, the target. Partial nulls: the disease at its null "
        "rate, each other disease at its null or its target rate (the largest error borrowing can cause).",
        "tbl-basket-calibration",
        "llrrrrr",
    )


def lone_active(oc: pd.DataFrame) -> pd.DataFrame:
    """Power of a disease that responds alone (the others at their nulls), per method, at the calibrated thresholds
    of ``oc`` (nominal when it has none), with the power it loses against no borrowing (``lost`` > 0: borrowing costs it power)."""
    d = _set(oc)
    d = d[d["indication"] != "(any)"]
    rows = []
    for scenario, sub in d.groupby("scenario", sort=False):
        first = sub.drop_duplicates("indication")
        active = first[~first["null"].map(_null)]
        if len(active) != 1 or len(first) < 2:
            continue
        ind = active["indication"].item()
        for r in sub[sub["indication"] == ind].itertuples(index=False):
            rows.append({"indication": ind, "scenario": scenario, "method": r.method, "power": r.go})
    out = pd.DataFrame(rows, columns=["indication", "scenario", "method", "power"])
    if out.empty:
        return out.assign(lost=pd.Series(dtype=float))
    base = out[out["method"] == "independent"].set_index("indication")["power"]
    return out.assign(lost=out["indication"].map(base) - out["power"])


GAIN_SCALE = re.compile(r"; (?:borrowing|sharing) the gain over the null, logit\(p\) - logit\(p0\)")


def _once(settings: str) -> str:
    """A method's settings without the gain-scale clause the prose states once for every method."""
    return GAIN_SCALE.sub("", settings)


def printed_lost(power: float, lost: float) -> tuple[str, str, float]:
    """A lone disease's power and its power without borrowing as printed (3 decimals), and the power lost as the
    difference of the printed values, so that a reader can subtract what the paper prints."""
    p, b = prop(power, 3), prop(power + lost, 3)
    return p, b, round(float(b) - float(p), 3) + 0.0


def basket_lone_table(oc: pd.DataFrame, design: dict | None = None) -> str:
    """Power of each disease when it alone responds, and when all respond, at calibrated thresholds."""
    cal = _set(oc)
    lone = lone_active(cal)
    d = cal[cal["indication"] != "(any)"]
    all_active = None
    for scenario, sub in d.groupby("scenario", sort=False):
        if not sub["null"].map(_null).any():
            all_active = scenario
            break
    rows = []
    for method in dict.fromkeys(cal["method"]):
        row = {"Method": method_label(method, design)}
        for ind in dict.fromkeys(lone["indication"]):
            r = lone[(lone["method"] == method) & (lone["indication"] == ind)]
            power, _, lost = printed_lost(r["power"].item(), r["lost"].item())
            row[f"{ind} alone"] = f"{power} ({lost:+.3f})"
            if all_active is not None:
                a = d[(d["method"] == method) & (d["indication"] == ind) & (d["scenario"] == all_active)]
                row[f"{ind}, all respond"] = prop(a["go"].item(), 3)
        rows.append(row)
    df = pd.DataFrame(rows)
    return md_table(
        df,
        "Power of each disease of the follow-up basket trial when it alone responds at its target rate (the others "
        "at their null rates) and when all respond, at calibrated thresholds (equal type I error). In brackets: "
        "the power lost against no borrowing (positive: borrowing from non-responding diseases costs power).",
        "tbl-basket-lone",
        "l" + "r" * (df.shape[1] - 1),
    )


def _compare(a: float, b: float, more: str, less: str, same: str = "the same as", tol: float = 5e-4) -> str:
    """The word relating ``a`` to ``b`` (within ``tol``: ``same``)."""
    if abs(a - b) <= tol:
        return same
    return more if a > b else less


def statements(oc: pd.DataFrame, cal: pd.DataFrame | None, design: dict) -> dict:
    """The section's comparative sentences, each generated from the numbers it quotes."""
    say: dict = {}
    low = {m["name"]: m.get("noun", m.get("label", m["name"])) for m in design["methods"]}
    nom = _set(oc, "nominal")
    fw = nom[nom["indication"] == "(any)"].copy()
    null_fw = fw[fw["null"].map(_null) & fw["fwer"].notna()]
    glob = None
    for scenario, sub in nom[nom["indication"] != "(any)"].groupby("scenario", sort=False):
        if sub["null"].map(_null).all():
            glob = scenario
            break
    if glob is not None:
        g = nom[(nom["scenario"] == glob) & (nom["indication"] != "(any)")]
        lo, hi = g.loc[g["go"].idxmin()], g.loc[g["go"].idxmax()]
        say["nominal_range"] = (
            f"at the thresholds of the design file, the type I error of a disease under the global null ranges "
            f"from {prop(lo['go'], 3)} ({low[lo['method']]}, {lo['indication']}) to {prop(hi['go'], 3)} "
            f"({low[hi['method']]}, {hi['indication']})"
        )
        gf = null_fw[null_fw["scenario"] == glob]
        lo, hi = gf.loc[gf["fwer"].idxmin()], gf.loc[gf["fwer"].idxmax()]
        say["nominal_fwer"] = (
            f"the family-wise error from {prop(lo['fwer'], 3)} ({low[lo['method']]}) to {prop(hi['fwer'], 3)} "
            f"({low[hi['method']]})"
        )
    if cal is None or cal.empty:
        return say
    c = _set(oc, "calibrated")
    alpha = float(cal["alpha"].iloc[0])
    say["achieved"] = (
        f"the achieved type I errors range from {prop(cal['type1'].min(), 3)} to {prop(cal['type1'].max(), 3)}, "
        f"{'all' if (cal['type1'] <= alpha + 1e-12).all() else 'not all'} at most {prop(alpha)}"
    )
    fwc = cal.drop_duplicates("method").set_index("method")["fwer"]
    borrow = fwc.drop("independent", errors="ignore")
    lo, hi = borrow.idxmin(), borrow.idxmax()
    say["calibrated_fwer"] = (
        f"the family-wise error under the global null is then {prop(fwc[lo], 3)} ({low[lo]}) to "
        f"{prop(fwc[hi], 3)} ({low[hi]}) with borrowing, against {prop(fwc.get('independent', float('nan')), 3)} "
        f"without"
    )
    worst = cal.loc[cal["type1_max_partial"].idxmax()]
    say["partial"] = (
        f"over partial nulls (the other diseases responding) a disease's type I error reaches "
        f"{prop(worst['type1_max_partial'], 3)} ({low[worst['method']]}, {worst['indication']}), "
        f"{_compare(worst['type1_max_partial'], alpha, 'above', 'below', 'at')} the target of {prop(alpha)}"
    )
    d = c[c["indication"] != "(any)"]
    all_active = next((s for s, sub in d.groupby("scenario", sort=False) if not sub["null"].map(_null).any()), None)
    if all_active is not None:
        a = d[d["scenario"] == all_active]
        for ind, sub in a.groupby("indication", sort=False):
            best = sub.loc[sub["go"].idxmax()]
            base = sub[sub["method"] == "independent"]["go"].item()
            say.setdefault("all_active", {})[ind] = (
                f"{prop(best['go'], 3)} ({low[best['method']]}), "
                f"{_compare(best['go'], base, 'above', 'below')} {prop(base, 3)} without borrowing"
            )
    if "stop_futility" in c and glob is not None:
        g = c[(c["scenario"] == glob) & (c["indication"] != "(any)")]
        tot = c[(c["scenario"] == glob) & (c["indication"] == "(any)")]
        n_max = sum(int(i["n"]) for i in design["indications"])
        lo, hi = g.loc[g["stop_futility"].idxmin()], g.loc[g["stop_futility"].idxmax()]
        say["interim"] = (
            f"under the global null the futility look stops a disease with probability {prop(lo['stop_futility'])} "
            f"({low[lo['method']]}, {lo['indication']}) to {prop(hi['stop_futility'])} ({low[hi['method']]}, "
            f"{hi['indication']}), and the trial enrols {tot['expected_n'].min():.1f} to "
            f"{tot['expected_n'].max():.1f} patients on average instead of {n_max}"
        )
    lone = lone_active(c)
    if not lone.empty:
        lone = lone.assign(shown=[printed_lost(p, x)[2] for p, x in zip(lone["power"], lone["lost"])])
        worst = lone.loc[lone["shown"].idxmax()]
        power, base, lost = printed_lost(worst["power"], worst["lost"])
        say["lone_cost"] = (
            f"borrowing costs a disease that responds alone up to {prop(lost, 3)} of power "
            f"({low[worst['method']]}, {worst['indication']}: {power} against {base} without borrowing)"
            if lost > 5e-4
            else "no borrowing method costs a disease that responds alone any power"
        )
        words: dict[str, list[str]] = {}
        for m, sub in lone.groupby("method", sort=False):
            if m == "independent":
                continue
            gain = -sub["shown"].mean()  # the mean of the differences Table S12 prints
            verb = _compare(gain, 0, "gains", "loses", "neither gains nor loses")
            say.setdefault("lone", {})[m] = (
                f"with {low[m]} a disease that responds alone {verb} {prop(abs(gain), 3)} of power"
            )
            words.setdefault(verb, []).append(
                f"with {low[m]}" if verb.startswith("neither") else f"{prop(abs(gain), 3)} with {low[m]}"
            )
        if words:
            parts = []
            for verb, items in words.items():
                head = (
                    "power " + items[0]
                    if verb.startswith("neither")
                    else items[0].replace(" with ", " of power with ", 1)
                )
                items = [head, *items[1:]]
                body = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
                parts.append(f"{verb} {body}")
            say["lone_avg"] = "a disease that responds alone " + (
                parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]
            )
    return say


def basket_variables(oc: pd.DataFrame, design: dict, cal: pd.DataFrame | None = None) -> dict:
    """The section's quoted numbers: go probabilities and FWER (calibrated and nominal), the design, calibration
    thresholds, and the generated comparative sentences (``say``)."""
    v: dict = {"go": {}, "fwer": {}, "nominal": {"go": {}, "fwer": {}}, "indications": {}}
    for label, target in (("calibrated", v), ("nominal", v["nominal"])):
        sub = _set(oc, label) if "thresholds" in oc else oc
        if label == "calibrated" and "thresholds" in oc and not (oc["thresholds"] == "calibrated").any():
            sub = _set(oc, "nominal")
        for r in sub.itertuples(index=False):
            if r.indication == "(any)":
                target["fwer"].setdefault(r.method, {})[key(r.scenario)] = prop(r.fwer, 3)
            else:
                target["go"].setdefault(r.method, {}).setdefault(key(r.scenario), {})[r.indication] = prop(r.go, 3)
    for ind in design.get("indications", []):
        v["indications"][ind["name"]] = {
            "n": ind["n"],
            "p0": prop(ind["p0"]),
            "target": prop(ind["target"]),
            "c": f"{ind['c']:g}",
        }
    cal_rows = _set(oc)
    if "stop_futility" in cal_rows:
        for r in cal_rows[cal_rows["indication"] != "(any)"].itertuples(index=False):
            v.setdefault("stop", {}).setdefault(r.method, {}).setdefault(key(r.scenario), {})[r.indication] = prop(
                r.stop_futility
            )
    for r in cal_rows[cal_rows["indication"] == "(any)"].itertuples(index=False):
        v.setdefault("expected_n", {}).setdefault(r.method, {})[key(r.scenario)] = f"{r.expected_n:.1f}"
    v["interim_n"] = {i["name"]: i.get("interim_n") for i in design.get("indications", [])}
    v["futility"] = {i["name"]: prop(i["futility"]) for i in design.get("indications", []) if i.get("futility")}
    v["n_methods"] = int(oc["method"].nunique())
    v["n_scenarios"] = int(oc["scenario"].nunique())
    # the methods paragraph explains the gain scale once, after the list: not again per method
    v["priors"] = {m["name"]: _once(m.get("settings", "")) for m in design["methods"]}
    v["labels"] = {m["name"]: m.get("label", m["name"]) for m in design["methods"]}
    if cal is not None and not cal.empty:
        c = design["calibration"]
        v["alpha"] = prop(c["alpha"])
        v["threshold"] = {
            m: {r.indication: f"{r.threshold:.3f}" for r in sub.itertuples(index=False)}
            for m, sub in cal.groupby("method", sort=False)
        }
    v["say"] = statements(oc, cal, design)
    return v
