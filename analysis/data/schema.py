"""The schemas of the raw data files, and the one reader that validates and parses them.

Every load goes through :func:`read`, so the table that is analysed is the
table that was validated: the same parsed, typed values (text fields without
surrounding white space, whole numbers as ``int``).  Group and disease labels
come from the data (any number, any names): they must be non-empty, carry no
leading or trailing spaces, and be unique per endpoint.  An error names the file, the row (1-based line number
in the file, header = line 1) and the field, and says what was expected.  All
errors of a file are collected before raising, so a user fixes them in one go.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analysis.settings import ENDPOINTS, NEW_GROUP, ROOT, TOTAL

#: the study metadata file of a data folder (its words for the report, and the facts of a cohort of one's own)
STUDY_FILE = "study.yml"
#: the paper's data folder: every file of its data set is required (a lost file is an error, never "none")
PAPER_DATA = ROOT / "data" / "raw"


def optional_here(path: Path | str) -> bool:
    """Whether a supporting file (published cohorts, characteristics, definitions) may be absent or hold a header
    alone: only in a cohort folder of one's own (an ``index_study.csv`` and a ``study.yml`` beside it), never in the
    paper's data folder, where a missing or emptied file is a mistake."""
    folder = Path(path).resolve().parent
    return folder != PAPER_DATA.resolve() and (folder / "index_study.csv").is_file() and (folder / STUDY_FILE).is_file()


#: The largest count any data file may hold: no study or cohort of this field treats a million patients, and a
#: larger number is a typing error (10^30 would pass Python's ``int`` and break the analyses later).
MAX_COUNT = 1_000_000
#: Labels the analyses give their own rows: the whole cohort (index study) and the predictive new group.
RESERVED_LABELS = (TOTAL, NEW_GROUP)
#: A group or disease label names the report's variables (``freq.n.response_SLE``) and shortcodes: letters,
#: digits, '-' and '_' only (a space or a dot breaks them at the render step, minutes later).
LABEL = re.compile(r"\w[\w-]*")

_DIGITS = re.compile(r"-?[0-9]+", flags=re.ASCII)
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", flags=re.ASCII)
#: digits beyond which a number is reported as too long without converting it
_MAX_DIGITS = 18


class DataError(ValueError):
    """A data file broke its schema; ``errors`` lists every problem found."""

    def __init__(self, path: Path, errors: list[str]):
        self.path = Path(path)
        self.errors = errors
        shown = "\n  ".join(errors)
        super().__init__(f"{path}: {len(errors)} error(s)\n  {shown}")


@dataclass(frozen=True)
class Column:
    """One column of a schema: its name, type and an optional value check."""

    name: str
    kind: type = str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    #: inclusive bounds of a whole-number column
    low: int = 0
    high: int = MAX_COUNT
    #: a label: surrounding white space is an error, not silently removed
    label: bool = False


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_whole(text: str, low: int, high: int) -> tuple[int | None, str | None]:
    """A whole number written in plain ASCII digits (an optional leading ``-``), within ``[low, high]``.

    Python's ``int`` also reads ``'1_0'`` (10), ``' 10'``, ``'+10'`` and other scripts' digits (``'١٠'``); a data
    file should not, so this parser accepts only ``[0-9]`` and reports anything else.

    Parameters
    ----------
    text : str
        The field as it stands in the file (not stripped).
    low, high : int
        The inclusive bounds of the field.

    Returns
    -------
    tuple
        ``(value, None)`` for an acceptable number, ``(None, problem)`` otherwise, where ``problem`` says what
        was found and what was expected (the caller adds file, row and field).
    """
    expected = f"expected a whole number from {low:,} to {high:,} in plain digits 0-9"
    if text != text.strip():
        return None, f"{_show(text)} has leading or trailing spaces; {expected}"
    if not _DIGITS.fullmatch(text):
        return None, f"{_show(text)} is not a whole number; {expected}"
    if len(text.lstrip("-")) > _MAX_DIGITS:
        return None, f"{_show(text)} has {len(text.lstrip('-'))} digits; {expected}"
    value = int(text)
    if not low <= value <= high:
        return None, f"{value}; {expected}"
    return value, None


def parse_decimal(text: str, low: float, high: float) -> tuple[float | None, str | None]:
    """A decimal number in plain ASCII digits (``-``, digits, optionally ``.`` and digits) within ``[low, high]``.

    ``float`` also reads ``'nan'``, ``'inf'``, ``'1e1'``, ``'1_0'`` and other scripts' digits; this parser does not.

    Parameters
    ----------
    text : str
        The field as it stands in the file.
    low, high : float
        The inclusive bounds.

    Returns
    -------
    tuple
        ``(value, None)`` or ``(None, problem)``, as :func:`parse_whole`.
    """
    expected = f"expected a number from {low:g} to {high:g} written as digits 0-9 with an optional '.'"
    if not _DECIMAL.fullmatch(text) or len(text) > 2 * _MAX_DIGITS:
        return None, f"{_show(text)} is not a number; {expected}"
    value = float(text)
    if not low <= value <= high:
        return None, f"{text}; {expected}"
    return value, None


INDEX_SCHEMA = (
    Column("row_id"),
    Column("study_id"),
    Column("group", label=True),
    Column("endpoint", allowed=ENDPOINTS),
    Column("endpoint_definition"),
    Column("n", int, low=1),
    Column("events", int),
    Column("timepoint"),
    Column("doi", required=False),  # empty for an unpublished index study (the report says so)
    Column("pmid", required=False),
    Column("quote"),
)

ENDPOINT_CLASSES = ("remission", "response", "low_activity", "event_free", "weak", "nonstandard")
PRODUCT_CLASSES = ("cd19_autologous", "cd19_allogeneic", "dual_cd19_bcma", "bcma", "mixed")

COHORT_SCHEMA = (
    Column("study_id"),
    Column("citation"),
    Column("doi", required=False),
    Column("pmid", required=False),
    Column("disease", label=True),
    Column("product"),
    Column("endpoint"),
    Column("timepoint"),
    Column("n_treated", int, low=1),
    Column("n_responders", int),
    Column("endpoint_class", allowed=ENDPOINT_CLASSES),
    Column("product_class", allowed=PRODUCT_CLASSES),
    Column("evidence_level"),
    Column("overlap_group", required=False),
    Column("notes", required=False),
    Column("quote"),
)


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if path.is_dir():
        raise DataError(path, ["is a folder, expected a CSV file"])
    if not path.is_file():
        raise DataError(path, [f"file not found: {path}"])
    with path.open(newline="", encoding="utf-8-sig") as fh:  # a byte-order mark (Excel) is not part of the header
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    return header, rows


def _check_schema(
    path: Path, schema: tuple[Column, ...], header: list[str], rows: list[dict[str, str]]
) -> tuple[list[str], list[dict]]:
    errors: list[str] = []
    if not header:
        return [f"empty file: expected a header row ({', '.join(c.name for c in schema)}) and one row per record"], []
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:  # csv.DictReader keeps the last copy silently, even when the first one is the valid one
        where = "; ".join(
            f"column {h!r} appears {header.count(h)} times (columns {', '.join(str(i + 1) for i, x in enumerate(header) if x == h)})"
            for h in repeated
        )
        return [f"header: {where}; expected each column once"], []
    missing = [c.name for c in schema if c.name not in header]
    if missing:
        return [f"header: missing column(s) {', '.join(missing)}; expected {[c.name for c in schema]}"], []
    parsed: list[dict] = []
    for i, raw in enumerate(rows, start=2):
        rec: dict = {}
        if None in raw:
            errors.append(f"row {i}: more fields than the {len(header)} columns of the header")
        for col in schema:
            text = raw.get(col.name) or ""
            value = text.strip()
            where = f"row {i}, field '{col.name}'"
            if col.label and value and value != text:
                errors.append(f"{where}: {text!r} has leading or trailing spaces; expected {value!r}")
            if not value:
                if col.required:
                    errors.append(f"{where}: empty; expected a value")
                rec[col.name] = None if col.kind is int else ""
                continue
            if col.kind is int:
                num, problem = parse_whole(text, col.low, col.high)  # the field as written: ' 10' is refused
                if problem:
                    errors.append(f"{where}: {problem}")
                rec[col.name] = num
            else:
                if col.allowed is not None and value not in col.allowed:
                    errors.append(f"{where}: {value!r} is not a known code; expected one of {list(col.allowed)}")
                rec[col.name] = value
        rec["_row"] = i
        parsed.append(rec)
    return errors, parsed


def _check_counts(parsed: list[dict], n_col: str, x_col: str) -> list[str]:
    errors = []
    for rec in parsed:
        n, x = rec.get(n_col), rec.get(x_col)
        if n is not None and x is not None and x > n:
            errors.append(
                f"row {rec['_row']}, field '{x_col}': {x} exceeds '{n_col}' = {n}; expected 0 <= {x_col} <= {n_col}"
            )
    return errors


def _check_unique(parsed: list[dict], key: tuple[str, ...]) -> list[str]:
    seen: dict[tuple, int] = {}
    errors = []
    for rec in parsed:
        k = tuple(rec.get(c) for c in key)
        if k in seen:
            errors.append(
                f"row {rec['_row']}, field '{'/'.join(key)}': {'/'.join(map(str, k))} repeats row {seen[k]}; expected unique values"
            )
        else:
            seen[k] = rec["_row"]
    return errors


def check_labels(parsed: list[dict], field: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Labels that differ only in case, reserved labels (:data:`RESERVED_LABELS`) and labels that are not a
    short name (:data:`LABEL`).

    ``sle`` beside ``SLE`` would silently become a second disease, and a disease named ``new`` would collide with
    the models' predictive new-disease rows; ``ANCA vasculitis`` would break the report's variables.  ``allowed`` lists the reserved labels this field may use as they are
    (the index study's ``all`` rows).

    Parameters
    ----------
    parsed : list of dict
        Parsed rows, each with ``_row``.
    field : str
        The label column.
    allowed : tuple of str
        Reserved labels this field may hold, spelled exactly.

    Returns
    -------
    list of str
        One message per offending row.
    """
    errors = []
    first: dict[str, tuple[str, int]] = {}
    for rec in parsed:
        label = rec.get(field)
        if not label:
            continue
        key = label.casefold()
        where = f"row {rec['_row']}, field '{field}'"
        if not LABEL.fullmatch(label):
            errors.append(
                f"{where}: {label!r} is not a short name; expected letters, digits, '-' or '_' only (no spaces or "
                "dots: the label names the report's variables), e.g. an abbreviation"
            )
            continue
        reserved = [r for r in RESERVED_LABELS if r.casefold() == key]
        if reserved and label not in allowed:
            errors.append(
                f"{where}: {label!r} is reserved for the analyses' own "
                f"{'whole-cohort' if reserved[0] == TOTAL else 'predictive new-group'} rows; expected another name"
            )
            continue
        if key in first and first[key][0] != label:
            errors.append(
                f"{where}: {label!r} differs from {first[key][0]!r} (row {first[key][1]}) only in letter case; "
                "expected one spelling per label"
            )
        first.setdefault(key, (label, rec["_row"]))
    return errors


def _check_index_totals(parsed: list[dict]) -> list[str]:
    """An endpoint given per group and for 'all' must add up."""
    errors = []
    by_endpoint: dict[str, dict[str, dict]] = {}
    for rec in parsed:
        by_endpoint.setdefault(rec["endpoint"], {})[rec["group"]] = rec
    for endpoint, groups in by_endpoint.items():
        parts_of = [g for g in groups if g != TOTAL]
        if TOTAL in groups and parts_of:
            total = groups[TOTAL]
            for col in ("n", "events"):
                parts = [groups[d][col] for d in parts_of]
                if None in parts or total[col] is None:
                    continue
                if sum(parts) != total[col]:
                    errors.append(
                        f"row {total['_row']}, field '{col}': {total[col]} for group 'all' of endpoint "
                        f"'{endpoint}' but the diseases add up to {sum(parts)}"
                    )
    return errors


def _check_overlap(parsed: list[dict]) -> list[str]:
    """Rows of one overlap group must describe one disease."""
    errors = []
    first: dict[str, dict] = {}
    for rec in parsed:
        g = rec.get("overlap_group")
        if not g or g == "POOLED":
            continue
        if g in first and first[g]["disease"] != rec["disease"]:
            errors.append(
                f"row {rec['_row']}, field 'overlap_group': {g!r} is used for {rec['disease']} here "
                f"but for {first[g]['disease']} in row {first[g]['_row']}; expected one disease per group"
            )
        first.setdefault(g, rec)
    return errors


def read_index(path: Path) -> tuple[list[str], list[dict]]:
    """Every error of an index-study file, and its parsed rows."""
    header, rows = _read_rows(Path(path))
    errors, parsed = _check_schema(path, INDEX_SCHEMA, header, rows)
    errors += _check_counts(parsed, "n", "events")
    errors += _check_unique(parsed, ("row_id",))
    errors += _check_unique(parsed, ("group", "endpoint"))
    errors += check_labels(parsed, "group", allowed=(TOTAL,))
    errors += _check_index_totals(parsed)
    if not parsed and not errors:
        errors.append("no data rows")
    return errors, parsed


def read_cohorts(path: Path) -> tuple[list[str], list[dict]]:
    """Every error of a published-cohorts file, and its parsed rows."""
    header, rows = _read_rows(Path(path))
    errors, parsed = _check_schema(path, COHORT_SCHEMA, header, rows)
    errors += _check_counts(parsed, "n_treated", "n_responders")
    errors += _check_unique(parsed, ("study_id",))
    errors += check_labels(parsed, "disease")
    errors += _check_overlap(parsed)
    if not parsed and not errors and not optional_here(path):  # in a cohort folder, a header alone: no evidence
        errors.append("no data rows")
    return errors, parsed


def validate_index(path: Path) -> list[str]:
    """Every error of an index-study file.

    Parameters
    ----------
    path : Path
        An index-study file (``data/raw/index_study.csv``).

    Returns
    -------
    list of str
        Every error, each naming its row and field; empty when the file is valid.
    """
    return read_index(path)[0]


def validate_cohorts(path: Path) -> list[str]:
    """Every error of a published-cohorts file.

    Parameters
    ----------
    path : Path
        A published-cohorts file (``data/raw/published_cohorts.csv``).

    Returns
    -------
    list of str
        Every error, each naming its row and field; empty when the file is valid.
    """
    return read_cohorts(path)[0]


def load_table(path: Path, reader: Callable[[Path], tuple[list[str], list[dict]]], schema: tuple[Column, ...]):
    """The validated, parsed rows of ``path`` as a DataFrame in schema order; :class:`DataError` lists every problem."""
    import pandas as pd

    path = Path(path)
    try:
        errors, parsed = reader(path)
    except UnicodeDecodeError as err:
        raise DataError(path, [f"not a UTF-8 text file: {err.reason} at byte {err.start}"]) from err
    except OSError as err:
        raise DataError(path, [f"cannot read the file: {err.strerror or err}"]) from err
    if errors:
        raise DataError(path, errors)
    columns = [c.name for c in schema]
    return pd.DataFrame([{c: rec[c] for c in columns} for rec in parsed], columns=columns)
