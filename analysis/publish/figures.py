"""Figures for the manuscript, drawn with seaborn from the results files.

Every figure function takes a results table and an output path and writes a
PNG atomically; none computes a statistic of its own.

House style: every figure is drawn at the width of the PDF's text block
(:data:`TEXT_WIDTH`, A4 with 2.5 cm margins) and saved at exactly that size,
and the renderers set it at that width, so a font drawn at 8 pt prints at
8 pt; no text is smaller than :data:`MIN_FONT` (7 pt).  All figures share one
colour-blind-safe palette (Okabe and Ito), and a method, model or disease
keeps its colour from one figure to the next.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.bayes import models as registry  # noqa: E402
from analysis.data import group_order  # noqa: E402
from analysis.publish.format import group_name  # noqa: E402
from analysis.settings import NEW_GROUP, TOTAL  # noqa: E402

DPI = 300
TEXT_WIDTH = 16 / 2.54  # inches: A4 (21 cm) less two 2.5 cm margins, as in _quarto.yml
MIN_FONT = 7.0  # points at print size
FONT = 8.0
# Okabe & Ito (2008), colour-blind safe; yellow left out (too light on white)
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
METHOD_COLOURS = {
    "clopper-pearson": "#000000",
    "wilson": "#E69F00",
    "jeffreys": "#56B4E9",
    "bayes-independent": "#009E73",
    "bayes-exnex": "#D55E00",
    "bayes-hierarchical": "#0072B2",
    "bayes-pooled": "#CC79A7",
}
FREQUENTIST_LABELS = {
    "clopper-pearson": "Clopper-Pearson (exact)",
    "wilson": "Wilson",
    "jeffreys": "Jeffreys",
}


def method_label(method: str) -> str:
    """A method's label in figure legends (Bayesian models' labels come from the registry)."""
    return FREQUENTIST_LABELS.get(method) or registry.label(method, long=True)


def group_label(g: str, n: int | None = None) -> str:
    """A group's row label: 'SLE (n = 8)'; the whole cohort is labelled descriptive (its endpoints differ)."""
    name = "All, descriptive" if g == TOTAL else group_name(g)
    return name if g == NEW_GROUP or n is None else f"{name} (n = {n})"


def ordered_groups(groups) -> list[str]:
    """Groups in table order, then the whole cohort, then the new group, as present."""
    present = set(groups)
    return [*group_order(g for g in groups if g != NEW_GROUP), *(g for g in (TOTAL, NEW_GROUP) if g in present)]


def style() -> None:
    """The one theme of every figure: whitegrid, 8 pt text, 7 pt or more everywhere, Okabe-Ito colours."""
    sns.set_theme(
        style="whitegrid",
        palette=OKABE_ITO,
        rc={
            "font.size": FONT,
            "axes.titlesize": FONT,
            "axes.labelsize": FONT,
            "xtick.labelsize": MIN_FONT + 0.5,
            "ytick.labelsize": MIN_FONT + 0.5,
            "legend.fontsize": MIN_FONT + 0.5,
            "legend.title_fontsize": FONT,
            "axes.linewidth": 0.6,
            "grid.linewidth": 0.4,
            "lines.linewidth": 1.2,
            "lines.markersize": 4,
            "figure.dpi": DPI,
        },
    )


def method_colour(method: str, i: int = 0) -> str:
    return METHOD_COLOURS.get(method, OKABE_ITO[i % len(OKABE_ITO)])


def group_colours(groups) -> dict[str, str]:
    """A disease's colour, the same in every figure: by its place in the table order."""
    order = ordered_groups(groups)
    return {g: OKABE_ITO[i % len(OKABE_ITO)] for i, g in enumerate(order)}


def figure(height: float, ncols: int = 1, nrows: int = 1, **kw):
    """A figure exactly as wide as the text block (constrained layout keeps the size exact)."""
    style()
    return plt.subplots(nrows, ncols, figsize=(TEXT_WIDTH, height), layout="constrained", **kw)


def too_small(fig: plt.Figure) -> list[str]:
    """Texts of ``fig`` set below :data:`MIN_FONT` (the steps refuse to save such a figure)."""
    return [t.get_text() for t in fig.findobj(plt.Text) if t.get_text() and t.get_fontsize() < MIN_FONT - 1e-9]


def forest(
    estimates: pd.DataFrame,
    methods: list[str],
    endpoint: str = "response",
    title: str | None = None,
    benchmark: float | None = None,
) -> plt.Figure:
    """Forest plot: one row per group, one colour per interval method."""
    df = estimates[(estimates["endpoint"] == endpoint) & estimates["method"].isin(methods)].copy()
    if df.empty:
        raise ValueError(f"no estimates for endpoint {endpoint!r} and methods {methods}")
    order = ordered_groups(df["group"])
    n_by_group = df.groupby("group")["n"].max()
    df["label"] = [group_label(g, n_by_group[g]) for g in df["group"]]
    labels = [group_label(g, n_by_group[g]) for g in order]
    palette = {m: method_colour(m, i) for i, m in enumerate(methods)}
    fig, ax = figure(0.9 + 0.16 * len(order) * max(2, len(methods)))
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
            capsize=2,
            label=method_label(method),
            ms=3.5,
            elinewidth=1.1,
        )
    if benchmark is not None:
        ax.axvline(benchmark, color="0.4", ls="--", lw=1)
        ax.text(
            benchmark,
            1.01,
            f"assumed benchmark {benchmark:g}",
            color="0.3",
            fontsize=MIN_FONT + 0.5,
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
    # two columns when four or more methods: one row of four long labels ran off the page (clipped legend)
    fig.legend(loc="outside lower center", ncol=min(3, len(methods)) if len(methods) < 4 else 2, frameon=False)
    return fig


def shrinkage(estimates: pd.DataFrame) -> plt.Figure:
    """Posterior means per disease under each model, from no pooling to complete pooling (registry order)."""
    bayes = estimates[(estimates["analysis"] == "bayes") & (estimates["group"] != NEW_GROUP)]
    present = set(bayes["method"])
    order = sorted((m for m in registry.methods() if m in present), key=lambda m: registry.model_class(m).pooling)
    df = bayes[bayes["method"].isin(order)].copy()
    labels = [method_label(m) for m in order]
    df["model"] = pd.Categorical(df["method"].map(method_label), labels, ordered=True)
    fig, ax = figure(2.6)
    sns.lineplot(
        data=df.sort_values("model"),
        x="model",
        y="estimate",
        hue="group",
        marker="o",
        ax=ax,
        palette=group_colours(df["group"]),
        sort=False,
    )
    ax.set_xlabel("")
    ax.set_ylabel("Posterior mean\nresponse probability")
    ax.legend(title="Disease", frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def sensitivity(table: pd.DataFrame) -> plt.Figure:
    """Posterior mean and 95% interval per disease under each sensitivity scenario (the predictive 'new disease'
    has no endpoint and is not shown)."""
    df = table[table["group"] != NEW_GROUP].copy()
    labels = list(dict.fromkeys(df["label"]))
    groups = ordered_groups(df["group"])
    fig, axes = figure(0.17 * len(labels) + 0.9, ncols=len(groups), sharey=True)
    colours = group_colours(groups)
    for ax, g in zip(axes, groups):
        color = colours[g]
        sub = df[df["group"] == g].set_index("label").reindex(labels)
        ys = range(len(labels))
        ax.errorbar(
            sub["estimate"],
            ys,
            xerr=[sub["estimate"] - sub["lower"], sub["upper"] - sub["estimate"]],
            fmt="o",
            color=color,
            capsize=1.5,
            ms=3,
            elinewidth=1.0,
        )
        ax.set_title(group_name(g))
        ax.set_xlim(0, 1.02)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    fig.supxlabel("Posterior mean response probability (95% credible interval)", fontsize=FONT)
    axes[0].set_yticks(range(len(labels)), labels)
    axes[0].invert_yaxis()
    return fig


def prior_name(name: str, labels: dict[str, str] | None = None) -> str:
    """A prior's readable name: its short label in the priors spec (``labels``, from
    :func:`analysis.priors.spec.short_labels`), else the name with spaces for underscores."""
    return (labels or {}).get(name) or name.replace("_", " ")


def priors_figures(result: dict) -> dict[str, plt.Figure]:
    """Figures of a priors run: MAP draws vs mixture, prior vs posterior, OC curves, by file name (the priors step
    saves them with :func:`analysis.publish.build.save_figure`).

    Every label is a readable name (:func:`prior_name`: the spec's ``short_label`` or ``label``); the MAP panels
    draw the MCMC histogram their legend names
    (bars without white edges, which hid 60 narrow bars at print size); the prior-posterior panels each carry their
    own legend, because the example outcomes differ between priors (each prior's success boundary).
    """
    from analysis.priors import BetaMixture

    drawn: dict[str, plt.Figure] = {}
    recs = result["records"]
    names = result.get("short_labels") or {name: r.get("label", name) for name, r in recs.items()}
    maps = [name for name, r in recs.items() if "draws" in r]
    x = np.linspace(0.0005, 0.9995, 800)
    blue, orange, _, vermillion = OKABE_ITO[:4]
    if maps:
        fig, axes = figure(2.6, ncols=len(maps), sharey=False)
        for ax, name in zip(np.atleast_1d(axes), maps):
            r = recs[name]
            ax.hist(
                r["draws"],
                bins=40,
                range=(0, 1),
                density=True,
                color="0.65",
                edgecolor="none",
                label="MAP draws (MCMC)",
            )
            ax.plot(x, r["informative"].pdf(x), color=blue, label="Beta mixture (EM)")
            ax.plot(x, r["mixture"].pdf(x), color=vermillion, ls="--", label="robust mixture")
            k = len(r["studies"])
            title = textwrap.fill(prior_name(name, names).replace(":", ","), 18)
            ax.set_title(f"{title}\n({k} cohort{'s' if k != 1 else ''})", fontsize=MIN_FONT)
            ax.set_xlabel("Response rate")
            ax.set_ylim(0, min(ax.get_ylim()[1], 12))
        np.atleast_1d(axes)[0].set_ylabel("Density")
        handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
        drawn["map-priors.png"] = fig
    for dname, d in result["designs"].items():
        if d["type"] != "one-sample":
            continue
        grid = np.asarray(d["grid"])
        fig, ax = figure(3.0)
        for (pname, e), color in zip(d["priors"].items(), [blue, orange, *OKABE_ITO[2:]]):
            ax.plot(grid, e["oc"], color=color, label=f"{prior_name(pname, names)} (\u2265 {e['boundary']}/{d['n']})")
            if "interim" in e:
                ax.plot(
                    grid,
                    e["interim"]["success"],
                    color=color,
                    ls=":",
                    label=f"{prior_name(pname, names)}, with futility stop",
                )
        ax.axvline(d["p0"], color="0.5", ls="--", lw=1)
        ax.set_xlabel("True response rate")
        ax.set_ylabel("Probability of success")
        # priors with the same success boundary have the same curve, drawn over each other: the legend says so
        same = len({e["boundary"] for e in d["priors"].values()}) < len(d["priors"])
        title = "Priors with the same success boundary have identical curves, drawn over each other" if same else None
        fig.legend(loc="outside lower center", ncol=2, frameon=False, title=title, title_fontsize=MIN_FONT + 0.5)
        drawn[f"oc-{dname}.png"] = fig
        fig, axes = figure(2.6, ncols=len(d["priors"]), sharey=True)
        for ax, (pname, e) in zip(np.atleast_1d(axes), d["priors"].items()):
            prior = recs[pname]["mixture"]
            ax.plot(x, prior.pdf(x), color="0.4", ls="--", label="prior")
            for ex, color in zip(e["examples"], [blue, vermillion, *OKABE_ITO[2:]]):
                post = BetaMixture.from_dict(ex["posterior"])
                ax.plot(x, post.pdf(x), color=color, label=f"posterior, {ex['events']}/{ex['n']}")
            ax.axvline(d["p0"], color="0.6", lw=1)
            ax.set_title(textwrap.fill(prior_name(pname, names).replace(":", ","), 22), fontsize=MIN_FONT)
            ax.set_xlabel("Response rate")
            # each panel its own legend (the outcome at the success boundary differs between priors), below the
            # panel: inside, it sat on the null-rate line and met the frame
            ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), handlelength=1.6)
        np.atleast_1d(axes)[0].set_ylabel("Density")
        drawn[f"prior-posterior-{dname}.png"] = fig
    return drawn


def prior_predictive(table: pd.DataFrame) -> plt.Figure:
    """What each model's priors imply for one disease's response probability (80% and 95% ranges)."""
    fig, ax = figure(0.35 * len(table) + 0.8)
    ys = np.arange(len(table))
    colors = [method_colour(f"bayes-{m}", i) for i, m in enumerate(table["model"])]
    ax.hlines(ys, table["q025"], table["q975"], color=colors, lw=2, label="95% range")
    ax.hlines(ys, table["q10"], table["q90"], color=colors, lw=6, alpha=0.6, label="80% range")
    ax.scatter(table["q50"], ys, color="black", zorder=3, s=18, label="median")
    ax.set_yticks(ys, [method_label(f"bayes-{m}") for m in table["model"]])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Prior predictive response probability of one disease")
    return fig


def hyperparameters(hyper: pd.DataFrame, posteriors: dict) -> plt.Figure:
    """Prior density against posterior draws of mu and tau (one row per model with a hierarchy).

    ``posteriors``: per model, its posterior draws by parameter (:meth:`Results.posterior`)."""
    from analysis.bayes.prior import Prior

    models = [m for m in dict.fromkeys(hyper["model"]) if m in posteriors]
    params = ["mu", "tau"]
    fig, axes = figure(1.6 * len(models) + 0.2, ncols=2, nrows=len(models), squeeze=False)
    colors = [OKABE_ITO[0], OKABE_ITO[3]]
    for i, model in enumerate(models):
        for j, param in enumerate(params):
            ax = axes[i, j]
            pr = hyper[(hyper["model"] == model) & (hyper["parameter"] == param) & (hyper["source"] == "prior")]
            draws = posteriors[model][param].values.ravel()
            lo, hi = (-6.0, 8.0) if param == "mu" else (0.0, 5.0)
            ax.hist(draws, bins=80, range=(lo, hi), density=True, color=colors[0], alpha=0.55, label="posterior draws")
            title = f"{registry.label(model)}: {param}"
            if len(pr):
                prior = Prior.parse(pr["distribution"].iloc[0])
                x = np.linspace(lo + 1e-6, hi, 400)
                ax.plot(x, np.exp(prior.logpdf(x)), color=colors[1], lw=1.5, label="prior density")
                title += f" ~ {prior} a priori"
            ax.set_xlim(lo, hi)
            ax.set_title(title)
            ax.set_yticks([])
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
    fig.get_layout_engine().set(wspace=0.08)
    return fig


def priors_result_from_files(results_dir: Path) -> dict:
    """The ``result`` :func:`priors_figures` draws, read back from a priors run's saved files (no MCMC)."""
    import json

    from analysis.priors import BetaMixture
    from analysis.priors.spec import SpecError, load_spec, short_labels
    from analysis.settings import ROOT

    results_dir = Path(results_dir)
    run = json.loads((results_dir / "priors.json").read_text())
    saved = run["priors"]
    try:  # the figures' short labels are the spec's, not the results' (a label changes no number)
        names = short_labels(load_spec(ROOT / run["spec"]))
    except (SpecError, KeyError, TypeError):
        names = {name: r.get("label", name) for name, r in saved.items()}
    designs = json.loads((results_dir / "designs.json").read_text())
    draws = dict(np.load(results_dir / "map_draws.npz")) if (results_dir / "map_draws.npz").is_file() else {}
    records = {}
    for name, r in saved.items():
        rec = {"mixture": BetaMixture.from_dict(r["mixture"]), "studies": r.get("studies", [])}
        if r.get("informative_mixture"):
            rec["informative"] = BetaMixture.from_dict(r["informative_mixture"])
        if name in draws:
            rec["draws"] = draws[name]
        records[name] = rec
    return {"records": records, "designs": designs, "short_labels": names}


#: a borrowing method's name in the basket figure's legend, spelled out (no 'JSD', 'MEM')
BASKET_NAMES = {
    "independent": "No borrowing",
    "hierarchical": "Hierarchical model",
    "exnex": "EXNEX",
    "jsd": "Jensen-Shannon weights",
    "mem": "Multisource exchangeability",
}


def basket(oc: pd.DataFrame, design: dict | None = None) -> plt.Figure:
    """Probability of a go decision per indication, by scenario and borrowing method (basket trial OC), at the
    calibrated thresholds when the design calibrated them, with a reference line at the target alpha."""
    from analysis.publish.basket import _set
    from analysis.publish.basket import method_label as basket_label

    df = _set(oc)
    df = df[df["indication"] != "(any)"].copy()
    calibrated = "thresholds" in df and (df["thresholds"] == "calibrated").any()
    alpha = ((design or {}).get("calibration") or {}).get("alpha")
    scenarios = list(dict.fromkeys(df["scenario"]))
    indications = list(dict.fromkeys(df["indication"]))
    methods = list(dict.fromkeys(df["method"]))
    fig, axes = figure(0.22 * len(scenarios) * len(methods) / 2 + 1.0, ncols=len(indications), sharey=True)
    colours = dict(zip(methods, OKABE_ITO))
    step = 0.8 / max(1, len(methods))
    for ax, ind in zip(axes, indications):
        sub = df[df["indication"] == ind]
        if alpha is not None and calibrated:
            ax.axvline(alpha, color="0.5", lw=0.8, ls="--", zorder=0)
        for j, m in enumerate(methods):
            s = sub[sub["method"] == m].set_index("scenario").reindex(scenarios)
            ys = np.arange(len(scenarios)) + (j - (len(methods) - 1) / 2) * step
            null = s["null"].astype(str) == "True"
            label = basket_label(m, design)
            ax.scatter(s["go"][~null], ys[~null], color=colours[m], s=12, marker="o", label=label)
            ax.scatter(s["go"][null], ys[null], color=colours[m], s=14, marker="x")
        ax.set_title(ind)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    axes[0].set_yticks(range(len(scenarios)), scenarios)
    axes[0].invert_yaxis()
    text = "Probability of a go decision (x: true rate at the null, so type I error"
    text += f"; dashed line: target {alpha:g})" if alpha is not None and calibrated else ")"
    fig.supxlabel(text, fontsize=FONT)
    handles, labels = axes[0].get_legend_handles_labels()
    # three columns: five labels in one row ran off both edges of the page (clipped legend)
    fig.legend(handles, labels, loc="outside upper center", ncol=min(len(methods), 3), frameon=False)
    return fig
