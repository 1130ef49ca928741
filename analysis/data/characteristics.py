"""The schema of ``data/raw/study_characteristics.csv`` (one row per published fact), and its loader.

The file describes the index study and its clinical context: patients per
disease, refractoriness, product, dose, lymphodepletion, follow-up, when each
endpoint was assessed, durability, B-cell reconstitution, a later relapse
report and the cohorts that could not be read (codebook: ``data/README.md``).

Validation follows :mod:`analysis.data.schema`: every error names the file,
the row (1-based line, header = line 1) and the field and says what was
expected, and all errors are collected before raising.  On top of the column
schema:

* ``item``, ``statistic`` and ``evidence`` are codes from fixed lists;
* ``fact_id`` is unique, and so is (``study_id``, ``group``, ``item``, ``statistic``),
  so that every quoted number can be looked up without ambiguity;
* ``group`` is a label: no leading or trailing spaces;
* a numeric statistic (``count``, ``median``, ``minimum``, ``maximum``, ``mean``,
  ``sd``, ``time``) has a number as ``value`` (``count`` a whole number >= 0)
  and a ``unit``, and its value must appear in the ``quote`` (as digits or as a
  number word), so a number cannot be typed without its source text;
* ``doi`` (when given) starts with ``10.`` and has a ``/``; ``pmid`` is digits.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.data.schema import (
    MAX_COUNT,
    STUDY_FILE,
    Column,
    DataError,
    _check_schema,
    _check_unique,
    _read_rows,
    check_labels,
    load_table,
    optional_here,
    parse_decimal,
)
from analysis.settings import DATA_RAW, INDEX_STUDY, TOTAL

CHARACTERISTICS = DATA_RAW / "study_characteristics.csv"

#: item codes and what they describe
ITEMS: dict[str, str] = {
    "patients": "number of patients treated (per disease or all)",
    "refractoriness": "how refractory the disease was before treatment",
    "centre": "where the patients were treated",
    "setting": "the regulatory / clinical setting (e.g. compassionate use)",
    "product": "the CAR T-cell product and schedule",
    "dose": "the CAR T-cell dose",
    "lymphodepletion": "the conditioning (lymphodepleting) chemotherapy",
    "follow_up": "length of follow-up",
    "endpoint_definition": "the response endpoint as defined by the source",
    "endpoint_timepoint": "when the endpoint was assessed, as stated by the source",
    "durability": "how long the response was reported to last",
    "b_cell_reconstitution": "when B cells reappeared after treatment",
    "relapse_report": "a later report of relapse in a patient treated at the same centre",
    "unreadable_cohort": "a published or presented cohort whose responder counts could not be read",
}

#: statistic codes: numeric ones need a number as value and a unit
NUMERIC_STATISTICS: tuple[str, ...] = ("count", "median", "minimum", "maximum", "mean", "sd", "time")
STATISTICS: tuple[str, ...] = (*NUMERIC_STATISTICS, "text")

#: evidence codes, strongest first
EVIDENCE: dict[str, str] = {
    "article": "a sentence of the article, as quoted in ../shared/evidence/README.md",
    "summary": "the evidence file's own summary of the source (no verbatim sentence of the source was available)",
    "news": "the news report in ../shared/seed (a lower level of evidence)",
    "metadata": "the cohort's own study metadata file (study.yml), for a cohort without this file",
}

CHARACTERISTICS_SCHEMA = (
    Column("fact_id"),
    Column("study_id"),
    Column("group", label=True),
    Column("item", allowed=tuple(ITEMS)),
    Column("statistic", allowed=STATISTICS),
    Column("value"),
    Column("unit", required=False),
    Column("evidence", allowed=tuple(EVIDENCE)),
    Column("source"),
    Column("doi", required=False),
    Column("pmid", required=False),
    Column("quote"),
)

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip


def _in_quote(value: float, quote: str) -> bool:
    """Whether a number appears in the quote, as digits or as a number word."""
    for tok in re.findall(r"\d+(?:\.\d+)?", quote):
        if float(tok) == value:
            return True
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", quote)}
    return any(_NUMBER_WORDS.get(w) == value for w in words)


def _check_rows(parsed: list[dict]) -> list[str]:
    errors = []
    for rec in parsed:
        row = rec["_row"]
        stat, value = rec.get("statistic"), rec.get("value")
        if stat in NUMERIC_STATISTICS and value:
            num, problem = parse_decimal(value, -MAX_COUNT, MAX_COUNT)
            if problem:
                errors.append(f"row {row}, field 'value': {problem} for statistic '{stat}'")
            elif stat == "count" and (num < 0 or num != int(num)):
                errors.append(f"row {row}, field 'value': {value}; expected a whole number >= 0 for statistic 'count'")
            elif rec.get("quote") and not _in_quote(num, rec["quote"]):
                errors.append(
                    f"row {row}, field 'value': {value} does not appear in the quote; expected the number as the source gives it"
                )
            if not rec.get("unit"):
                errors.append(f"row {row}, field 'unit': empty; expected a unit for the numeric statistic '{stat}'")
        doi = rec.get("doi")
        if doi and not (doi.startswith("10.") and "/" in doi):
            errors.append(
                f"row {row}, field 'doi': {doi!r}; expected a DOI such as '10.1056/NEJMoa2308917' (no 'doi:' prefix)"
            )
        pmid = rec.get("pmid")
        if pmid and not (pmid.isascii() and pmid.isdigit()):
            errors.append(f"row {row}, field 'pmid': {pmid!r}; expected digits only")
    return errors


def read_characteristics(path: Path) -> tuple[list[str], list[dict]]:
    """Every error of a study-characteristics file, and its parsed rows."""
    path = Path(path)
    header, rows = _read_rows(path)
    errors, parsed = _check_schema(path, CHARACTERISTICS_SCHEMA, header, rows)
    errors += _check_rows(parsed)
    errors += _check_unique(parsed, ("fact_id",))
    errors += check_labels(parsed, "group", allowed=(TOTAL,))
    errors += _check_unique(parsed, ("study_id", "group", "item", "statistic"))
    if not parsed and not errors:
        errors.append("no data rows")
    return errors, parsed


def validate_characteristics(path: Path | str) -> list[str]:
    """Every error of a study-characteristics file (an unreadable file is one error).

    Parameters
    ----------
    path : Path or str
        A study-characteristics file (``data/raw/study_characteristics.csv``).

    Returns
    -------
    list of str
        Every error, each naming its row and field; empty when the file is valid.
    """
    try:
        return read_characteristics(Path(path))[0]
    except DataError as err:
        return err.errors
    except UnicodeDecodeError as err:
        return [f"not a UTF-8 text file: {err.reason} at byte {err.start}"]
    except OSError as err:
        return [f"cannot read the file: {err.strerror or err}"]


def load_characteristics(path: Path | str = CHARACTERISTICS) -> pd.DataFrame:
    """The study characteristics, one row per fact: the validated, parsed rows.

    Parameters
    ----------
    path : Path or str
        The study-characteristics file (default ``data/raw/study_characteristics.csv``).  Without it, the facts
        come from the ``study`` mapping of ``study.yml`` in the same folder (:mod:`analysis.data.metadata`).

    Returns
    -------
    pandas.DataFrame
        One row per fact; ``attrs["path"]`` names the file for later stages' messages.

    Raises
    ------
    DataError
        Naming the file, row and field of every problem.
    """
    path = Path(path)
    if not path.exists() and optional_here(path):  # a cohort of one's own: the facts of its study.yml
        return _from_metadata(path.parent)
    df = load_table(path, read_characteristics, CHARACTERISTICS_SCHEMA)
    df.attrs["path"] = str(path)  # for error messages of later stages
    return df


def _from_metadata(folder: Path) -> pd.DataFrame:
    """The facts of ``folder/study.yml`` (:func:`analysis.data.metadata.facts`) as :func:`load_characteristics`
    returns a file's; problems of either file are raised naming it."""
    from analysis.data.metadata import facts
    from analysis.data.schema import read_index

    index_path = folder / INDEX_STUDY.name
    errors, index = read_index(index_path)
    if errors:
        raise DataError(index_path, errors)
    errors, rows = facts(folder / STUDY_FILE, index)
    if errors:
        raise DataError(folder / STUDY_FILE, errors)
    df = pd.DataFrame(rows, columns=[c.name for c in CHARACTERISTICS_SCHEMA])
    df.attrs["path"] = str(folder / STUDY_FILE)
    return df
