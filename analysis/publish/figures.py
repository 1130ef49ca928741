"""Figures for the manuscript, drawn with seaborn from the results files.

Every figure function takes a results table and an output path and writes a
PNG atomically; none computes a statistic of its own.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.bayes import models as registry  # noqa: E402
from analysis.data import group_order  # noqa: E402
from analysis.io import atomic_path  # noqa: E402
from analysis.publish.format import group_name  # noqa: E402
from analysis.settings import NEW_GROUP, TOTAL  # noqa: E402

DPI = 200
FREQUENTIST_LABELS = {
    "clopper-pearson": "Clopper-Pearson (exact)",
    "wilson": "Wilson",
    "jeffreys": "Jeffreys",
}


def method_label(method: str) -> str:
    """A method's label in figure legends (Bayesian models' labels come from the registry)."""
    return FREQUENTIST_LABELS.get(method) or registry.label(method, long=True)


def group_label(g: str, n: int | None = None) -> str:
    return group_name(g) if g == NEW_GROUP or n is None else f"{group_name(g)} (n = {n})"


def ordered_groups(groups) -> list[str]:
    """Groups in table order, then the whole cohort, then the new group, as present."""
    present = set(groups)
    return [*group_order(g for g in groups if g != NEW_GROUP), *(g for g in (TOTAL, NEW_GROUP) if g in present)]


def _save(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(fig)


def forest(
    estimates: pd.DataFrame,
    path: Path,
    methods: list[str],
    endpoint: str = "response",
    title: str | None = None,
    benchmark: float | None = None,
) -> None:
    """Forest plot: one row per group, one colour per interval method."""
    df = estimates[(estimates["endpoint"] == endpoint) & estimates["method"].isin(methods)].copy()
    if df.empty:
        raise ValueError(f"no estimates for endpoint {endpoint!r} and methods {methods}")
    order = ordered_groups(df["group"])
    n_by_group = df.groupby("group")["n"].max()
    df["label"] = [group_label(g, n_by_group[g]) for g in df["group"]]
    labels = [group_label(g, n_by_group[g]) for g in order]
    palette = dict(zip(methods, sns.color_palette("colorblind", len(methods))))
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    fig, ax = plt.subplots(figsize=(7, 0.65 * len(order) * max(1, len(methods) / 2) + 1.2))
    step = 0.8 / max(1, len(methods))
    for j, method in enumerate(methods):
        sub = df[df["method"] == method].set_index("group").reindex(order).dropna(subset=["estimate"])
        ys = [labels.index(group_label(g, n_by_group[g])) + (j - (len(methods) - 1) / 2) * step for g in sub.index]
        ax.errorbar(
            sub["estimate"],
            ys,
            xerr=[sub["estimate"] - sub["lower"], sub["upper"] - sub["estimate"]],
            fmt="o",
            color=palette[method],
            capsize=3,
            label=method_label(method),
            ms=5,
        )
    if benchmark is not None:
        ax.axvline(benchmark, color="0.4", ls="--", lw=1)
        ax.text(
            benchmark,
            1.01,
            f"assumed benchmark {benchmark:g}",
            color="0.3",
            fontsize=8,
            va="bottom",
            ha="center",
            transform=ax.get_xaxis_transform(),
        )
    ax.set_yticks(range(len(order)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("Proportion responding (95% interval)")
    ax.set_ylabel("")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(3, len(methods)), frameon=False)
    _save(fig, path)


def shrinkage(estimates: pd.DataFrame, path: Path) -> None:
    """Posterior means per disease under each model, from no pooling to complete pooling (registry order)."""
    bayes = estimates[(estimates["analysis"] == "bayes") & (estimates["group"] != NEW_GROUP)]
    present = set(bayes["method"])
    order = sorted((m for m in registry.methods() if m in present), key=lambda m: registry.model_class(m).pooling)
    df = bayes[bayes["method"].isin(order)].copy()
    labels = [method_label(m) for m in order]
    df["model"] = pd.Categorical(df["method"].map(method_label), labels, ordered=True)
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sns.lineplot(
        data=df.sort_values("model"),
        x="model",
        y="estimate",
        hue="group",
        marker="o",
        ax=ax,
        palette="colorblind",
        sort=False,
    )
    ax.set_xlabel("")
    ax.set_ylabel("Posterior mean response probability")
    ax.tick_params(axis="x", labelrotation=15)
    ax.legend(title="Disease", frameon=False)
    _save(fig, path)


def sensitivity(table: pd.DataFrame, path: Path) -> None:
    """Posterior mean and 95% interval per disease under each sensitivity scenario."""
    df = table.copy()
    labels = list(dict.fromkeys(df["label"]))
    groups = ordered_groups(df["group"])
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, axes = plt.subplots(1, len(groups), figsize=(2.2 * len(groups) + 2.4, 0.33 * len(labels) + 1.3), sharey=True)
    colors = sns.color_palette("colorblind", len(groups))
    for ax, g, color in zip(axes, groups, colors):
        sub = df[df["group"] == g].set_index("label").reindex(labels)
        ys = range(len(labels))
        ax.errorbar(
            sub["estimate"],
            ys,
            xerr=[sub["estimate"] - sub["lower"], sub["upper"] - sub["estimate"]],
            fmt="o",
            color=color,
            capsize=2,
            ms=4,
        )
        ax.set_title(group_name(g))
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("Response probability")
    axes[0].set_yticks(range(len(labels)), labels)
    axes[0].invert_yaxis()
    _save(fig, path)


def priors_figures(out_dir: Path, result: dict) -> list[Path]:
    """Figures of a priors run: MAP draws vs mixture, prior vs posterior, OC curves (one file each)."""
    from analysis.priors import BetaMixture

    out_dir = Path(out_dir)
    written = []
    recs = result["records"]
    maps = [name for name, r in recs.items() if "draws" in r]
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    x = np.linspace(0.0005, 0.9995, 800)
    if maps:
        fig, axes = plt.subplots(1, len(maps), figsize=(3.2 * len(maps), 2.8), sharey=False)
        for ax, name in zip(np.atleast_1d(axes), maps):
            r = recs[name]
            ax.hist(r["draws"], bins=60, range=(0, 1), density=True, color="0.8", label="MAP draws (MCMC)")
            ax.plot(x, r["informative"].pdf(x), color=sns.color_palette("colorblind")[0], label="Beta mixture (EM)")
            ax.plot(x, r["mixture"].pdf(x), color=sns.color_palette("colorblind")[1], ls="--", label="robust mixture")
            ax.set_title(f"{name} ({len(r['studies'])} cohorts)")
            ax.set_xlabel("Response rate")
            ax.set_ylim(0, min(ax.get_ylim()[1], 12))
        np.atleast_1d(axes)[0].set_ylabel("Density")
        np.atleast_1d(axes)[0].legend(frameon=False, fontsize=7, loc="upper left")
        path = out_dir / "map-priors.png"
        _save(fig, path)
        written.append(path)
    for dname, d in result["designs"].items():
        if d["type"] != "one-sample":
            continue
        grid = np.asarray(d["grid"])
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for (pname, e), color in zip(d["priors"].items(), sns.color_palette("colorblind")):
            ax.plot(grid, e["oc"], color=color, label=f"{pname} prior (success if >= {e['boundary']}/{d['n']})")
            if "interim" in e:
                ax.plot(
                    grid,
                    e["interim"]["success"],
                    color=color,
                    ls=":",
                    label=f"{pname} prior with interim futility at {d['interim_n']}",
                )
        ax.axvline(d["p0"], color="0.5", ls="--", lw=1)
        ax.set_xlabel("True response rate")
        ax.set_ylabel("Probability of success")
        ax.legend(frameon=False, fontsize=7)
        path = out_dir / f"oc-{dname}.png"
        _save(fig, path)
        written.append(path)
        fig, axes = plt.subplots(1, len(d["priors"]), figsize=(3.3 * len(d["priors"]), 2.8), sharey=True)
        for ax, (pname, e) in zip(np.atleast_1d(axes), d["priors"].items()):
            prior = recs[pname]["mixture"]
            ax.plot(x, prior.pdf(x), color="0.4", ls="--", label="prior")
            for ex, color in zip(e["examples"], sns.color_palette("colorblind")):
                post = BetaMixture.from_dict(ex["posterior"])
                ax.plot(x, post.pdf(x), color=color, label=f"posterior, {ex['events']}/{ex['n']}")
            ax.axvline(d["p0"], color="0.6", lw=1)
            ax.set_title(f"{pname} prior")
            ax.set_xlabel("Response rate")
        np.atleast_1d(axes)[0].set_ylabel("Density")
        np.atleast_1d(axes)[0].legend(frameon=False, fontsize=7, loc="upper left")
        path = out_dir / f"prior-posterior-{dname}.png"
        _save(fig, path)
        written.append(path)
    return written


def prior_predictive(table: pd.DataFrame, path: Path) -> None:
    """What each model's priors imply for one disease's response probability (80% and 95% ranges)."""
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    fig, ax = plt.subplots(figsize=(6.5, 2.6))
    ys = np.arange(len(table))
    colors = sns.color_palette("colorblind", len(table))
    ax.hlines(ys, table["q025"], table["q975"], color=colors, lw=2, label="95% range")
    ax.hlines(ys, table["q10"], table["q90"], color=colors, lw=6, alpha=0.6, label="80% range")
    ax.scatter(table["q50"], ys, color="black", zorder=3, s=18, label="median")
    ax.set_yticks(ys, [method_label(f"bayes-{m}") for m in table["model"]])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Prior predictive response probability of one disease")
    _save(fig, path)


def hyperparameters(hyper: pd.DataFrame, posteriors: dict, path: Path) -> None:
    """Prior density against posterior draws of mu and tau (one row per model with a hierarchy)."""
    from analysis.bayes.prior import Prior

    models = [m for m in dict.fromkeys(hyper["model"]) if m in posteriors]
    params = ["mu", "tau"]
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, axes = plt.subplots(len(models), 2, figsize=(6.8, 2.3 * len(models)), squeeze=False)
    colors = sns.color_palette("colorblind")
    for i, model in enumerate(models):
        for j, param in enumerate(params):
            ax = axes[i, j]
            pr = hyper[(hyper["model"] == model) & (hyper["parameter"] == param) & (hyper["source"] == "prior")]
            draws = posteriors[model].posterior[param].values.ravel()
            lo, hi = (-6.0, 8.0) if param == "mu" else (0.0, 5.0)
            ax.hist(draws, bins=80, range=(lo, hi), density=True, color=colors[0], alpha=0.55, label="posterior")
            if len(pr):
                prior = Prior.parse(pr["distribution"].iloc[0])
                x = np.linspace(lo + 1e-6, hi, 400)
                ax.plot(x, np.exp(prior.logpdf(x)), color=colors[1], lw=1.8, label=f"prior {prior}")
            ax.set_xlim(lo, hi)
            ax.set_title(f"{registry.label(model)}: {param}")
            ax.set_yticks([])
            ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    _save(fig, path)
