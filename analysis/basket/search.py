"""Design search: the smallest sample size per indication whose calibrated design meets a power target.

For each method and each sample size ``n`` in ``[search] n_min..n_max``
(every indication enrols ``n``; an interim look keeps its fraction of
``n``), thresholds are calibrated to the type I error target (the design's
``[calibration]``, or ``alpha`` of the search with per-indication control
under the global null) and the power of every indication is computed under
the ``power_scenarios`` (default: all indications at their target rates).
A design is feasible when every indication's power under every such
scenario is at least ``power``; the smallest feasible ``n`` is reported per
method with the whole trade-off (``search.csv``, ``search.png``).  Power is
not monotone in ``n`` for discrete outcomes, so every ``n`` is evaluated,
not bisected.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.basket.calibrate import Calibration, calibrate
from analysis.basket.checks import DesignError
from analysis.basket.design import Design, exact_oc, exact_space, use_exact


@dataclass(frozen=True)
class Search:
    """The ``[search]`` settings of a design file."""

    n_min: int
    n_max: int
    step: int = 1
    power: float = 0.8
    alpha: float | None = None
    power_scenarios: tuple[str, ...] = ()


def with_n(design: Design, n: int) -> Design:
    """The design with every indication at ``n`` patients (an interim keeps its fraction of ``n``)."""
    inds = []
    for i in design.indications:
        n1 = None if i.interim_n is None else min(n - 1, max(1, round(i.interim_n * n / i.n)))
        inds.append(replace(i, n=n, interim_n=n1))
    return replace(design, indications=inds)


def search(design: Design, settings: Search, where: str = "design file") -> pd.DataFrame:
    """The trade-off table: per method and sample size, calibrated thresholds, type I errors and power.

    Parameters
    ----------
    design
        The design (its methods, scenarios and calibration).
    settings
        The search bounds and targets.
    where
        The design file's name, for messages.

    Returns
    -------
    DataFrame
        One row per method and ``n``: ``n``, ``total_n``, ``thresholds``, ``max_type1``, ``min_power`` (over
        indications and power scenarios), ``feasible`` and ``smallest`` (the first feasible ``n`` of the method).

    Raises
    ------
    DesignError
        No method reaches the power target within the bounds (naming the file, ``[search]`` and ``n_max``).
    """
    cal = design.calibration or Calibration(settings.alpha if settings.alpha is not None else 0.1)
    if settings.alpha is not None:
        cal = replace(cal, alpha=settings.alpha)
    names = settings.power_scenarios or tuple(
        s.name for s in design.scenarios if all(p >= i.target for p, i in zip(s.p, design.indications))
    )
    scen = [s for s in design.scenarios if s.name in names]
    rows = []
    for n in range(settings.n_min, settings.n_max + 1, settings.step):
        d = with_n(design, n)
        exact = use_exact(d)
        for m in d.methods:
            sp = exact_space(d, m) if exact else None
            res = calibrate(d, m, cal, space=sp, exact=exact)
            if exact:
                oc = exact_oc(d, m, scen, space=sp, thresholds=res["thresholds"])
            else:
                from analysis.basket.design import combine_chunks, simulate_chunk

                oc = []
                for s in scen:
                    part = simulate_chunk(d, m, s, 0, cal.n_sim, tuple(res["thresholds"]))
                    oc += combine_chunks(d, m, s, [part])
            power = [r["go"] for r in oc if r["indication"] != "(any)" and not r["null"]]
            rows.append(
                {
                    "method": m.name,
                    "label": m.label,
                    "n": n,
                    "total_n": n * d.K,
                    "thresholds": " ".join(f"{t:.4f}" for t in res["thresholds"]),
                    "max_type1": max(r["type1"] for r in res["rows"]),
                    "min_power": min(power) if power else np.nan,
                    "feasible": bool(power) and min(power) >= settings.power,
                    "oc": "exact" if exact else "simulated",
                }
            )
    df = pd.DataFrame(rows)
    first = df[df["feasible"]].groupby("method")["n"].min()
    df["smallest"] = df["method"].map(first).eq(df["n"])
    if first.empty:
        raise DesignError(
            f"{where}, [search], key 'n_max': no method reaches power {settings.power:g} for every indication "
            f"under {', '.join(names) or 'the target scenarios'} with n up to {settings.n_max} (largest minimum "
            f"power {df['min_power'].max():.3f}); raise n_max or lower the power target"
        )
    return df


def figure(df: pd.DataFrame, power: float):
    """The smallest power across indications against the sample size per indication, one line per method (a
    matplotlib figure; the ``design --search`` step saves it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, sub in df.groupby("label", sort=False):
        ax.plot(sub["n"], sub["min_power"], marker="o", ms=3, label=label)
    ax.axhline(power, color="0.4", ls="--", lw=0.8)
    ax.set_xlabel("Patients per indication")
    ax.set_ylabel("Smallest power across indications")
    ax.set_title("Power at calibrated thresholds (dashed: target)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
