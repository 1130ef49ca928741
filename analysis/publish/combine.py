"""Combine the partial estimates files of each step into ``results/estimates.csv``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.io import write_csv
from analysis.publish.results import MissingResultError

#: The results contract: these columns always exist, in this order.
CONTRACT = ["analysis", "method", "endpoint", "group", "n", "events", "estimate", "lower", "upper", "level"]


def combine(inputs: list[Path], out: Path) -> pd.DataFrame:
    frames = []
    for p in inputs:
        if not Path(p).is_file():
            raise MissingResultError(f"{p} is missing: run the step that writes it (make results)")
        try:
            frame = pd.read_csv(p, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise MissingResultError(f"{p} is not a readable results table ({err})") from err
        missing = [c for c in CONTRACT if c not in frame.columns]
        if missing:
            raise MissingResultError(
                f"{p}: missing results-contract column(s) {missing}; rerun the step that writes it"
            )
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    df = df[CONTRACT + [c for c in df.columns if c not in CONTRACT]]
    write_csv(out, df)
    return df
