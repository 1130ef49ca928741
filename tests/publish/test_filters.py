"""The manuscript's Lua filters and Typst preamble on the shapes Quarto gives them (issue 26).

Quarto is not installed here, so what Quarto hands these files is rebuilt from its documentation
and source: a labelled table is a FloatRefTarget whose caption was taken off the table (quarto.org,
"Lua filter changes" of 1.4: fields type, content, caption_long); in Typst it writes a figure of kind
"quarto-float-tbl" with ``supplement: "Table S"`` and ``numbering: "1"`` (quarto-cli issue 9416
shows that output) and references as Typst references; captions and references get a non-breaking
space between the prefix and the number (quarto-cli src/resources/filters/crossref/refs.lua,
``add_ref_prefix``).  Each test runs pandoc (pypandoc-binary) or Typst (the typst package) on such
input and reads the result.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pypandoc = pytest.importorskip("pypandoc")

ROOT = Path(__file__).resolve().parents[2]
FILTERS = ROOT / "manuscript" / "filters"


def _pandoc(args: list[str], text: str, cwd: Path) -> str:
    proc = subprocess.run(
        [pypandoc.get_pandoc_path(), *args], input=text, capture_output=True, text=True, cwd=cwd, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _pdf_text(path: Path) -> str:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(p.get_textpage().get_text_range() for p in pdf)
    finally:
        pdf.close()


def test_preamble_numbers_quarto_supplement_figures_s1_in_captions_and_references(tmp_path):
    """Quarto's Typst for a supplement table: supplement "Table S", numbering "1" -> "Table S1" both places."""
    typst = pytest.importorskip("typst")
    body = """
See @tbl-meta and @fig-x, and another @tbl-own.

#figure([#table(columns: 2, [a], [b])], caption: figure.caption(position: top, [Cohorts.]),
  kind: "quarto-float-tbl", supplement: "Table S", numbering: "1") <tbl-meta>

#figure([#rect(width: 2cm)], caption: figure.caption(position: bottom, [A plot.]),
  kind: "quarto-float-fig", supplement: "Figure S", numbering: "1") <fig-x>

#figure([#table(columns: 1, [c])], caption: figure.caption(position: top, [Own.]),
  kind: "quarto-float-tbl", supplement: "Table", numbering: "1") <tbl-own>
"""
    src = tmp_path / "doc.typ"
    src.write_text((ROOT / "manuscript/preamble.typ").read_text(encoding="utf-8") + body, encoding="utf-8")
    typst.compile(str(src), output=str(tmp_path / "doc.pdf"), root=str(tmp_path))
    text = " ".join(_pdf_text(tmp_path / "doc.pdf").split())
    # (one counter per kind, as in Typst: a second table of the kind is number 2)
    assert "See Table S1 and Figure S1, and another Table 2." in text, text
    assert "Table S1: Cohorts." in text and "Figure S1: A plot." in text and "Table 2: Own." in text, text
    assert "S 1" not in text
    # the caption of a Quarto table stands above it, as the fallback's does
    assert text.index("Table S1: Cohorts.") < text.index("Cohorts. a b")


def test_numbering_filter_joins_quarto_s_prefixes(tmp_path):
    """Quarto: "Table S" + nbsp + "1" in captions and references; the filter prints "Table S1"."""
    md = "Table S\u00a01: caption. See Table S\u00a02, Figure S 3 and Table 4; IIMS 5 stays.\n"
    out = _pandoc(["-f", "markdown", "-t", "plain", "--lua-filter", str(FILTERS / "numbering.lua")], md, tmp_path)
    assert "Table S1: caption. See Table S2, Figure S3 and Table 4; IIMS 5 stays." in " ".join(out.split())


def test_numbering_filter_keeps_page_ranges_together_in_typst(tmp_path):
    md = "Text.\n\n::: {#refs}\nKruschke JK. Nat Hum Behav 2021;5:1282\u201391.\n:::\n"
    out = _pandoc(["-f", "markdown", "-t", "typst", "--lua-filter", str(FILTERS / "numbering.lua")], md, tmp_path)
    assert "#box[1282\u201391]" in out, out


FLOAT_SCRIPT = r"""
-- a FloatRefTarget as Quarto (1.4+) hands it to a user filter: caption taken off the table
dofile(FILTERS .. "/tables.lua")
local tbl = pandoc.read("| a | b |\n|---|---|\n| 1 | 2 |\n", "markdown").blocks[1]
local caption = pandoc.Plain(pandoc.read("Cohorts by disease. Notes: N, patients.", "markdown").blocks[1].content)
local float = { type = "Table", content = pandoc.Blocks({ tbl }), caption_long = caption }
local out = FloatRefTarget(float)
io.write(pandoc.write(pandoc.Pandoc({ pandoc.Para(out.caption_long.content) }), "plain"), "|||")
io.write(pandoc.write(pandoc.Pandoc(out.content), FORMAT_OUT))
"""


@pytest.mark.parametrize("fmt,note", [("html", 'class="table-note"'), ("typst", "#tablenote[")])
def test_tables_filter_sets_the_note_under_a_quarto_table(tmp_path, fmt, note):
    """Issue 26 item 7: under Quarto the note stayed in the caption; now it is cut off and set below the table."""
    script = tmp_path / "float.lua"
    script.write_text(f'FILTERS = "{FILTERS}"\nFORMAT = "{fmt}"\nFORMAT_OUT = "{fmt}"\n' + FLOAT_SCRIPT)
    out = _pandoc(["lua", str(script)], "", tmp_path)
    caption, content = out.split("|||")
    assert caption.strip() == "Cohorts by disease."
    assert note in content and "Notes: N, patients." in content
    assert content.index(note) > content.index("2"), "the note must follow the table"


def test_manuscript_filter_authors_keywords_links_and_landscape(tmp_path):
    """Fallback: the author's name instead of 'true', keywords shown, .html links as text in Word, landscape."""
    md = (
        "---\ntitle: T\nsubtitle: S\nauthor:\n  - name: Team X\n    affiliations:\n      - name: Uni Y\n"
        "keywords: [k one, k two]\n---\n\nSee [Table S1](supplement.html#tbl-a).\n\n"
        '::: {.landscape width="29.7cm" height="21cm"}\nwide\n:::\n'
    )
    lua = ["--lua-filter", str(FILTERS / "manuscript.lua")]
    html = _pandoc(["-f", "markdown", "-t", "html5", "-s", *lua], md, tmp_path)
    assert '<p class="author">Team X (Uni Y)</p>' in html and ">true<" not in html
    assert "<strong>Keywords:</strong> k one; k two" in html
    assert 'href="supplement.html#tbl-a"' in html
    native = _pandoc(["-f", "markdown", "-t", "native", *lua, "-M", "dummy=1"], md, tmp_path)
    assert "landscape" in native
    docx = tmp_path / "t.docx"
    _pandoc(["-f", "markdown", "-t", "docx", *lua, "-o", str(docx)], md, tmp_path)
    import zipfile

    xml = zipfile.ZipFile(docx).read("word/document.xml").decode()
    assert 'w:orient="landscape"' in xml and 'w:w="16838"' in xml
    assert "supplement.html" not in zipfile.ZipFile(docx).read("word/_rels/document.xml.rels").decode()
    typ = _pandoc(["-f", "markdown", "-t", "typst", "-s", *lua], md, tmp_path)
    assert "#set page(flipped: true)" in typ and "#set page(flipped: false)" in typ
    assert "Keywords:" in typ and "Team X" in typ and "Uni Y" in typ


@pytest.mark.pipeline
def test_rendered_supplement_has_its_wide_table_on_a_landscape_page(root):
    import zipfile

    out = root / "manuscript/_manuscript"
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(out / "supplement.pdf"))
    try:
        sizes = [pdf[i].get_size() for i in range(len(pdf))]
    finally:
        pdf.close()
    assert any(w > h for w, h in sizes) and any(w < h for w, h in sizes), sizes
    xml = zipfile.ZipFile(out / "supplement.docx").read("word/document.xml").decode()
    assert 'w:orient="landscape"' in xml
    assert "Keywords: CAR T-cell therapy" in " ".join(_pdf_text(out / "index.pdf").split())
