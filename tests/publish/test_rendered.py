"""The rendered paper and supplement as a reader gets them: PDF (pdfplumber), DOCX (its XML), HTML (Chromium).

Needs `make paper`.  These tests read the outputs, not the sources: numbered tables, figures and
citations in every format, no table wider than the text block, no interval broken across lines,
figures printed at their drawn size, cross-document references that name the right table.
"""

import re
import zipfile
from pathlib import Path

import pytest

from analysis.publish.format import plain

pytestmark = pytest.mark.pipeline

pdfplumber = pytest.importorskip("pdfplumber")

DOCS = ("index", "supplement")
MARGIN_PT = 2.5 / 2.54 * 72  # _quarto.yml: format.typst.margin (2.5 cm)
INTERVAL = re.compile(r"[\d\u2212.]+\u2013[\d\u2212.]+")


def _out(root: Path, name: str, ext: str) -> Path:
    path = root / "manuscript/_manuscript" / f"{name}.{ext}"
    if not path.is_file():
        pytest.fail(f"{path} is not built: run `make paper`")
    return path


@pytest.fixture(scope="module")
def pdfs(root):
    out = {}
    for name in DOCS:
        with pdfplumber.open(_out(root, name, "pdf")) as pdf:
            pages = []
            for page in pdf.pages:
                words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
                pages.append(
                    {
                        "width": page.width,
                        "height": page.height,
                        "text": plain(page.extract_text() or ""),
                        "words": words,
                        "images": page.images,
                    }
                )
            out[name] = pages
    return out


def _docx_paragraphs(path: Path) -> list[str]:
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    paras = re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S)
    return [plain(re.sub(r"<[^>]+>", "", p)).strip() for p in paras]


@pytest.fixture(scope="module")
def docx(root):
    return {name: _docx_paragraphs(_out(root, name, "docx")) for name in DOCS}


def _intervals_in_tables(root: Path, name: str) -> set[str]:
    """Every interval the tables included in a document print ('0.76–1.00'), as the reader sees it."""
    src = (root / "manuscript" / f"{name}.qmd").read_text(encoding="utf-8")
    found = set()
    for inc in re.findall(r"\{\{<\s*include\s+(\S+)\s*>\}\}", src):
        text = (root / "manuscript" / inc).read_text(encoding="utf-8")
        found |= set(INTERVAL.findall(plain(text)))
    return found


def test_all_outputs_exist(root):
    for name in DOCS:
        for ext in ("html", "pdf", "docx"):
            path = _out(root, name, ext)
            assert path.stat().st_size > 10_000, path
    assert _out(root, "index", "pdf").read_bytes()[:5] == b"%PDF-"
    assert zipfile.is_zipfile(_out(root, "index", "docx"))


@pytest.mark.parametrize("name,prefix", [("index", ""), ("supplement", "S")])
def test_pdf_numbers_tables_and_figures_in_order(pdfs, name, prefix):
    text = "\n".join(p["text"] for p in pdfs[name])
    for kind in ("Table", "Figure"):
        nums = [int(n) for n in re.findall(rf"^{kind}[ \u00a0]{prefix}(\d+): ", text, flags=re.M)]
        if kind == "Table" or name == "index":
            assert nums, f"no numbered {kind} captions in {name}.pdf"
        assert nums == list(range(1, len(nums) + 1)), (name, kind, nums)


@pytest.mark.parametrize("name,prefix", [("index", ""), ("supplement", "S")])
def test_docx_numbers_tables_and_figures_in_order(docx, name, prefix):
    for kind in ("Table", "Figure"):
        # Quarto's Word writer puts a non-breaking space before the number ("Table\u00a01:"), pandoc's a space
        nums = [int(m.group(1)) for p in docx[name] if (m := re.match(rf"{kind}[ \u00a0]{prefix}(\d+): ", p))]
        if kind == "Table" or name == "index":
            assert nums, f"no numbered {kind} captions in {name}.docx"
        assert nums == list(range(1, len(nums) + 1)), (name, kind, nums)


def test_citations_are_numbered_in_pdf_and_docx(pdfs, docx):
    """Vancouver/NEJM style: a numbered reference list, no author-year citations in the text."""
    text = "\n".join(p["text"] for p in pdfs["index"])
    refs = text.split("\nReferences\n")[-1]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", refs, flags=re.M)]
    assert numbers[:3] == [1, 2, 3] and len(numbers) >= 15, numbers[:10]
    assert re.search(r"^1\. M.ller F", refs, flags=re.M), "the first reference is not the index study"
    assert not re.search(r"\(M.ller et al\.? 2024\)|M.ller et al\. \(2024\)", text), "author-year citation in the PDF"
    entries = [p for p in docx["index"] if re.match(r"\d+\.\s+\S", p)]
    assert entries and re.match(r"1\.\s+M.ller F", entries[0]), entries[:2]
    assert not any(re.search(r"\(M.ller et al\.? 2024\)", p) for p in docx["index"])


@pytest.mark.parametrize("name", DOCS)
def test_no_interval_is_split_across_lines_in_the_pdf(root, pdfs, name):
    intervals = _intervals_in_tables(root, name)
    assert intervals, f"no intervals found in the tables of {name}.qmd"
    lines = [ln for p in pdfs[name] for ln in p["text"].splitlines()]
    broken = [iv for iv in intervals if not any(iv in ln for ln in lines)]
    assert not broken, f"intervals split across lines in {name}.pdf: {sorted(broken)[:10]}"
    dangling = [ln for ln in lines if re.search(r"\d\u2013$", ln) or re.match(r"^\u2013\d", ln)]
    assert not dangling, dangling[:5]


def test_reference_page_ranges_stay_on_one_line_in_the_pdf(pdfs):
    """'1282–91' is never broken after the dash at a line end (filters/numbering.lua boxes ranges in Typst)."""
    text = "\n".join(p["text"] for p in pdfs["index"])
    refs = text.split("\nReferences\n")[-1]
    assert re.search(r"\d\u2013\d", refs), "no page ranges found in the references"
    broken = [ln for ln in refs.splitlines() if re.search(r"\d\u2013$", ln.rstrip())]
    assert not broken, broken[:5]


@pytest.mark.parametrize("name", DOCS)
def test_nothing_is_wider_than_the_text_block_in_the_pdf(pdfs, name):
    """No word outside the margins, and no two words on a line overlapping (a cell running into the next)."""
    problems = []
    for i, page in enumerate(pdfs[name], start=1):
        # (4 pt: Typst hangs punctuation slightly into the margin of justified lines)
        left, right = MARGIN_PT - 4, page["width"] - MARGIN_PT + 4
        for w in page["words"]:
            if w["x0"] < left or w["x1"] > right:
                problems.append((i, "outside the text block", w["text"], round(w["x0"]), round(w["x1"])))
        rows: dict[int, list] = {}
        for w in page["words"]:
            rows.setdefault(round(w["top"]), []).append(w)
        for ws in rows.values():
            ws.sort(key=lambda w: w["x0"])
            for a, b in zip(ws, ws[1:]):
                if b["x0"] < a["x1"] - 1.0:
                    problems.append((i, "overlap", a["text"], b["text"]))
    assert not problems, f"{name}.pdf: {problems[:10]}"


def test_figures_print_at_their_drawn_size(root, pdfs):
    """Each figure is set at the text-block width it was drawn at, so its >= 7 pt fonts print at >= 7 pt."""
    from PIL import Image

    from analysis.publish.figures import MIN_FONT, TEXT_WIDTH

    assert MIN_FONT >= 7
    for png in sorted((root / "manuscript/figures").glob("*.png")):
        im = Image.open(png)
        dpi = im.info["dpi"][0]
        assert abs(im.size[0] / dpi - TEXT_WIDTH) < 0.02, f"{png.name} is {im.size[0] / dpi:.2f} in wide"
    images = [img for name in ("index", "supplement") for p in pdfs[name] for img in p["images"]]
    assert len(images) >= 7  # paper and supplement: the journal's limit moved figures to the supplement
    text_width_pt = TEXT_WIDTH * 72
    for img in images:
        scale = (img["x1"] - img["x0"]) / text_width_pt
        assert 0.97 <= scale <= 1.01, f"a figure is printed at {scale:.2f} of its drawn size"


def test_figures_sit_near_their_first_reference(pdfs):
    """A figure is on the page of its first mention in the text or the next one."""
    pages = [p["text"] for p in pdfs["index"]]
    for n in range(1, 20):
        caption = [i for i, t in enumerate(pages) if re.search(rf"^Figure {n}: ", t, flags=re.M)]
        if not caption:
            break
        mention = [i for i, t in enumerate(pages) if re.search(rf"Figure {n}(?!\d)(?!: )", t)]
        assert mention, f"Figure {n} is never referred to"
        assert 0 <= caption[0] - mention[0] <= 1, (
            f"Figure {n} is on page {caption[0] + 1}, first cited on {mention[0] + 1}"
        )


def test_no_page_is_mostly_empty(pdfs):
    """Apart from the last page of each document, every page is at least half filled with text or figures."""
    for name, pages in pdfs.items():
        for i, page in enumerate(pages[:-1], start=1):
            bottoms = [w["bottom"] for w in page["words"]] + [img["bottom"] for img in page["images"]]
            tops = [w["top"] for w in page["words"]] + [img["top"] for img in page["images"]]
            filled = (max(bottoms) - min(tops)) / (page["height"] - 2 * MARGIN_PT) if bottoms else 0
            assert filled > 0.5, f"{name}.pdf page {i} is {filled:.0%} filled"


def test_paper_names_supplementary_tables_by_their_numbers(root):
    from analysis.publish.render import check_supplement_references, supplement_numbers

    out = root / "manuscript/_manuscript"
    numbers = supplement_numbers(out)
    assert {"tbl-meta", "tbl-diagnostics", "tbl-sensitivity", "tbl-barg"} <= set(numbers)
    check_supplement_references(out)
    html = (out / "index.html").read_text(encoding="utf-8")
    for label in ("tbl-meta", "tbl-diagnostics", "tbl-sensitivity"):
        assert f'href="supplement.html#{label}"' in html


def test_supplement_has_the_barg_checklist_with_results(root, pdfs, docx):
    import yaml

    from analysis.publish.checklist import ITEMS

    v = yaml.safe_load((root / "manuscript/_variables.yml").read_text())
    text = re.sub(r"\s+", " ", " ".join(p["text"] for p in pdfs["supplement"]))
    for item, _, _ in ITEMS:
        assert re.search(rf"(^|\s){re.escape(item)}\s", text), item
    assert f"largest R-hat {v['bayes']['diag']['max_rhat']}" in text
    assert any("Bayesian Analysis Reporting Guidelines" in p for p in docx["supplement"])


def test_checklist_points_only_at_labels_the_paper_defines():
    from analysis.publish.checklist import answer, paper_numbers

    names = paper_numbers(
        "---\nt: x\n---\n# Intro {#sec-a}\n## Sub {#sec-b}\n\n: cap {#tbl-x}\n\n![c](f.png){#fig-y}\n"
    )
    assert names == {"sec-a": "section 1", "sec-b": "section 1.1", "tbl-x": "Table 1", "fig-y": "Figure 1"}
    assert answer("see [tbl-x] and [sec-b]", names) == (
        "see [Table 1](index.html#tbl-x) and [section 1.1](index.html#sec-b)"
    )
    with pytest.raises(KeyError, match="tbl-nope"):
        answer("[tbl-nope]", names)


def _ink(png, box: tuple[int, int, int, int]) -> float:
    """Share of dark pixels (text, rules, plots) in a box of a screenshot."""
    counts = png.crop(box).convert("L").histogram()
    return sum(counts[:160]) / max(sum(counts), 1)


def test_html_reads_well_in_chromium_at_1280_and_400_px(root):
    """Headless Chromium (Debian's `chromium`, installed by .ci/run): the journal-like page of style.css.

    At 1280 px: figures load, every #link has its target, nothing runs past the text block, the page
    never scrolls sideways, every table fits (none scrolls, no column clipped), the text keeps a
    reading measure (55-85 characters), the table of contents stays in the left margin.  At 400 px
    (a phone; laid out in a frame of that width): no sideways page scroll, a wide table scrolls in its
    own box with no column clipped, the contents stand above the text.  The screenshots are kept in
    manuscript/_manuscript/screenshots/ and compared with the layout: ink in the margin contents at
    1280 px, none in the strip at the right edge of either width (nothing cut off by the window).
    """
    from PIL import Image

    from tests.publish import browser_check

    if not browser_check.chromium():
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    for name in DOCS:
        html = _out(root, name, "html")
        desktop = browser_check.check(html, browser_check.DESKTOP)
        assert not desktop["broken"] and not desktop["missing"], (name, desktop)
        assert not desktop["overflow"] and not desktop["page_scrolls_sideways"], (name, desktop)
        assert not desktop["clipped_tables"], (name, desktop["clipped_tables"])
        if name == "index":  # the supplement's 9-column Table S1 may scroll in its box (landscape in print)
            assert not desktop["scrolling_tables"], (name, desktop["scrolling_tables"])
            chars = desktop["text"]["width"] / (0.5 * desktop["font_px"])  # a serif averages ~0.5 em a character
            assert 55 <= chars <= 85, f"measure of {chars:.0f} characters"
        toc = desktop["toc"]
        assert toc["position"] == "fixed" and toc["left"] < 5, toc
        if desktop["text"]:
            assert toc["right"] <= desktop["text"]["left"], (toc, desktop["text"])
        phone = browser_check.check(html, browser_check.PHONE)
        assert not phone["page_scrolls_sideways"] and not phone["overflow"], (name, phone)
        assert not phone["clipped_tables"] and not phone["missing"], (name, phone)
        assert phone["toc"]["position"] != "fixed", phone["toc"]
        if phone["text"]:
            assert phone["toc"]["top"] < phone["text"]["top"] and phone["text"]["width"] <= 400, phone
        shots = browser_check.screenshots(html)
        assert [s.name for s in shots] == [f"{name}-desktop.png", f"{name}-phone.png"]
        wide, narrow = Image.open(shots[0]), Image.open(shots[1])
        assert wide.size[0] == browser_check.DESKTOP and narrow.size[0] == browser_check.PHONE
        assert _ink(wide, (0, 0, int(toc["right"]), 600)) > 0.005, "no contents drawn in the left margin"
        assert _ink(wide, (wide.size[0] - 12, 0, wide.size[0], 9000)) == 0, "ink at the right edge (1280 px)"
        assert _ink(narrow, (narrow.size[0] - 6, 0, narrow.size[0], 9000)) == 0, "ink at the right edge (400 px)"
    assert desktop["links"] > 0
