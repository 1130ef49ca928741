"""The Bayesian section: its tables and quoted numbers; models and groups come from the results."""

from __future__ import annotations

import pandas as pd

from analysis.bayes import models as registry
from analysis.data import group_order
from analysis.publish.format import ci, group_name, md_table, prop
from analysis.results import MissingResultError
from analysis.settings import NEW_GROUP


def groups_with_new(groups) -> list[str]:
    """The groups in table order, then the new group where present."""
    return [*group_order(g for g in groups if g != NEW_GROUP), *([NEW_GROUP] if NEW_GROUP in set(groups) else [])]


def bayes_methods(present) -> dict[str, str]:
    """Registered models (method -> table label) in registry order, and any others present, in order."""
    present = list(dict.fromkeys(present))
    ordered = [m for m in registry.methods() if m in present] + [m for m in present if m not in registry.methods()]
    return {m: registry.label(m) for m in ordered}


def _cri(r) -> str:
    return f"{prop(r.estimate)} ({ci(r.lower, r.upper)})"


def _mean_median_cri(r) -> str:
    median = r["median"] if "median" in r.index else float("nan")  # a row (Series): .median is a method
    med = "" if pd.isna(median) else f" [{prop(median)}]"
    return f"{prop(r.estimate)}{med} ({ci(r.lower, r.upper)})"


def probability(p: float, mcse: float = 0.0, digits: int = 3) -> str:
    """A posterior probability as printed: '>0.999' or '<0.001' where the digits would claim more than the
    Monte Carlo draws can show (no draw on the other side, or a Monte Carlo SE above the last digit)."""
    unit = 10.0**-digits
    if p > 1 - unit and (round(p, digits) >= 1.0 or mcse >= unit / 2):
        return f">{1 - unit:.{digits}f}"
    if p < unit and (round(p, digits) <= 0.0 or mcse >= unit / 2):
        return f"<{unit:.{digits}f}"
    return prop(p, digits)


def max_mcse(est: pd.DataFrame) -> str:
    """The largest Monte Carlo SE of the reported posterior means and limits (for captions)."""
    b = est[(est["analysis"] == "bayes")]
    cols = [c for c in ("mcse", "mcse_lower", "mcse_upper", "mcse_median") if c in b.columns]
    return "n/a" if not cols else f"{float(b[cols].max().max()):.3f}"


def bayes_table(est: pd.DataFrame, one_endpoint: bool = False) -> str:
    """Posterior summaries per disease under each model (no 'new disease' row: it has no endpoint)."""
    b = est[(est["analysis"] == "bayes") & (est["group"] != NEW_GROUP)]
    rows = []
    for g in group_order(b["group"]):
        row = {"Disease": group_name(g)}
        for m, lab in bayes_methods(b["method"]).items():
            sub = b[(b["method"] == m) & (b["group"] == g)]
            row[lab] = _mean_median_cri(sub.iloc[0]) if len(sub) else "not defined"
        rows.append(row)
    return md_table(
        pd.DataFrame(rows),
        "Posterior mean [median] (95% equal-tailed credible interval) of the response "
        "probability per disease under each model. The independent model is the primary Bayesian analysis; pooling, "
        f"the hierarchical model and EXNEX assume the diseases' {'rates' if one_endpoint else 'different endpoints'} "
        "exchangeable and are sensitivity "
        "analyses (independent and pooled: exact Beta posteriors; hierarchical and EXNEX: MCMC, largest Monte Carlo "
        f"standard error of any reported mean, median or limit {max_mcse(est[est['group'] != NEW_GROUP])}).",
        "tbl-bayes",
        "lrrrr",
    )


#: the models the exceedance table shows side by side: the primary (no borrowing), then the borrowing one
EXCEEDANCE_MODELS = ("independent", "hierarchical")


def exceedance_table(exc: pd.DataFrame, models: tuple[str, ...] = EXCEEDANCE_MODELS) -> str:
    """P(rate > benchmark) per disease, the independent model beside the hierarchical one."""
    e = exc[exc["model"].isin(models) & (exc["group"] != NEW_GROUP)]
    benchmarks = sorted(e["benchmark"].unique())
    out = pd.DataFrame({"Benchmark rate": [prop(b) for b in benchmarks]})
    for g in group_order(e["group"]):
        for m in models:
            sub = e[(e["group"] == g) & (e["model"] == m)].set_index("benchmark").reindex(benchmarks)
            mcse = sub["mcse"] if "mcse" in sub else sub["probability"] * 0
            out[f"{group_name(g)}, {registry.label(m).lower()}"] = [
                probability(p, 0.0 if pd.isna(se) else se) for p, se in zip(sub["probability"], mcse)
            ]
    return md_table(
        out,
        "Posterior probability that the response rate exceeds each benchmark, per disease, without borrowing "
        "(independent model, exact) and with borrowing across diseases (hierarchical model, MCMC). '>0.999': the "
        "draws cannot resolve the probability further.",
        "tbl-exceedance",
    )


def fit_settings(records: dict[str, dict]) -> dict:
    """The MCMC settings and convergence gates the paper quotes, from the fits' own records (not the code's
    defaults): one set, shared by every MCMC fit.

    Parameters
    ----------
    records : dict of str to dict
        Each model's fit record (:attr:`analysis.results.Results.fit_records`); closed-form fits have no MCMC
        settings and are skipped.

    Returns
    -------
    dict
        ``{"mcmc": {...}, "gates": {...}}`` as recorded.

    Raises
    ------
    MissingResultError
        When no fit recorded MCMC settings, or two fits record different ones (the paper would quote one set
        for fits made with another).
    """
    found = {name: (rec["mcmc"], rec.get("gates", {})) for name, rec in records.items() if "mcmc" in rec}
    if not found:
        raise MissingResultError("no fit record holds MCMC settings (bayes/<model>.json): rerun the Bayesian step")
    (first, (mcmc, gates)), *others = found.items()
    for name, other in others:
        if other != (mcmc, gates):
            raise MissingResultError(
                f"the fits {first!r} and {name!r} record different MCMC settings or gates ({mcmc}, {gates} vs "
                f"{other[0]}, {other[1]}); the paper quotes one set: rebuild the results with one"
            )
    return {"mcmc": mcmc, "gates": gates}


def fit_variables(records: dict[str, dict]) -> dict:
    """What the paper quotes about how the models were fitted, from the fits' own records: each model's priors
    (``bayes.priors.<model>.<parameter>``), the MCMC settings and the EXNEX weight (``bayes.diag.*``).

    Parameters
    ----------
    records : dict of str to dict
        Each model's fit record (:attr:`analysis.results.Results.fit_records`).

    Returns
    -------
    dict
        ``{"priors": {model: {parameter: prior}}, "diag": {setting: value}}``.
    """
    mcmc = fit_settings(records)["mcmc"]
    out = {
        "priors": {name: dict(rec["model"]["priors"]) for name, rec in records.items()},
        "diag": {k: mcmc[k] for k in ("sampler", "draws", "tune", "chains", "target_accept", "seed")},
    }
    weight = records.get("exnex", {}).get("model", {}).get("exnex_weight")
    if weight is not None:
        out["diag"]["exnex_weight"] = f"{weight:g}"
    return out


def diagnostics_table(diag: pd.DataFrame, sens_diag: pd.DataFrame, gates: dict) -> str:
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
    return md_table(
        pd.DataFrame(rows),
        f"Convergence diagnostics of every MCMC fit. The build fails if any R-hat "
        f"exceeds {gates['max_r_hat']}, any bulk or tail ESS is below {gates['min_ess_bulk']:g}, or any transition "
        "diverges.",
        "tbl-diagnostics",
        "lrrrrr",
    )


#: how a sensitivity scenario's label ends when it leaves a group out ('B left out')
LEFT_OUT = " left out"


def sensitivity_table(sens: pd.DataFrame) -> str:
    rows = []
    sens = sens[sens["group"] != NEW_GROUP]
    for label, sub in sens.groupby("label", sort=False):
        row = {"Scenario": label}
        for g in group_order(sens["group"]):
            r = sub[sub["group"] == g]
            row[group_name(g)] = _cri(r.iloc[0]) if len(r) else "left out"
        rows.append(row)
    left = [x.removesuffix(LEFT_OUT) for x in sens["label"].unique() if str(x).endswith(LEFT_OUT)]
    left = [g for g in left if g in set(sens["group"])]  # a scenario dropping a group the data lack drops nothing
    data = [f"leaving out {g}" for g in left]
    if "external" in set(sens["scenario"]):  # not without published cohorts
        data.append("adding the external cohorts as exchangeable units")
    changes = "and EXNEX's weight and non-exchangeable prior)" + (
        (", " + ", ".join(data[:-1]) + (", " if len(data) > 1 else "") + "and " + data[-1]) if data else ""
    )
    return md_table(
        pd.DataFrame(rows),
        f"Sensitivity of the posterior mean (95% credible interval) to the priors (tau, mu, {changes} "
        "(hierarchical model unless EXNEX is named). Scenarios marked exact were computed by numerical "
        "integration over mu and tau instead of MCMC.",
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
    records: dict[str, dict],
) -> dict:
    """The Bayesian section's quoted numbers; the priors, MCMC settings and EXNEX weight as each fit recorded
    them (``records``: :attr:`analysis.results.Results.fit_records`), so the paper states the priors behind its
    numbers."""
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
        v["exceed"].setdefault(r.model, {}).setdefault(r.group, {})[f"b{round(100 * r.benchmark):02d}"] = probability(
            r.probability, getattr(r, "mcse", 0.0)
        )
    high = exc["benchmark"].max()  # the grid's top, as the results hold it
    v["high_benchmark"] = prop(high, 1)
    top = exc[(exc["model"] == "hierarchical") & (exc["benchmark"] == high)]
    v["exceed_high"] = {
        r.group: probability(r.probability, getattr(r, "mcse", 0.0)) for r in top.itertuples(index=False)
    }
    quoted = fit_variables(records)
    v["priors"] = quoted["priors"]
    v["diag"] = {
        "max_rhat": f"{diag['r_hat'].max():.3f}",
        "min_ess_bulk": f"{diag['ess_bulk'].min():.0f}",
        "min_ess_tail": f"{diag['ess_tail'].min():.0f}",
        "divergences": int(diag["divergences"].sum()),
        **quoted["diag"],
    }
    s = sens[sens["group"] != NEW_GROUP]
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


def hyperparameter_table(hyper: pd.DataFrame) -> str:
    """Prior against posterior of each hyperparameter: where the posterior sd stays near the prior's, the prior decides."""
    rows = []
    for (model, param), sub in hyper.groupby(["model", "parameter"], sort=False):
        pr = sub[sub["source"] == "prior"].iloc[0]
        po = sub[sub["source"] == "posterior"].iloc[0]
        rows.append(
            {
                "Model": registry.label(model),
                "Parameter": param,
                "Prior": pr.distribution,
                "Prior median (95% range)": f"{prop(pr.q50)} ({ci(pr.q025, pr.q975)})",
                "Posterior median (95% CrI)": f"{prop(po.q50)} ({ci(po.q025, po.q975)})",
                "Posterior / prior SD": prop(po.sd_ratio),
            }
        )
    return md_table(
        pd.DataFrame(rows),
        "Hyperparameters before and after the data (logit scale). mu: typical logit response rate; tau: "
        "between-disease SD; nex: each disease's own logit under EXNEX's non-exchangeable component. A posterior SD "
        "close to the prior SD means the data say little and the prior decides.",
        "tbl-hyperparameters",
        "lllrrr",
    )


def hyperparameter_variables(hyper: pd.DataFrame, exch: pd.DataFrame) -> dict:
    v: dict = {"hyper": {}, "exch": {}}
    for r in hyper.itertuples(index=False):
        slot = v["hyper"].setdefault(r.model, {}).setdefault(r.parameter, {})
        slot[r.source] = {"median": prop(r.q50), "lower": prop(r.q025), "upper": prop(r.q975)}
        if r.source == "posterior":
            slot["sd_ratio"] = prop(r.sd_ratio)
    for r in exch.itertuples(index=False):
        v["exch"].setdefault(r.model, {})[r.group] = {"posterior": prop(r.posterior), "prior": prop(r.prior)}
    return v


def check_variables(crosscheck: pd.DataFrame, lodo: pd.DataFrame) -> dict:
    """The engine cross-check and the leave-one-disease-out check, for the model-checks paragraph."""
    v: dict = {"crosscheck": {}, "lodo": {}}
    if len(crosscheck):
        # the largest difference and the largest standardised difference are different rows: each is quoted with
        # its own row's other number, never one row's difference with another row's z
        diff = (crosscheck["mcmc"] - crosscheck["engine"]).abs()
        at_diff, at_z = crosscheck.loc[diff.idxmax()], crosscheck.loc[crosscheck["z"].idxmax()]
        v["crosscheck"] = {
            "n": int(len(crosscheck)),
            "fits": int(crosscheck["model"].nunique()),
            "max_z": f"{at_z['z']:.1f}",
            "max_z_diff": f"{abs(at_z['mcmc'] - at_z['engine']):.4f}",
            "max_diff": f"{diff.max():.4f}",
            "max_diff_z": f"{at_diff['z']:.1f}",
        }
    for r in lodo.itertuples(index=False):
        v["lodo"].setdefault(r.model, {})[r.group] = {
            "p_all": prop(r.prob_all_respond),
            "predicted": f"{r.predicted_mean:.1f}",
            "n": int(r.n),
        }
    return v
