"""Run a design file: operating characteristics of every method and scenario, tables, figures.

``run(design, out, executor)`` computes the OC table (exactly, or by
simulation in chunks through the executor), and writes ``oc.csv``,
``design.json`` and ``go_probability.png`` inside ``out`` (atomically).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd

from analysis.basket.design import Design, combine_chunks, exact_oc, n_outcomes, simulate_chunk, use_exact
from analysis.basket.executor import Executor

OUTPUTS = ("oc.csv", "design.json", "go_probability.png")


def _exact_task(design: Design, mi: int) -> list[dict]:
    return exact_oc(design, design.methods[mi])


def _sim_task(design: Design, mi: int, si: int, chunk: int, size: int) -> dict:
    return simulate_chunk(design, design.methods[mi], design.scenarios[si], chunk, size)


def tasks(design: Design) -> tuple[str, list[tuple]]:
    if use_exact(design):
        return "exact", [(design, mi) for mi in range(len(design.methods))]
    n_chunks = math.ceil(design.n_sim / design.chunk)
    sizes = [min(design.chunk, design.n_sim - c * design.chunk) for c in range(n_chunks)]
    return "simulate", [
        (design, mi, si, c, sizes[c])
        for mi in range(len(design.methods))
        for si in range(len(design.scenarios))
        for c in range(n_chunks)
    ]


def operating_characteristics(design: Design, executor: Executor | None = None) -> pd.DataFrame:
    ex = executor or Executor(workers=1)
    mode, args = tasks(design)
    if mode == "exact":
        rows = [r for part in ex.map(_exact_task, args) for r in part]
    else:
        parts = ex.map(_sim_task, args)
        rows = []
        for mi, m in enumerate(design.methods):
            for si, s in enumerate(design.scenarios):
                mine = [p for p, a in zip(parts, args) if a[1] == mi and a[2] == si]
                rows += combine_chunks(design, m, s, mine)
    df = pd.DataFrame(rows)
    order = {m.name: i for i, m in enumerate(design.methods)}
    sorder = {s.name: i for i, s in enumerate(design.scenarios)}
    df = df.assign(_m=df["method"].map(order), _s=df["scenario"].map(sorder))
    return df.sort_values(["_s", "_m"], kind="stable").drop(columns=["_m", "_s"]).reset_index(drop=True)


def safe_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", "..") or Path(name).name != name:
        raise ValueError(f"output name {name!r} must be a plain file name (no path separators)")
    return name


def figure(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from analysis.io import atomic_path

    d = df[df["indication"] != "(any)"]
    scen = list(dict.fromkeys(d["scenario"]))
    fig, axes = plt.subplots(1, len(scen), figsize=(3.2 * len(scen), 3.4), sharey=True, squeeze=False)
    for ax, s in zip(axes[0], scen):
        sub = d[d["scenario"] == s]
        sns.barplot(data=sub, x="indication", y="go", hue="method", ax=ax)
        for k, r in enumerate(sub.drop_duplicates("indication").itertuples()):
            if r.null:
                ax.axvspan(k - 0.45, k + 0.45, color="0.92", zorder=0)
        ax.set_title(s, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylim(0, 1)
        if ax is not axes[0][-1] and ax.get_legend() is not None:
            ax.get_legend().remove()
    axes[0][0].set_ylabel("P(go)")
    fig.suptitle("Probability of a go per indication (grey: true rate at the null), by borrowing method", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def run(design: Design, out: Path, executor: Executor | None = None, figures: bool = True) -> dict:
    from analysis.io import write_csv, write_json

    out = Path(out)
    t0 = time.perf_counter()
    df = operating_characteristics(design, executor)
    seconds = time.perf_counter() - t0
    write_csv(out / safe_name("oc.csv"), df)
    meta = design.describe() | {
        "oc_mode": "exact" if use_exact(design) else "simulate",
        "joint_outcomes": n_outcomes(design),
        "seconds": seconds,
        "executor": (executor or Executor(workers=1)).kind,
    }
    write_json(out / safe_name("design.json"), meta)
    paths = [out / "oc.csv", out / "design.json"]
    if figures:
        figure(df, out / safe_name("go_probability.png"))
        paths.append(out / "go_probability.png")
    return {"table": df, "paths": paths, "seconds": seconds}


def format_table(df: pd.DataFrame) -> str:
    cols = [
        c
        for c in ("scenario", "method", "indication", "p_true", "go", "go_mcse", "fwer", "expected_n", "bias", "mse")
        if c in df
    ]
    return df[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")
