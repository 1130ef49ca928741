"""The paper's structure as a reader sees it: its tables and figures, their numbers, and where each quoted number stands.

Read from the Quarto sources (``manuscript/index.qmd``, ``supplement.qmd``) with
their ``{{< include >}}`` tables expanded: every table and figure gets the
label the rendered paper shows ("Table 2", "Figure S1": numbered in order of
appearance per document, with the prefix of the document's ``crossref``
options), and every ``{{< var NAME >}}`` shortcode a place: the abstract, a
section's sentence, a figure caption or a table row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.publish.shortcodes import VAR


def inlined(path: Path) -> str:
    """A document's source with its generated sections inlined (:func:`analysis.publish.narrative.source`)."""
    from analysis.publish.narrative import source

    return source(path)


#: the rendered documents, in reading order
DOCUMENTS = ("index", "supplement")
INCLUDE = re.compile(r"\{\{<\s*include\s+([^\s>]+)\s*>\}\}")
FIGURE = re.compile(r"!\[(?P<caption>.*?)\]\((?P<file>[^)\s]+)\)\{#(?P<id>fig-[\w-]+)", re.S)
TABLE_ID = re.compile(r"\{#(tbl-[\w-]+)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z@\[(*{])")
#: the invisible word joiner the tables put around dashes
JOINER = "\u2060"


@dataclass(frozen=True)
class Item:
    """A table or figure of the rendered paper.

    Parameters
    ----------
    kind : str
        ``"table"`` or ``"figure"``.
    id : str
        The cross-reference id, e.g. ``tbl-estimates``.
    label : str
        What the rendered paper calls it, e.g. ``Table 2`` or ``Figure S1``.
    document : str
        ``index`` (the paper) or ``supplement``.
    file : str
        The generated file, relative to ``manuscript/``: ``tables/estimates.md``, ``figures/basket.png``.
    caption : str
        The caption's first sentence.
    """

    kind: str
    id: str
    label: str
    document: str
    file: str
    caption: str

    @property
    def name(self) -> str:
        """The file's stem: the name under which the publish stage declares it."""
        return Path(self.file).stem


@dataclass(frozen=True)
class Place:
    """Where a quoted number stands.

    Parameters
    ----------
    document : str
        ``index`` or ``supplement``.
    where : str
        ``Abstract``, a section heading, ``Figure 3 caption`` or ``Table S7, row 6C``.
    text : str
        The sentence (or table row) with the shortcode, whitespace collapsed.
    """

    document: str
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.document}: {self.where}"


@dataclass
class Paper:
    """The tables, figures and quoted-number places of the paper.

    Parameters
    ----------
    items : list of Item
        Every table and figure, in reading order.
    places : dict
        Variable name -> every :class:`Place` that quotes it.
    """

    items: list[Item] = field(default_factory=list)
    places: dict[str, list[Place]] = field(default_factory=dict)

    def item(self, kind: str, name: str) -> Item | None:
        """The table or figure generated as ``name`` (file stem), if the paper shows it."""
        return next((i for i in self.items if i.kind == kind and i.name == name), None)


def _front_matter(text: str) -> tuple[dict, str, str]:
    """The YAML front matter (parsed, and as text) and the body."""
    if not text.startswith("---"):
        return {}, "", text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, "", text
    head = text[3:end]
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError:  # e.g. a shortcode outside quotes: its places are read from the text
        meta = None
    return meta if isinstance(meta, dict) else {}, head, text[end + 4 :]


def _one_line(text: str) -> str:
    return " ".join(text.replace(JOINER, "").split())


def _sentences_with_vars(block: str) -> list[tuple[str, str]]:
    """(variable, sentence) for every shortcode of a prose block."""
    found = []
    for sentence in SENTENCE_END.split(_one_line(block)):
        for name in VAR.findall(sentence):
            found.append((name, sentence))
    return found


def _first_sentence(text: str) -> str:
    return SENTENCE_END.split(_one_line(text))[0]


def _table_rows(text: str) -> list[tuple[str, str]]:
    """(row label, row text) of a pipe table's body rows."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[\s:|-]+\|?$", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append((cells[0] if cells else "", _one_line(line)))
    return rows[1:]  # the first is the header


def read_paper(manuscript: Path, tables: Path | None = None) -> Paper:
    """Read the paper's structure from its Quarto sources.

    Parameters
    ----------
    manuscript : Path
        The folder with ``index.qmd`` and ``supplement.qmd``.
    tables : Path, optional
        The folder of the generated tables the sources include (default ``manuscript/tables``);
        a table missing there is listed without its caption.

    Returns
    -------
    Paper
        Every table and figure with its label, and every place that quotes a variable.
    """
    manuscript = Path(manuscript)
    tables = Path(tables) if tables is not None else manuscript / "tables"
    paper = Paper()
    for doc in DOCUMENTS:
        source = manuscript / f"{doc}.qmd"
        if not source.is_file():
            continue
        meta, head, body = _front_matter(inlined(source))
        crossref = meta.get("crossref") or {}
        prefix = {"table": crossref.get("tbl-title", "Table"), "figure": crossref.get("fig-title", "Figure")}
        count = {"table": 0, "figure": 0}

        def label(kind: str, _prefix=prefix, _count=count) -> str:
            _count[kind] += 1
            sep = "" if _prefix[kind].endswith("S") else " "
            return f"{_prefix[kind]}{sep}{_count[kind]}"

        fields = {k.capitalize(): v for k, v in meta.items() if isinstance(v, str)} or {"Front matter": head}
        for key, value in fields.items():  # title, subtitle, abstract
            for name, sentence in _sentences_with_vars(value):
                paper.places.setdefault(name, []).append(Place(doc, key, sentence))
        section = "(before the first heading)"
        for block in re.split(r"\n\s*\n", body):
            stripped = block.strip()
            if not stripped:
                continue
            m = HEADING.match(stripped.splitlines()[0])
            if m and len(stripped.splitlines()) == 1:
                section = m.group(2)
                continue
            for inc in INCLUDE.finditer(stripped):  # an included table, alone or in a fenced div
                inside_tables = inc.group(1).startswith("tables/")
                path = tables / Path(inc.group(1)).name if inside_tables else manuscript / inc.group(1)
                text = path.read_text(encoding="utf-8") if path.is_file() else ""
                ids = TABLE_ID.findall(text)
                if inside_tables and not ids and text.lstrip().startswith("# "):
                    continue  # generated prose (the declarations), not a table
                caption_line = next((ln for ln in text.splitlines() if ln.startswith(": ")), ": ")
                item = Item(
                    "table",
                    ids[0] if ids else f"tbl-{Path(inc.group(1)).stem}",
                    label("table"),
                    doc,
                    inc.group(1),
                    _first_sentence(TABLE_ID.sub("", caption_line[2:]).rstrip(" {}")),
                )
                paper.items.append(item)
                for row, row_text in _table_rows(text):
                    for name in VAR.findall(row_text):
                        paper.places.setdefault(name, []).append(Place(doc, f"{item.label}, row {row}", row_text))
                for name, sentence in _sentences_with_vars(caption_line):
                    paper.places.setdefault(name, []).append(Place(doc, f"{item.label} caption", sentence))
            stripped = INCLUDE.sub("", stripped)
            for fig in FIGURE.finditer(stripped):
                item = Item(
                    "figure",
                    fig.group("id"),
                    label("figure"),
                    doc,
                    fig.group("file"),
                    _first_sentence(fig.group("caption")),
                )
                paper.items.append(item)
                for name, sentence in _sentences_with_vars(fig.group("caption")):
                    paper.places.setdefault(name, []).append(Place(doc, f"{item.label} caption", sentence))
            prose = FIGURE.sub("", stripped)
            for name, sentence in _sentences_with_vars(prose):
                paper.places.setdefault(name, []).append(Place(doc, section, sentence))
    return paper


def flatten(variables: dict, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``: the names ``{{< var >}}`` uses.

    Parameters
    ----------
    variables : dict
        The nested mapping of ``_variables.yml``.
    prefix : str
        Prepended to every name (used in the recursion).

    Returns
    -------
    dict
        Dotted name -> value as text.
    """
    out: dict[str, str] = {}
    for key, value in variables.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flatten(value, name + ".")
        else:
            out[name] = "" if value is None else str(value)
    return out


__all__ = ["DOCUMENTS", "Item", "Paper", "Place", "flatten", "read_paper"]
