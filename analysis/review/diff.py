"""A reviewer's diff: every number that differs between two builds, with where the paper shows it.

``python -m analysis diff OLD NEW`` takes two results folders (``results/``),
two built papers (a ``manuscript/`` folder with ``_variables.yml`` and
``tables/``, or a project folder holding ``manuscript/`` and ``results/``), or
one of each.  From a results folder the paper's numbers are computed the way
the report step computes them (:mod:`analysis.publish.sections`), in memory;
from a built paper they are read.  It lists

- every quoted number (a ``{{< var NAME >}}`` of ``_variables.yml``) whose
  value differs, with each place the paper quotes it (abstract, section
  sentence, figure caption, table row), found by reading ``index.qmd`` and
  ``supplement.qmd`` (:mod:`analysis.review.paper`);
- every table cell and caption that differs, with the table's label
  ("Table 5"), row and column;
- every figure that differs (built papers: the image; results folders: a
  figure whose results files differ, or a copied image that differs);
- every other number of the results files that differs (results folders),
  labelled by file, row and column or JSON path.

The colophon's build record (commit, time, build time) is listed apart and is
not a difference.  ``--html FILE`` writes the same as one self-contained page.
Exit 0 when nothing differs, 1 when something does, 4 when a folder is
neither a results folder nor a built paper.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analysis.results import MissingResultError, Results
from analysis.review.paper import VAR, Paper, flatten, read_paper
from analysis.review.papermap import results_read

ROOT = Path(__file__).resolve().parents[2]
MANUSCRIPT = ROOT / "manuscript"
#: fields that record when and where a build ran, not what it computed
VOLATILE_JSON = {"created", "git_commit", "sampling_seconds", "cache_key", "code", "lower_s", "compile_s"}
#: results files that describe the run (timings, compiled programs, benchmarks), not its numbers
SKIP_RESULTS = ("timings/", "samplers.json", "bench.json")
#: the section whose table records the build (commit, time, build time)
BUILD_RECORD = "colophon"
#: a number standing alone (not the digits of a name such as CD19 or MULLER24)
NUMBER = re.compile(r"(?<![A-Za-z_\d.])\d")


@dataclass
class Change:
    """One number (or table cell, caption, figure) that differs.

    Parameters
    ----------
    kind : str
        ``variable``, ``cell``, ``caption``, ``figure`` or ``result``.
    name : str
        The variable name, ``Table 5 [IIM | Hierarchical]``, a figure label or ``file: row, column``.
    old, new : str or None
        The two values as the paper (or the results file) shows them; ``None`` where absent.
    places : list of str
        Where the paper shows it, each ``document: where: sentence``.
    volatile : bool
        A record of the build (commit, time), not a result.
    """

    kind: str
    name: str
    old: str | None
    new: str | None
    places: list[str] = field(default_factory=list)
    volatile: bool = False


@dataclass
class Side:
    """One build as the diff reads it.

    Parameters
    ----------
    path : Path
        The folder given on the command line.
    variables : dict
        Dotted variable name -> value.
    tables : dict
        Table name (file stem) -> its Markdown.
    figures : dict
        Figure name (file stem) -> image bytes, or ``None`` where only its inputs are known.
    results : Path or None
        The results folder, when there is one.
    manuscript : Path
        The Quarto sources the places are read from.
    computed : bool
        Computed from a results folder: it lacks the tables written at render time (the checklist).
    """

    path: Path
    variables: dict[str, str]
    tables: dict[str, str]
    figures: dict[str, bytes | None]
    results: Path | None
    manuscript: Path
    computed: bool = False


@dataclass
class DiffReport:
    """The outcome of :func:`diff`.

    Parameters
    ----------
    old, new : Path
        The two folders.
    changes : list of Change
        Everything that differs, paper first.
    compared : dict
        How many variables, table cells and results numbers were compared.
    """

    old: Path
    new: Path
    changes: list[Change]
    compared: dict[str, int]

    @property
    def differs(self) -> bool:
        """Whether any result (not a build record) differs."""
        return any(not c.volatile for c in self.changes)


def _overlaid(results: Path, overlay: Path, into: Path) -> Path:
    """A results folder of links to ``results``' files, ``overlay``'s files in their place where it has them."""
    for src in (results, overlay):
        for f in Path(src).rglob("*"):
            if f.is_file():
                dest = into / f.relative_to(src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.unlink(missing_ok=True)
                dest.symlink_to(f.resolve())
    return into


def _sections():
    from analysis.publish.sections import SECTIONS

    return SECTIONS


#: the ``report`` group of _variables.yml: the study's front matter, its quoted numbers resolved
REPORT_GROUP = "report."


def _paper_view(results: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The variables and tables the report step (:func:`analysis.publish.build.build_report`) writes from these
    results, computed the same way in memory, without its check that they match the current code: a reviewer
    compares results of other code."""
    from analysis.publish.build import compute_report

    variables, tables, _, _ = compute_report(Results(results))
    return flatten(variables), tables


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        why = getattr(err, "problem", None) or getattr(err, "reason", None) or type(err).__name__
        raise MissingResultError(
            f"{path} is not a readable variables file ({where}{why}): rebuild it (make paper)"
        ) from err
    if not isinstance(data, dict):
        raise MissingResultError(f"{path} is not a readable variables file (no mapping of names): rebuild it")
    return data


def _is_results(folder: Path) -> bool:
    return (folder / "estimates.csv").is_file() or (folder / "provenance.json").is_file()


def load_side(path: Path | str, overlay: Path | None = None) -> Side:
    """Read one build: a results folder, a built paper, or a project folder with both.

    Parameters
    ----------
    path : Path or str
        A results folder (``estimates.csv``), a manuscript folder (``_variables.yml``), a
        ``_variables.yml`` file, or a project folder holding ``manuscript/`` and ``results/``.
    overlay : Path, optional
        A folder whose results files replace those of ``path`` (``make reproduce`` overlays
        ``reference/`` on the rebuilt results).

    Returns
    -------
    Side
        Its variables, tables, figures and results folder.

    Raises
    ------
    MissingResultError
        When the path is neither (exit code 4), naming it and what was expected.
    """
    path = Path(path)
    if not path.exists():
        raise MissingResultError(f"{path}: no such folder (expected a results folder or a built paper)")
    manuscript = None
    if path.is_file():
        if path.name != "_variables.yml":
            raise MissingResultError(
                f"{path}: a file; expected a results folder, a built paper's manuscript folder or its _variables.yml"
            )
        manuscript = path.parent
    elif (path / "_variables.yml").is_file():
        manuscript = path
    elif (path / "manuscript" / "_variables.yml").is_file():
        manuscript = path / "manuscript"
    if manuscript is not None:
        results = path / "results" if path.is_dir() and _is_results(path / "results") else None
        tables = {p.stem: p.read_text(encoding="utf-8") for p in sorted((manuscript / "tables").glob("*.md"))}
        figures = {p.stem: p.read_bytes() for p in sorted((manuscript / "figures").glob("*.png"))}
        return Side(
            path,
            flatten(_read_yaml(manuscript / "_variables.yml")),
            tables,
            figures,
            results,
            manuscript if (manuscript / "index.qmd").is_file() else MANUSCRIPT,
        )
    if not _is_results(path):
        raise MissingResultError(
            f"{path}: neither a results folder (no estimates.csv or provenance.json) nor a built paper "
            "(no _variables.yml or manuscript/_variables.yml)"
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="diff-results-") as tmp:
        source = path if overlay is None else _overlaid(path, Path(overlay), Path(tmp))
        variables, tables = _paper_view(source)
        figures: dict[str, bytes | None] = {name: None for s in _sections() for name in s.figures}
        for s in _sections():
            for name in s.copied:
                image = source / "priors" / f"{name}.png"
                figures[name] = image.read_bytes() if image.is_file() else None
    return Side(path, variables, tables, figures, path, MANUSCRIPT, computed=True)


# -- tables -----------------------------------------------------------------------------------------------------
def _parse_table(text: str) -> tuple[list[str], list[list[str]], str]:
    header: list[str] = []
    rows: list[list[str]] = []
    caption = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if re.match(r"^\|[\s:|-]+\|?$", line):
                continue
            cells = [c.strip().replace("\u2060", "") for c in line.strip().strip("|").split("|")]
            if header:
                rows.append(cells)
            else:
                header = cells
        elif line.startswith(": "):
            caption = line[2:]
    return header, rows, caption


def _row_keys(rows: list[list[str]]) -> list[str]:
    """Each row's label: the fewest columns without numbers (else leading columns) that tell the rows apart."""
    width = min((len(r) for r in rows), default=0)
    textual = [j for j in range(width) if not any(NUMBER.search(r[j]) for r in rows)]
    for columns in (textual, list(range(width))):
        for k in range(1, len(columns) + 1):
            keys = [" | ".join(r[j] for j in columns[:k] if r[j]) for r in rows]
            if len(set(keys)) == len(keys):
                return keys
    return [f"row {i + 1}" for i in range(len(rows))]


def _table_changes(label: str, old: str, new: str) -> tuple[list[Change], int]:
    oh, orows, ocap = _parse_table(old)
    nh, nrows, ncap = _parse_table(new)
    changes: list[Change] = []
    okeys, nkeys = _row_keys(orows), _row_keys(nrows)
    if len(orows) == len(nrows) and okeys == nkeys or len(orows) == len(nrows) and oh == nh:
        pairs = list(zip(okeys, orows, nrows))
        extra_old, extra_new = [], []
    else:
        nmap = dict(zip(nkeys, nrows))
        omap = dict(zip(okeys, orows))
        pairs = [(k, omap[k], nmap[k]) for k in okeys if k in nmap]
        extra_old = [k for k in okeys if k not in nmap]
        extra_new = [k for k in nkeys if k not in omap]
    compared = 0
    for key, orow, nrow in pairs:
        for j in range(max(len(orow), len(nrow))):
            a = orow[j] if j < len(orow) else None
            b = nrow[j] if j < len(nrow) else None
            column = nh[j] if j < len(nh) else oh[j] if j < len(oh) else f"column {j + 1}"
            compared += 1
            if a != b:
                changes.append(Change("cell", f"{label} [{key} | {column}]", a, b))
    changes += [Change("cell", f"{label} [{k}]", "(row)", None) for k in extra_old]
    changes += [Change("cell", f"{label} [{k}]", None, "(row)") for k in extra_new]
    if oh != nh:
        changes.append(Change("cell", f"{label} [header]", " | ".join(oh), " | ".join(nh)))
    if ocap != ncap:
        changes.append(Change("caption", f"{label} caption", _words_apart(ocap, ncap), _words_apart(ncap, ocap)))
    return changes, compared


def _words_apart(a: str, b: str) -> str:
    """``a`` with the words it does not share with ``b`` (at the same position) marked, for captions."""
    wa, wb = a.split(), b.split()
    return " ".join(f"[{w}]" if i >= len(wb) or w != wb[i] else w for i, w in enumerate(wa))


# -- results files ----------------------------------------------------------------------------------------------
def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _csv_changes(name: str, a: Path, b: Path) -> tuple[list[Change], int]:
    old, new = pd.read_csv(a), pd.read_csv(b)
    if list(old.columns) != list(new.columns):
        return [Change("result", f"{name}: columns", ", ".join(old.columns), ", ".join(new.columns))], 0
    numeric = [
        c for c in old.columns if pd.api.types.is_numeric_dtype(old[c]) and pd.api.types.is_numeric_dtype(new[c])
    ]
    labels = [c for c in old.columns if c not in numeric]

    def keys(df: pd.DataFrame) -> list[str]:
        ks = [", ".join(f"{c}={df.at[i, c]}" for c in labels if pd.notna(df.at[i, c])) for i in df.index]
        return ks if len(set(ks)) == len(ks) else [f"row {i + 2}" for i in df.index]

    okeys, nkeys = keys(old), keys(new)
    changes: list[Change] = []
    nindex = {k: i for i, k in enumerate(nkeys)}
    compared = 0
    for i, k in enumerate(okeys):
        if k not in nindex:
            changes.append(Change("result", f"{name}: {k}", "(row)", None))
            continue
        j = nindex[k]
        for c in numeric:
            compared += 1
            x, y = old.at[old.index[i], c], new.at[new.index[j], c]
            if not _same(float(x), float(y)):
                changes.append(Change("result", f"{name}: {k}, {c}", _num(x), _num(y)))
        for c in labels:
            x, y = old.at[old.index[i], c], new.at[new.index[j], c]
            if not (pd.isna(x) and pd.isna(y)) and str(x) != str(y):
                changes.append(Change("result", f"{name}: {k}, {c}", str(x), str(y)))
    changes += [Change("result", f"{name}: {k}", None, "(row)") for k in nkeys if k not in set(okeys)]
    return changes, compared


def _num(x) -> str:
    return repr(float(x)) if not float(x).is_integer() else str(int(x)) if math.isfinite(float(x)) else str(x)


def _json_changes(name: str, a, b, where: str = "") -> tuple[list[Change], int]:
    if isinstance(a, dict) and isinstance(b, dict):
        changes, compared = [], 0
        for k in dict.fromkeys([*a, *b]):
            if k in VOLATILE_JSON:
                continue
            if k not in a or k not in b:
                changes.append(
                    Change(
                        "result",
                        f"{name}: {where}{k}",
                        "(absent)" if k not in a else "(present)",
                        "(absent)" if k not in b else "(present)",
                    )
                )
                continue
            c, n = _json_changes(name, a[k], b[k], f"{where}{k}.")
            changes += c
            compared += n
        return changes, compared
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        changes, compared = [], 0
        for i, (x, y) in enumerate(zip(a, b)):
            c, n = _json_changes(name, x, y, f"{where.rstrip('.')}[{i}].")
            changes += c
            compared += n
        return changes, compared
    number = isinstance(a, int | float) and not isinstance(a, bool)
    if a != b and not (number and isinstance(b, float) and _same(float(a), b)):
        text = json.dumps
        return [Change("result", f"{name}: {where.rstrip('.')}", text(a), text(b))], int(number)
    return [], int(number)


def _results_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.suffix in (".csv", ".json") and not p.relative_to(root).as_posix().startswith(SKIP_RESULTS)
    }


def results_changes(old: Path, new: Path, overlay: Path | None = None) -> tuple[list[Change], int, set[str]]:
    """Every number of the results files that differs.

    Parameters
    ----------
    old, new : Path
        Two results folders.
    overlay : Path, optional
        Files here replace those of ``old`` (``reference/``).

    Returns
    -------
    changes : list of Change
        One per differing number (or row, or file present on one side only).
    compared : int
        How many numbers were compared.
    files : set of str
        The results files (relative names) with any difference.
    """

    def source(name: str) -> Path:
        if overlay is not None and (Path(overlay) / name).is_file():
            return Path(overlay) / name
        return old / name

    names = sorted(_results_files(old) | _results_files(new) | (_results_files(Path(overlay)) if overlay else set()))
    changes: list[Change] = []
    compared = 0
    differing: set[str] = set()
    for name in names:
        a, b = source(name), new / name
        if not a.is_file() or not b.is_file():
            changes.append(Change("result", name, "(file)" if a.is_file() else None, "(file)" if b.is_file() else None))
            differing.add(name)
            continue
        if a.read_bytes() == b.read_bytes():
            continue
        if name.endswith(".csv"):
            c, n = _csv_changes(name, a, b)
        else:
            c, n = _json_changes(name, json.loads(a.read_text()), json.loads(b.read_text()))
        changes += c
        compared += n
        if c:
            differing.add(name)
    return changes, compared, differing


# -- the diff ---------------------------------------------------------------------------------------------------
def _render_sentence(text: str, name: str, old: str | None, new: str | None, values: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key == name:
            return f"[{old} -> {new}]"
        return values.get(key, key)

    return VAR.sub(sub, text)


def diff(old: Path | str, new: Path | str, overlay: Path | None = None) -> DiffReport:
    """Compare two builds number by number.

    Parameters
    ----------
    old, new : Path or str
        Results folders, built papers (manuscript folders or ``_variables.yml``), or project
        folders holding both (see :func:`load_side`).
    overlay : Path, optional
        Results files that replace those of ``old`` (``make reproduce``: ``reference/``).

    Returns
    -------
    DiffReport
        Every differing quoted number with its places, table cell, figure and results number.
    """
    a, b = load_side(old, overlay), load_side(new)
    paper: Paper = read_paper(b.manuscript, b.manuscript / "tables" if b.results is None else None)
    changes: list[Change] = []
    compared = {"variables": 0, "table cells": 0, "results numbers": 0}
    for name in sorted(a.variables.keys() | b.variables.keys()):
        if name.startswith(REPORT_GROUP):  # the title and abstract with their numbers filled in: each number is
            continue  # a variable of its own, listed with its places (the abstract's sentence among them)
        x, y = a.variables.get(name), b.variables.get(name)
        compared["variables"] += 1
        if x == y:
            continue
        places = [f"{p}: {_render_sentence(p.text, name, x, y, b.variables)}" for p in paper.places.get(name, [])] or [
            "not quoted in the paper"
        ]
        changes.append(Change("variable", name, x, y, places))
    for name in sorted(a.tables.keys() | b.tables.keys()):
        item = paper.item("table", name)
        label = f"{item.label} ({item.id}, {item.document})" if item else f"table {name} (not in the paper)"
        if name not in a.tables and a.computed or name not in b.tables and b.computed:
            continue  # written at render time, not from the results
        if name not in a.tables or name not in b.tables:
            changes.append(
                Change("cell", label, "(table)" if name in a.tables else None, "(table)" if name in b.tables else None)
            )
            continue
        c, n = _table_changes(label, a.tables[name], b.tables[name])
        compared["table cells"] += n
        for ch in c:
            ch.volatile = name == BUILD_RECORD
        changes += c
    differing: set[str] = set()
    if a.results is not None and b.results is not None:
        rc, n, differing = results_changes(a.results, b.results, overlay)
        compared["results numbers"] = n
    else:
        rc = []
    figure_inputs = {name: results_read(draw) for s in _sections() for name, draw in s.figures.items()}
    order = {i.name: k for k, i in enumerate(paper.items)}
    for name in sorted(a.figures.keys() | b.figures.keys(), key=lambda n: (order.get(n, len(order)), n)):
        item = paper.item("figure", name)
        label = f"{item.label} ({item.id}, {item.document})" if item else f"figure {name} (not in the paper)"
        x, y = a.figures.get(name, b""), b.figures.get(name, b"")
        if x is not None and y is not None:
            if x != y:
                changes.append(Change("figure", label, "image", "another image", [f"figures/{name}.png"]))
            continue
        bayes_changed = any(d.startswith("bayes/") for d in differing)
        reads = [f for f in figure_inputs.get(name, []) if f in differing or f == "bayes/MODEL.nc" and bayes_changed]
        if reads:
            places = [f"drawn from {f}, which differs" for f in reads]
            changes.append(Change("figure", label, "as built", "may differ", places))
    changes += rc
    return DiffReport(Path(old), Path(new), changes, compared)


# -- output -----------------------------------------------------------------------------------------------------
_SECTIONS_OUT = (
    ("variable", "Numbers quoted in the text"),
    ("cell", "Table cells"),
    ("caption", "Table captions"),
    ("figure", "Figures"),
    ("result", "Results files (every number)"),
)


def format_text(report: DiffReport, max_results: int | None = 20) -> str:
    """The report as plain text.

    Parameters
    ----------
    report : DiffReport
        From :func:`diff`.
    max_results : int or None
        At most this many results-file numbers listed per file (``None``: all).

    Returns
    -------
    str
        One block per kind of change; ``OLD -> NEW`` with the places under each quoted number.
    """
    counts = ", ".join(f"{n} {k}" for k, n in report.compared.items() if n)
    real = [c for c in report.changes if not c.volatile]
    lines = [f"diff {report.old} -> {report.new}: compared {counts}"]
    if not real:
        lines.append("no number differs")
    for kind, title in _SECTIONS_OUT:
        mine = [c for c in real if c.kind == kind]
        if not mine:
            continue
        lines.append(f"\n{title}: {len(mine)} differ")
        shown: dict[str, int] = {}
        for c in mine:
            if kind == "result" and max_results is not None:
                file = c.name.split(":")[0]
                shown[file] = shown.get(file, 0) + 1
                if shown[file] > max_results:
                    continue
            lines.append(f"  {c.name}: {c.old} -> {c.new}")
            lines += [f"      {p}" for p in c.places]
        for file, n in shown.items():
            if max_results is not None and n > max_results:
                lines.append(f"  {file}: ... and {n - max_results} more (--all lists them)")
    volatile = [c for c in report.changes if c.volatile]
    if volatile:
        lines.append(f"\nbuild record (not a difference): {', '.join(c.name for c in volatile)}")
    return "\n".join(lines)


def format_html(report: DiffReport) -> str:
    """The report as one self-contained HTML page (no scripts, no external files).

    Parameters
    ----------
    report : DiffReport
        From :func:`diff`.

    Returns
    -------
    str
        The page.
    """
    e = html.escape
    real = [c for c in report.changes if not c.volatile]
    counts = ", ".join(f"{n} {k}" for k, n in report.compared.items() if n)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>diff {e(str(report.old))} -> {e(str(report.new))}</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;width:100%}",
        "td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}",
        ".old{color:#a00}.new{color:#070;font-weight:600}.where{color:#555;font-size:.9em}",
        "</style></head><body>",
        f"<h1>What changed in the paper</h1><p>Old: <code>{e(str(report.old))}</code><br>"
        f"New: <code>{e(str(report.new))}</code></p>",
        f"<p>Compared {e(counts)}: <strong>{len(real)} differ</strong>.</p>",
    ]
    if not real:
        parts.append("<p>No number differs.</p>")
    for kind, title in _SECTIONS_OUT:
        mine = [c for c in real if c.kind == kind]
        if not mine:
            continue
        parts.append(
            f"<h2>{e(title)}: {len(mine)}</h2><table><tr><th>name</th><th>old</th><th>new</th>"
            "<th>where the paper shows it</th></tr>"
        )
        for c in mine:
            where = "<br>".join(e(p) for p in c.places)
            parts.append(
                f"<tr><td><code>{e(c.name)}</code></td><td class='old'>{e(str(c.old))}</td>"
                f"<td class='new'>{e(str(c.new))}</td><td class='where'>{where}</td></tr>"
            )
        parts.append("</table>")
    volatile = [c for c in report.changes if c.volatile]
    if volatile:
        parts.append(f"<p class='where'>Build record (not a difference): {e(', '.join(c.name for c in volatile))}</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def reproduce_view(reference: Path, results: Path) -> str:
    """What differs between the paper of ``reference/`` and that of a rebuild (for ``make reproduce``).

    Parameters
    ----------
    reference : Path
        The reference results (a subset of a results folder).
    results : Path
        The rebuilt results; the files ``reference`` lacks are read from here on both sides.

    Returns
    -------
    str
        :func:`format_text` of the two papers (the results files themselves are compared by
        :mod:`tools.reproduce`, with tolerances).
    """
    report = diff(results, results, overlay=reference)
    report.changes = [c for c in report.changes if c.kind != "result"]
    report.compared.pop("results numbers", None)
    report.old, report.new = Path(reference), Path(results)
    return format_text(report)


__all__ = [
    "Change",
    "DiffReport",
    "Side",
    "diff",
    "format_html",
    "format_text",
    "load_side",
    "reproduce_view",
    "results_changes",
]
