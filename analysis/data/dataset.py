"""A data set as the build reads it: its files by role, and the checks that need two of them at once.

A report needs an index-study file (counts per group and endpoint); a published-cohorts file (the evidence
base), a study-characteristics file (the clinical context, each fact with its source) and an
endpoint-definitions file are optional (:data:`OPTIONAL` says what stands in for each).  Each file is
checked against its own schema (:mod:`analysis.data.schema`, :mod:`analysis.data.characteristics`);
this module adds what the later stages would otherwise find one at a time, many seconds into a build:

* the index study is one study (one ``study_id`` in the index file), and the characteristics file
  describes it (a ``patients`` / ``all`` / ``count`` row with that id);
* patients per group in the characteristics add up to ``all`` and equal the index file's ``n`` of
  the ``response`` endpoint;
* every fact the characteristics table and the clinical-context prose quote is there
  (:data:`REQUIRED_FACTS`), each missing one listed;
* every cell of the endpoint-definitions file is filled in (each definition is a published one, with its DOI).

Every problem is a string that starts with ``row N, field 'x'`` where a row exists, so that
``python -m analysis validate`` prints file, row and field; :func:`check` returns them all, by file.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from analysis.data.characteristics import read_characteristics
from analysis.data.schema import STUDY_FILE, DataError, _read_rows, optional_here, read_cohorts, read_index
from analysis.settings import DATA_RAW, TOTAL

#: the files of a data set, by role, with their names in a data folder (``data/raw`` for the paper)
FILES: dict[str, str] = {
    "index": "index_study.csv",
    "cohorts": "published_cohorts.csv",
    "characteristics": "study_characteristics.csv",
    "definitions": "endpoint_definitions.csv",
}
DEFINITION_COLUMNS = ("endpoint_id", "disease", "instrument", "definition", "index_study_use", "source", "doi", "quote")
#: columns an endpoint-definitions file may have; when it has one, every row fills it in.  ``endpoint_name``: the
#: endpoint's name in the tables' captions ("DORIS remission"; without the column, the index study's
#: ``endpoint_definition`` of the group's response row)
OPTIONAL_DEFINITION_COLUMNS = ("endpoint_name",)
#: facts of the index study the characteristics table and the prose quote: (item, statistic, per group);
#: ``per group`` facts are needed for every group with a ``patients`` count, the others for ``all``
REQUIRED_FACTS: tuple[tuple[str, str, bool], ...] = (
    ("patients", "count", True),
    ("patients", "count", False),
    ("refractoriness", "minimum", False),
    ("centre", "text", False),
    ("setting", "text", False),
    ("product", "text", False),
    ("dose", "text", False),
    ("lymphodepletion", "text", False),
    ("endpoint_definition", "text", True),
    ("follow_up", "median", False),
    ("follow_up", "minimum", False),
    ("follow_up", "maximum", False),
)


#: files a data folder may leave out, and what stands in for each (``python -m analysis validate`` says so)
OPTIONAL: dict[str, str] = {
    "cohorts": "no evidence base: no meta-analysis and no prior from other cohorts",
    "characteristics": "the study's facts come from the 'study' mapping of study.yml",
    "definitions": "each group's endpoint is the index file's endpoint_definition",
}


def absent(paths: Mapping[str, Path]) -> dict[Path, str]:
    """The optional files of a data set that do not exist, each with what stands in for it (:data:`OPTIONAL`)."""
    return {
        Path(p): OPTIONAL[r] for r, p in paths.items() if r in OPTIONAL and not Path(p).exists() and optional_here(p)
    }


def paths_in(folder: Path | str) -> dict[str, Path]:
    """The data set of a folder: each role's file (:data:`FILES`), whether or not it exists."""
    return {role: Path(folder) / name for role, name in FILES.items()}


PAPER = paths_in(DATA_RAW)


def role_of(path: Path) -> str:
    """Which file of a data set ``path`` is, from its header (its name when the header says nothing)."""
    header, _ = _read_rows(Path(path))
    if "fact_id" in header:
        return "characteristics"
    if "endpoint_id" in header or "index_study_use" in header:
        return "definitions"
    if "n_treated" in header or "disease" in header:
        return "cohorts"
    return "index"


def _where(rec: Mapping, field: str) -> str:
    return f"row {rec['_row']}, field '{field}'" if rec.get("_row") else f"field '{field}'"


def index_study_id(index: list[dict]) -> tuple[str | None, list[str]]:
    """The one study of an index file, and a problem per row that names another."""
    ids = [r for r in index if r.get("study_id")]
    if not ids:
        return None, []
    first = ids[0]
    errors = [
        f"{_where(r, 'study_id')}: {r['study_id']!r} differs from {first['study_id']!r} ({_where(first, 'study_id')}); "
        "expected one index study per file"
        for r in ids[1:]
        if r["study_id"] != first["study_id"]
    ]
    return first["study_id"], errors


def described_study(facts: list[dict]) -> str | None:
    """The study a characteristics file describes: the one with a whole-cohort patient count."""
    ids = {r["study_id"] for r in facts if (r["group"], r["item"], r["statistic"]) == (TOTAL, "patients", "count")}
    return ids.pop() if len(ids) == 1 else None


def index_groups(facts: list[dict], study: str) -> list[str]:
    """The groups of ``study`` with a patient count, in order of appearance (the whole cohort left out)."""
    groups = [r["group"] for r in facts if r["study_id"] == study and r["item"] == "patients"]
    return list(dict.fromkeys(g for g in groups if g != TOTAL))


def check_facts(facts: list[dict], study: str, index: list[dict] | None = None, index_name: str = "index_study.csv"):
    """Every problem of a characteristics file for the report on ``study``: missing facts, patient counts
    that do not add up or disagree with the index file (``index``: its parsed rows), an unpaired mean."""
    if index is not None and described_study(facts) not in (None, study):
        return [
            f"field 'study_id': the whole-cohort patient count is for {described_study(facts)!r}, "
            f"but {index_name} is about {study!r}; expected the same study"
        ]
    key = {(r["study_id"], r["group"], r["item"], r["statistic"]): r for r in facts}
    groups = index_groups(facts, study)
    errors = []
    for item, statistic, per_group in REQUIRED_FACTS:
        for g in groups if per_group else [TOTAL]:
            if (study, g, item, statistic) not in key:
                errors.append(
                    f"field 'item': no row with study_id '{study}', group '{g}', item '{item}', "
                    f"statistic '{statistic}'; the manuscript needs it"
                )
    for r in facts:
        if r["item"] == "b_cell_reconstitution" and r["statistic"] == "mean":
            if (r["study_id"], r["group"], r["item"], "sd") not in key:
                errors.append(
                    f"{_where(r, 'statistic')}: a mean without its 'sd' row (study_id '{r['study_id']}', group "
                    f"'{r['group']}'); the manuscript quotes both"
                )
    counts = {}
    for g in (*groups, TOTAL):
        r = key.get((study, g, "patients", "count"))
        if r is not None and _whole(r["value"]) is not None:
            counts[g] = (_whole(r["value"]), r)
    if TOTAL in counts and all(g in counts for g in groups):
        total = sum(counts[g][0] for g in groups)
        if total != counts[TOTAL][0]:
            errors.append(
                f"{_where(counts[TOTAL][1], 'value')}: patients per disease add up to {total}, "
                f"but 'all' is {counts[TOTAL][0]}"
            )
    for r in index or []:
        if r.get("endpoint") != "response" or r.get("group") in (None, TOTAL) or r.get("n") is None:
            continue
        mine = counts.get(r["group"])
        if mine is None or mine[0] != r["n"]:
            where = _where(mine[1], "value") if mine else "field 'group'"
            errors.append(
                f"{where}: patients for group '{r['group']}' is {mine[0] if mine else None}, but {index_name} has "
                f"n = {r['n']} (response" + (f", row {r['_row']})" if r.get("_row") else ")")
            )
    return errors


def _whole(value: str) -> int | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return int(x) if x == int(x) else None


def read_definitions(path: Path) -> tuple[list[str], list[dict]]:
    """Every problem of an endpoint-definitions file (missing columns, empty cells), and its rows."""
    if not Path(path).exists() and optional_here(path):  # the index file's own definitions stand
        return [], []
    header, rows = _read_rows(Path(path))
    missing = [c for c in DEFINITION_COLUMNS if c not in header]
    if missing:
        return [f"header: missing column(s) {', '.join(missing)}; expected {list(DEFINITION_COLUMNS)}"], []
    errors, parsed = [], []
    columns = [*DEFINITION_COLUMNS, *(c for c in OPTIONAL_DEFINITION_COLUMNS if c in header)]
    for i, raw in enumerate(rows, start=2):
        rec = {c: (raw.get(c) or "").strip() for c in columns}
        rec["_row"] = i
        parsed.append(rec)
        errors += [
            f"row {i}, field {c!r}: empty; expected a value (every definition needs its source)"
            for c in columns
            if not rec[c]
        ]
    if not parsed and not errors and not optional_here(path):
        errors.append("no data rows")
    return errors, parsed


READERS = {
    "index": read_index,
    "cohorts": read_cohorts,
    "characteristics": read_characteristics,
    "definitions": read_definitions,
}


def _read(path: Path, role: str) -> tuple[list[str], list[dict]]:
    try:
        return READERS[role](path)
    except DataError as err:
        return err.errors, []
    except UnicodeDecodeError as err:
        return [f"not a UTF-8 text file: {err.reason} at byte {err.start}"], []
    except csv.Error as err:
        return [f"not a readable CSV file: {err}"], []
    except OSError as err:
        return [f"cannot read the file: {err.strerror or err}"], []


def check(paths: Mapping[str, Path]) -> tuple[dict[Path, list[str]], dict[str, list[dict]]]:
    """Every problem of a data set, by file: each file's own, then those between files.

    ``paths`` maps roles (:data:`FILES`) to files; a role left out is not checked.  Returns the problems
    per file (an empty list for a clean file) and the parsed rows per role (of the readable files).
    """
    problems: dict[Path, list[str]] = {}
    rows: dict[str, list[dict]] = {}
    skipped = absent(paths)
    for role, path in paths.items():
        if Path(path) in skipped:
            continue
        errors, parsed = _read(Path(path), role)
        problems[Path(path)] = errors
        if parsed:
            rows[role] = parsed
    if "index" in rows:
        study, errors = index_study_id(rows["index"])
        problems[Path(paths["index"])] += errors
        chars = Path(paths.get("characteristics", ""))
        if chars in skipped:  # the study's facts from its study.yml
            from analysis.data.metadata import facts

            meta = chars.parent / STUDY_FILE
            errors, facts_rows = facts(meta, rows["index"])
            problems.setdefault(meta, []).extend(errors)
            if not errors:  # else the missing facts would be reported twice
                rows["characteristics"] = facts_rows
        if "characteristics" in rows and study:
            index_name = Path(paths["index"]).name
            where = Path(paths["characteristics"])
            where = where if where.exists() else where.parent / STUDY_FILE
            problems.setdefault(where, []).extend(
                check_facts(rows["characteristics"], study, rows["index"], index_name)
            )
    return problems, rows
