"""Validate any data file of the project, recognising which it is (``python -m analysis validate``).

Apart from :mod:`analysis.data.schema`, because it dispatches to every reader, the characteristics'
among them, and :mod:`analysis.data.characteristics` itself imports the schema module: so no import
runs in a circle.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from analysis.data.characteristics import read_characteristics
from analysis.data.schema import DataError, _read_rows, read_cohorts, read_index


def _sniff(path: Path) -> Callable[[Path], tuple[list[str], list[dict]]]:
    header, _ = _read_rows(path)
    if "fact_id" in header:  # data/raw/study_characteristics.csv
        return read_characteristics
    if "n_treated" in header or "disease" in header:
        return read_cohorts
    return read_index


def validate(path: Path | str) -> list[str]:
    """Validate any data file of the project, recognised by its header; returns every error found.

    Parameters
    ----------
    path : Path or str
        An index-study, published-cohorts or study-characteristics file.

    Returns
    -------
    list of str
        Every error, each naming its row and field; empty when the file is valid.
    """
    path = Path(path)
    try:
        return _sniff(path)(path)[0]
    except DataError as err:
        return err.errors
    except (UnicodeDecodeError, csv.Error) as err:
        return [f"not a readable CSV file: {err}"]
    except OSError as err:
        return [f"cannot read the file: {err.strerror or err}"]
