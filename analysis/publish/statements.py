"""The paper's declarations and the response to the reviewers, written by the build.

- :func:`statements_md` turns ``statements.yml`` of the data folder (authors, contributions, funding, competing
  interests, data availability, ethics: one metadata file) into the declarations section of the paper; a cohort
  without one gets declarations "to be completed by the authors".
- :func:`response_md` writes the response to the second review (issue 25) from the data folder's ``response.yml``
  (a cohort without a review has none to respond to):
  for each point, the answer and where the paper answers it (section, table and figure labels, each checked to
  exist in the manuscript sources), with the journal-form numbers measured on the built paper's sources.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from analysis.publish.checklist import CHECKLIST_FILE, CHECKLIST_LABEL
from analysis.settings import DATA_RAW, ROOT

STATEMENTS = DATA_RAW / "statements.yml"
RESPONSE = DATA_RAW / "response.yml"
SOURCES = (ROOT / "manuscript/index.qmd", ROOT / "manuscript/supplement.qmd")
FIELDS = {
    "contributions": "Author contributions",
    "funding": "Funding",
    "competing_interests": "Competing interests",
    "data_availability": "Data availability",
    "ethics": "Ethics",
}
OPEN = "to be completed"
#: the front matter's author when the data folder has no declarations
DEFAULT_AUTHORS = "The authors"


class StatementError(ValueError):
    """A metadata or response file is missing a field or names a label the manuscript lacks."""


def _load(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise StatementError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise StatementError(f"{path}: expected a mapping of fields")
    return data


def _open_declarations() -> dict:
    return {"authors": DEFAULT_AUTHORS, **{k: "To be completed by the authors." for k in FIELDS}}


def authors(path: Path = STATEMENTS) -> str:
    """The authors the front matter names: the declarations' (:data:`DEFAULT_AUTHORS` without a file)."""
    return str(_load(path)["authors"]).strip() if Path(path).is_file() else DEFAULT_AUTHORS


def statements_md(path: Path = STATEMENTS) -> str:
    """The declarations section (unnumbered) from ``statements.yml``; every field is required (a cohort without
    the file gets every declaration still to be completed)."""
    data = _load(path) if Path(path).is_file() else _open_declarations()
    missing = [k for k in ("authors", *FIELDS) if not str(data.get(k, "")).strip()]
    if missing:
        raise StatementError(f"{path}: missing field(s) {', '.join(missing)}")
    lines = ["# Declarations {.unnumbered}", ""]
    lines += [f"**{title}.** {str(data[key]).strip()}\n" for key, title in FIELDS.items()]
    return "\n".join(lines)


def open_statements(path: Path = STATEMENTS) -> list[str]:
    """The declarations still to be completed by the authors."""
    data = _load(path) if Path(path).is_file() else _open_declarations()
    return [FIELDS[k] for k in FIELDS if OPEN in str(data.get(k, "")).lower()]


def labels(sources=SOURCES) -> set[str]:
    """Every cross-reference label (``{#sec-...}``, ``{#tbl-...}``, ``{#fig-...}``) defined by the sources or by the
    tables they include."""
    from analysis.publish.narrative import source

    found: set[str] = set()
    for src in sources:
        text = source(src)
        found |= set(re.findall(r"\{#((?:sec|tbl|fig)-[\w-]+)", text))
        for inc in re.findall(r"\{\{< include (tables/[\w.-]+) >\}\}", text):
            path = Path(src).parent / inc
            if path.is_file():
                found |= set(re.findall(r"\{#((?:sec|tbl|fig)-[\w-]+)", path.read_text(encoding="utf-8")))
            elif inc == CHECKLIST_FILE:  # written by the render step, after this check
                found.add(CHECKLIST_LABEL)
            else:
                found |= {f"tbl-{Path(inc).stem}"}  # a table this same build writes
    return found


def response_md(path: Path = RESPONSE, form: dict | None = None, sources=SOURCES) -> str:
    """The response to the reviewers: each point, the answer, where it is answered (labels checked)."""
    if not Path(path).is_file():
        return "# Response to the reviewers\n\nNo review of this report to respond to.\n"
    data = _load(path)
    known = labels(sources)
    out = [f"# {data.get('title', 'Response to the reviewers')}", "", str(data.get("intro", "")).strip(), ""]
    for i, point in enumerate(data.get("points", []), 1):
        for key in ("point", "answer"):
            if not str(point.get(key, "")).strip():
                raise StatementError(f"{path}, point {i}: missing {key!r}")
        where = point.get("where", [])
        unknown = [w for w in where if w not in known]
        if unknown:
            raise StatementError(f"{path}, point {i}: label(s) not in the manuscript: {', '.join(unknown)}")
        status = point.get("status", "answered")
        out += [f"**{i}. {point['point'].strip()}** ({status})", "", point["answer"].strip()]
        if where:
            out += ["", "Where: " + ", ".join(f"`{w}`" for w in where)]
        out.append("")
    if form:
        out += ["**Journal form, measured on this build.** " + "; ".join(f"{k}: {v}" for k, v in form.items()), ""]
    still = open_statements()
    if still:
        out += [f"**Open before submission.** Declarations to be completed by the authors: {', '.join(still)}.", ""]
    return "\n".join(out)


#: journal limits checked by tests/publish/test_journal_form.py
ABSTRACT_WORDS = 250
MAIN_WORDS = 3500
MAIN_DISPLAY_ITEMS = 6


def _words(text: str) -> int:
    text = re.sub(r"\{\{< var [^>]*>\}\}", "N", text)  # a quoted number is one word
    text = re.sub(r"\{\{<[^>]*>\}\}|\{[#.][^}]*\}|\[@[^\]]*\]|@\w+|`[^`]*`|\*\*|[#*]", " ", text)
    return len(re.findall(r"[\w\u00b2\u2013-]+(?:[.,'][\w]+)*", text))


def journal_form(path: Path = SOURCES[0]) -> dict:
    """Words of the abstract and of the main text (Introduction to Discussion, without captions, tables,
    declarations and references), and the tables and figures in the main text."""
    from analysis.publish.narrative import source

    text = source(path)
    _, front, body = text.split("---", 2)
    abstract = yaml.safe_load(front).get("abstract", "")
    main = re.sub(r"^```\{=\w+\}\n.*?^```\n", "", body, flags=re.M | re.S)  # raw Typst or HTML: layout, not text
    main = main.split("# Reproducibility", 1)[0]
    main = main.split("{{< include tables/statements.md >}}", 1)[0]
    figures = re.findall(r"^!\[.*?\]\([^)]*\)\{#fig-", main, flags=re.M | re.S)
    tables = re.findall(r"\{\{< include tables/([\w-]+)\.md >\}\}", main)
    prose = re.sub(r"^!\[.*?\]\([^)]*\)\{[^}]*\}", "", main, flags=re.M | re.S)
    prose = re.sub(r"\{\{< include [^>]*>\}\}", "", prose)
    return {
        "abstract words": _words(abstract),
        "main text words": _words(prose),
        "tables and figures in the main text": len(figures) + len(tables),
    }
