"""Load the validated data as tables, and derive counts per endpoint and group."""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analysis.data.schema import COHORT_SCHEMA, INDEX_SCHEMA, load_table, optional_here, read_cohorts, read_index
from analysis.settings import COHORTS, ENDPOINTS, INDEX_STUDY, TOTAL


@functools.lru_cache(maxsize=8)
def _first_appearance(path: str, stamp: tuple[int, int]) -> tuple[str, ...]:
    with open(path, newline="", encoding="utf-8") as fh:
        groups = [(row.get("group") or "").strip() for row in csv.DictReader(fh)]
    return tuple(dict.fromkeys(g for g in groups if g and g != TOTAL))


def data_order(path: Path | str = INDEX_STUDY) -> tuple[str, ...]:
    """The groups of an index-study file in the order they first appear in it (the whole cohort left out): the
    table order of every table and figure.  Read as text, not validated (loading the file validates it); a file
    that cannot be read gives no order, and the labels keep their own.

    Parameters
    ----------
    path : Path or str
        The index-study file (default that of the data folder in use, :data:`analysis.settings.INDEX_STUDY`).

    Returns
    -------
    tuple of str
        Each group once, in order of first appearance.
    """
    try:
        st = Path(path).stat()
        return _first_appearance(str(path), (st.st_mtime_ns, st.st_size))
    except (OSError, UnicodeDecodeError, csv.Error):
        return ()


def group_order(labels: Iterable[str]) -> tuple[str, ...]:
    """Labels in table order: the index study's groups first, in the order they first appear in the data's
    index-study file (:func:`data_order`), then the others in order of first appearance; the whole-cohort total
    (``'all'``) is left out.

    Parameters
    ----------
    labels : iterable of str
        Group labels, repeats allowed (a table's ``group`` column).

    Returns
    -------
    tuple of str
        Each label once, in table order.
    """
    seen = list(dict.fromkeys(str(x) for x in labels if str(x) != TOTAL))
    order = data_order()
    known = [g for g in order if g in seen]
    return tuple(known + [g for g in seen if g not in order])


def load_index(path: Path | str = INDEX_STUDY) -> pd.DataFrame:
    """The index study's counts, one row per (group, endpoint): the validated, parsed rows.

    Parameters
    ----------
    path : Path or str
        The index-study file (default ``data/raw/index_study.csv``; codebook in ``data/README.md``).

    Returns
    -------
    pandas.DataFrame
        One row per (group, endpoint), typed by the index schema.

    Raises
    ------
    DataError
        Naming the file, row and field of every problem; nothing is returned from a file with errors.
    """
    return load_table(Path(path), read_index, INDEX_SCHEMA)


def load_cohorts(path: Path | str = COHORTS) -> pd.DataFrame:
    """Published cohorts, one row per (study, disease, endpoint): the validated, parsed rows.

    Parameters
    ----------
    path : Path or str
        The published-cohorts file (default ``data/raw/published_cohorts.csv``).  In a cohort folder of one's
        own (:func:`analysis.data.schema.optional_here`), without it (or with a header only) the evidence base is
        empty: no meta-analysis and no prior from other cohorts.

    Returns
    -------
    pandas.DataFrame
        One row per (study, disease, endpoint), typed by the cohort schema.

    Raises
    ------
    DataError
        Naming the file, row and field of every problem.
    """
    path = Path(path)
    if not path.exists() and path.name == COHORTS.name and optional_here(path):  # a cohort without evidence
        return pd.DataFrame(columns=[c.name for c in COHORT_SCHEMA])
    return load_table(path, read_cohorts, COHORT_SCHEMA)


def endpoint_counts(index: pd.DataFrame) -> pd.DataFrame:
    """Counts per (endpoint, group) with the whole-cohort ('all') row derived where needed.

    Endpoints reported for every group of the file get an 'all' row that sums
    them (unless the file gives it, in which case validation checked that it
    adds up).  Endpoints reported only for the whole cohort stay as they are.

    Parameters
    ----------
    index : pandas.DataFrame
        The index study as :func:`load_index` returns it.

    Returns
    -------
    pandas.DataFrame
        One row per (endpoint, group) with its ``n`` and ``events``, the ``'all'`` rows included.
    """
    groups_all = group_order(index["group"])
    endpoints = [e for e in ENDPOINTS if e in set(index["endpoint"])]
    rows = []
    for endpoint in endpoints:
        sub = index[index["endpoint"] == endpoint]
        groups = dict(zip(sub["group"], zip(sub["n"], sub["events"])))
        for d in group_order(groups):
            rows.append((endpoint, d, *groups[d]))
        if TOTAL in groups:
            rows.append((endpoint, TOTAL, *groups[TOTAL]))
        elif groups_all and all(d in groups for d in groups_all):
            rows.append((endpoint, TOTAL, sum(groups[d][0] for d in groups_all), sum(groups[d][1] for d in groups_all)))
    return pd.DataFrame(rows, columns=["endpoint", "group", "n", "events"])
