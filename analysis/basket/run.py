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

from analysis.basket.calibrate import calibrate
from analysis.basket.design import (
    Design,
    combine_chunks,
    exact_oc,
    exact_space,
    n_outcomes,
    simulate_chunk,
    use_exact,
)
from analysis.basket.executor import Executor
from analysis.basket.tables import simulate

OUTPUTS = ("oc.csv", "calibration.csv", "design.json", "go_probability.png")


def method_oc(design: Design, method, space) -> dict:
    """Nominal OC of one method from its outcome space and, with a ``[calibration]`` table, its calibrated
    thresholds and their OC (the posterior summaries of the outcome space are computed once for both).

    Parameters
    ----------
    design : Design
        The design.
    method : Method
        One of ``design.methods``.
    space : ExactSpace
        The method's outcome space (:func:`~analysis.basket.design.exact_space`), computed or stored by the caller.

    Returns
    -------
    dict
        ``oc``: the rows of ``oc.csv`` (``thresholds`` nominal, then calibrated); ``calibration``: the rows of
        ``calibration.csv``.
    """
    rows = [r | {"thresholds": "nominal"} for r in exact_oc(design, method, space=space)]
    cal = []
    if design.calibration is not None:
        res = calibrate(design, method, design.calibration, space=space)
        cal = res["rows"]
        rows += [
            r | {"thresholds": "calibrated"}
            for r in exact_oc(design, method, space=space, thresholds=res["thresholds"])
        ]
    return {"oc": rows, "calibration": cal}


def _exact_task(design: Design, mi: int) -> dict:
    m = design.methods[mi]
    return method_oc(design, m, exact_space(design, m))


def _sim_task(design: Design, mi: int, si: int, chunk: int, size: int, thresholds=None) -> dict:
    return simulate_chunk(design, design.methods[mi], design.scenarios[si], chunk, size, thresholds)


def chunk_sizes(design: Design) -> list[int]:
    """The number of simulated trials of each chunk (``n_sim`` in chunks of ``chunk``, the last one smaller)."""
    n_chunks = math.ceil(design.n_sim / design.chunk)
    return [min(design.chunk, design.n_sim - c * design.chunk) for c in range(n_chunks)]


def tasks(design: Design, thresholds: dict | None = None) -> tuple[str, list[tuple]]:
    """The tasks of one design: per method (exact), or per method, scenario, chunk and threshold set."""
    if use_exact(design):
        return "exact", [(design, mi) for mi in range(len(design.methods))]
    sizes = chunk_sizes(design)
    n_chunks = len(sizes)
    grid = [
        (mi, si, c) for mi in range(len(design.methods)) for si in range(len(design.scenarios)) for c in range(n_chunks)
    ]
    args = [(design, mi, si, c, sizes[c], None) for mi, si, c in grid]
    if thresholds:
        args += [(design, mi, si, c, sizes[c], tuple(thresholds[design.methods[mi].name])) for mi, si, c in grid]
    return "simulate", args


def operating_characteristics(design: Design, executor: Executor | None = None, with_calibration: bool = False):
    """The OC table (nominal thresholds, and calibrated ones when the design calibrates).

    Returns the table, or ``(table, calibration table)`` with ``with_calibration``.
    """
    ex = executor or Executor(workers=1)
    cal_rows: list[dict] = []
    if use_exact(design):
        _, args = tasks(design)
        parts = ex.map(_exact_task, args)
        rows = [r for part in parts for r in part["oc"]]
        cal_rows = [r for part in parts for r in part["calibration"]]
    else:
        thresholds = None
        if design.calibration is not None:  # calibrated on simulated null trials in this process, then simulated
            thresholds = {}
            for m in design.methods:
                res = calibrate(design, m, design.calibration, exact=False)
                thresholds[m.name] = res["thresholds"]
                cal_rows += res["rows"]
        _, args = tasks(design, thresholds)
        parts = simulate(design, ex, _sim_task, args)  # the engine's table rows built once, shared by the workers
        rows = []
        for label in ("nominal", "calibrated") if thresholds else ("nominal",):
            for mi, m in enumerate(design.methods):
                for si, s in enumerate(design.scenarios):
                    mine = [
                        p
                        for p, a in zip(parts, args)
                        if a[1] == mi and a[2] == si and (a[5] is None) == (label == "nominal")
                    ]
                    rows += [r | {"thresholds": label} for r in combine_chunks(design, m, s, mine)]
    df = ordered(design, pd.DataFrame(rows))
    return (df, pd.DataFrame(cal_rows)) if with_calibration else df


def ordered(design: Design, df: pd.DataFrame) -> pd.DataFrame:
    """OC rows in the table's order: nominal before calibrated, then by scenario and method as the design lists
    them."""
    order = {m.name: i for i, m in enumerate(design.methods)}
    sorder = {s.name: i for i, s in enumerate(design.scenarios)}
    df = df.assign(_m=df["method"].map(order), _s=df["scenario"].map(sorder), _t=df["thresholds"] != "nominal")
    return df.sort_values(["_t", "_s", "_m"], kind="stable").drop(columns=["_m", "_s", "_t"]).reset_index(drop=True)


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
    d = d[d["thresholds"] == ("calibrated" if (d["thresholds"] == "calibrated").any() else "nominal")]
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
    df, cal = operating_characteristics(design, executor, with_calibration=True)
    seconds = time.perf_counter() - t0
    write_csv(out / safe_name("oc.csv"), df)
    if design.calibration is not None:
        write_csv(out / safe_name("calibration.csv"), cal)
    else:
        (out / "calibration.csv").unlink(missing_ok=True)  # a stale one from an earlier run of another design
    meta = design.describe() | {
        "oc_mode": "exact" if use_exact(design) else "simulate",
        "joint_outcomes": n_outcomes(design),
        "seconds": seconds,
        "executor": (executor or Executor(workers=1)).kind,
    }
    write_json(out / safe_name("design.json"), meta)
    paths = [out / "oc.csv", out / "design.json"]
    if design.calibration is not None:
        paths.insert(1, out / "calibration.csv")
    if figures:
        figure(df, out / safe_name("go_probability.png"))
        paths.append(out / "go_probability.png")
    return {"table": df, "paths": paths, "seconds": seconds}


#: the OC table's columns as the CLI prints them, in order (those a table has)
DISPLAY_COLUMNS = (
    "thresholds",
    "scenario",
    "method",
    "indication",
    "p_true",
    "go",
    "go_mcse",
    "fwer",
    "expected_n",
    "bias",
    "mse",
)


def format_table(df: pd.DataFrame) -> str:
    cols = [c for c in DISPLAY_COLUMNS if c in df]
    return df[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")
