"""Combine the partial estimates files of each step into one table (written by
:func:`analysis.publish.build.build_estimates`, the ``combine`` step)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from analysis.results import CONTRACT, MissingResultError


class CombineError(ValueError):
    """The inputs of ``combine`` would duplicate rows."""


def combine(inputs: list[Path]) -> pd.DataFrame:
    """Concatenate the steps' estimates files into one table with the results-contract columns first.

    Parameters
    ----------
    inputs : list of Path
        Estimates files, each given once (the same file twice, by any spelling of its path or as a copy, is
        refused: it duplicated every row).

    Returns
    -------
    pandas.DataFrame
        The combined table.
    """
    seen: dict[object, Path] = {}
    for p in inputs:
        keys = [Path(p).resolve()]
        if Path(p).is_file():  # a copy of another input duplicates its rows as well
            keys.append(hashlib.sha256(Path(p).read_bytes()).hexdigest())
        for key in keys:
            if key in seen:
                raise CombineError(
                    f"{p}: the same {'file' if isinstance(key, Path) else 'content'} as {seen[key]}; "
                    "expected each estimates file once (rows would be duplicated)"
                )
            seen[key] = Path(p)
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
    return df[[*CONTRACT, *(c for c in df.columns if c not in CONTRACT)]]
