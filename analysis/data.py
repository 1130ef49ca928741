"""Load the raw data and validate it against a declared schema.

Every load validates.  An error names the file, the row (1-based line number
in the file, header = line 1) and the field, and says what was expected.  All
errors of a file are collected before raising, so a user fixes them in one go.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.settings import COHORTS, DISEASES, ENDPOINTS, GROUPS, INDEX_STUDY


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
    check: Callable[[object], str | None] | None = None


def _nonneg(v: object) -> str | None:
    return None if v >= 0 else "a whole number >= 0"


def _positive(v: object) -> str | None:
    return None if v > 0 else "a whole number > 0"


INDEX_SCHEMA = (
    Column("row_id"),
    Column("study_id"),
    Column("group", allowed=GROUPS),
    Column("endpoint", allowed=ENDPOINTS),
    Column("endpoint_definition"),
    Column("n", int, check=_positive),
    Column("events", int, check=_nonneg),
    Column("timepoint"),
    Column("doi"),
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
    Column("disease", allowed=DISEASES),
    Column("product"),
    Column("endpoint"),
    Column("timepoint"),
    Column("n_treated", int, check=_positive),
    Column("n_responders", int, check=_nonneg),
    Column("endpoint_class", allowed=ENDPOINT_CLASSES),
    Column("product_class", allowed=PRODUCT_CLASSES),
    Column("evidence_level"),
    Column("overlap_group", required=False),
    Column("notes", required=False),
    Column("quote"),
)


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise DataError(path, [f"file not found: {path}"])
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    return header, rows


def _check_schema(
    path: Path, schema: tuple[Column, ...], header: list[str], rows: list[dict[str, str]]
) -> tuple[list[str], list[dict]]:
    errors: list[str] = []
    missing = [c.name for c in schema if c.name not in header]
    if missing:
        return [f"header: missing column(s) {', '.join(missing)}; expected {[c.name for c in schema]}"], []
    parsed: list[dict] = []
    for i, raw in enumerate(rows, start=2):
        rec: dict = {}
        if None in raw:
            errors.append(f"row {i}: more fields than the {len(header)} columns of the header")
        for col in schema:
            value = (raw.get(col.name) or "").strip()
            where = f"row {i}, field '{col.name}'"
            if not value:
                if col.required:
                    errors.append(f"{where}: empty; expected a value")
                rec[col.name] = None if col.kind is int else ""
                continue
            if col.kind is int:
                try:
                    num = int(value)
                except ValueError:
                    errors.append(f"{where}: {value!r} is not a whole number")
                    rec[col.name] = None
                    continue
                problem = col.check(num) if col.check else None
                if problem:
                    errors.append(f"{where}: {num}; expected {problem}")
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


def _check_index_totals(parsed: list[dict]) -> list[str]:
    """An endpoint given per disease and for 'all' must add up."""
    errors = []
    by_endpoint: dict[str, dict[str, dict]] = {}
    for rec in parsed:
        by_endpoint.setdefault(rec["endpoint"], {})[rec["group"]] = rec
    for endpoint, groups in by_endpoint.items():
        if "all" in groups and all(d in groups for d in DISEASES):
            total = groups["all"]
            for col in ("n", "events"):
                parts = [groups[d][col] for d in DISEASES]
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


def validate_index(path: Path) -> list[str]:
    header, rows = _read_rows(Path(path))
    errors, parsed = _check_schema(path, INDEX_SCHEMA, header, rows)
    errors += _check_counts(parsed, "n", "events")
    errors += _check_unique(parsed, ("row_id",))
    errors += _check_unique(parsed, ("group", "endpoint"))
    errors += _check_index_totals(parsed)
    if not parsed and not errors:
        errors.append("no data rows")
    return errors


def validate_cohorts(path: Path) -> list[str]:
    header, rows = _read_rows(Path(path))
    errors, parsed = _check_schema(path, COHORT_SCHEMA, header, rows)
    errors += _check_counts(parsed, "n_treated", "n_responders")
    errors += _check_unique(parsed, ("study_id",))
    errors += _check_overlap(parsed)
    if not parsed and not errors:
        errors.append("no data rows")
    return errors


def _sniff(path: Path) -> Callable[[Path], list[str]]:
    header, _ = _read_rows(path)
    if "n_treated" in header or "disease" in header:
        return validate_cohorts
    return validate_index


def validate(path: Path | str) -> list[str]:
    """Validate any data file of the project; returns every error found."""
    path = Path(path)
    try:
        return _sniff(path)(path)
    except DataError as err:
        return err.errors
    except (UnicodeDecodeError, csv.Error) as err:
        return [f"not a readable CSV file: {err}"]


def _load(path: Path, validator: Callable[[Path], list[str]], ints: tuple[str, ...]) -> pd.DataFrame:
    path = Path(path)
    errors = validator(path)
    if errors:
        raise DataError(path, errors)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ints:
        df[col] = df[col].astype(int)
    return df


def load_index(path: Path | str = INDEX_STUDY) -> pd.DataFrame:
    """The index study's counts, one row per (group, endpoint), validated."""
    return _load(Path(path), validate_index, ("n", "events"))


def load_cohorts(path: Path | str = COHORTS) -> pd.DataFrame:
    """Published cohorts, one row per (study, disease, endpoint), validated."""
    return _load(Path(path), validate_cohorts, ("n_treated", "n_responders"))


def endpoint_counts(index: pd.DataFrame) -> pd.DataFrame:
    """Counts per (endpoint, group) with the 'all' group derived where needed.

    Endpoints reported per disease get an 'all' row that sums the diseases
    (unless the file gives it, in which case validation checked it adds up).
    Endpoints reported only for the whole cohort stay as they are.
    """
    rows = []
    for endpoint in ENDPOINTS:
        sub = index[index["endpoint"] == endpoint]
        if sub.empty:
            continue
        groups = dict(zip(sub["group"], zip(sub["n"], sub["events"])))
        for d in DISEASES:
            if d in groups:
                rows.append((endpoint, d, *groups[d]))
        if "all" in groups:
            rows.append((endpoint, "all", *groups["all"]))
        elif all(d in groups for d in DISEASES):
            rows.append((endpoint, "all", sum(groups[d][0] for d in DISEASES), sum(groups[d][1] for d in DISEASES)))
    return pd.DataFrame(rows, columns=["endpoint", "group", "n", "events"])
