"""Combine the partial estimates files of each step into ``results/estimates.csv``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.io import write_csv

#: The results contract: these columns always exist, in this order.
CONTRACT = ["analysis", "method", "endpoint", "group", "n", "events", "estimate", "lower", "upper", "level"]


def combine(inputs: list[Path], out: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in inputs]
    df = pd.concat(frames, ignore_index=True)
    missing = [c for c in CONTRACT if c not in df.columns]
    if missing:
        raise ValueError(f"estimates are missing contract column(s) {missing}")
    df = df[CONTRACT + [c for c in df.columns if c not in CONTRACT]]
    write_csv(out, df)
    return df
