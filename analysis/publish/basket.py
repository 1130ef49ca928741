"""The follow-up basket trial section: operating characteristics with and without borrowing."""

from __future__ import annotations

import re

import pandas as pd

from analysis.basket import methods as registry
from analysis.publish.format import md_table, prop


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


def basket_table(oc: pd.DataFrame, design: dict | None = None) -> str:
    """P(go) per indication and family-wise error rate, per scenario and method."""
    inds = [i for i in dict.fromkeys(oc["indication"]) if i != "(any)"]
    rows = []
    for (scenario, method), sub in oc.groupby(["scenario", "method"], sort=False):
        s = sub.set_index("indication")
        row = {"Scenario": scenario, "Method": method_label(method, design)}
        for i in inds:
            mark = "" if str(s.loc[i, "null"]) != "True" else "*"
            row[i] = f"{prop(s.loc[i, 'go'], 3)}{mark}"
        row["FWER"] = prop(s.loc["(any)", "fwer"], 3) if "(any)" in s.index else ""
        row["Expected N"] = f"{s.loc['(any)', 'expected_n']:.0f}" if "(any)" in s.index else ""
        rows.append(row)
    how = "exact (all outcomes enumerated)" if (oc["oc"] == "exact").all() else "exact or simulated (see oc.csv)"
    return md_table(
        pd.DataFrame(rows),
        "Operating characteristics of the follow-up basket trial: probability of a go decision per indication "
        "under each scenario of true rates and each borrowing method, " + how + ". *: the true rate is the "
        "indication's null rate, so the entry is a type I error. FWER: probability of at least one false go.",
        "tbl-basket",
        "ll" + "r" * (len(inds) + 2),
    )


def basket_variables(oc: pd.DataFrame, design: dict) -> dict:
    v: dict = {"go": {}, "fwer": {}, "indications": {}}
    for r in oc.itertuples(index=False):
        if r.indication == "(any)":
            v["fwer"].setdefault(r.method, {})[key(r.scenario)] = prop(r.fwer, 3)
        else:
            v["go"].setdefault(r.method, {}).setdefault(key(r.scenario), {})[r.indication] = prop(r.go, 3)
    for ind in design.get("indications", []):
        v["indications"][ind["name"]] = {
            "n": ind["n"],
            "p0": prop(ind["p0"]),
            "target": prop(ind["target"]),
            "c": f"{ind['c']:g}",
        }
    v["n_methods"] = int(oc["method"].nunique())
    v["n_scenarios"] = int(oc["scenario"].nunique())
    return v
