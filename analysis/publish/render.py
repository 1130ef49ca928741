"""Render the Quarto manuscript (paper and supplement) to HTML, PDF and DOCX, and check what was written.

With Quarto on PATH this is ``quarto render manuscript`` (``_quarto.yml`` lists the documents,
formats, filters, CSL style and Typst preamble; it targets Quarto 1.10).  Without it, the same
sources are rendered with pandoc (from ``pypandoc-binary``) and Typst (the ``typst`` package),
with the options read from ``_quarto.yml``:

1. ``{{< include >}}`` and ``{{< var >}}`` shortcodes are expanded from the files the pipeline
   wrote (:mod:`analysis.publish.shortcodes`); an unknown variable or a missing include fails.
2. pandoc with ``filters/crossref.lua`` (figure and table numbers, "S1" in the supplement: what
   Quarto's own cross-referencing does), citeproc (numbered citations in the journal's CSL style)
   and the filters ``_quarto.yml`` lists (the ones Quarto runs too) writes standalone HTML with
   every image and style embedded, DOCX and Typst source (with ``preamble.typ``).
3. Typst compiles the PDF.

Before either path, the BARG checklist of the supplement is written
(:mod:`analysis.publish.checklist`).  After either path, :func:`check_rendered` reads what was
written: every document in every format exists and is newer than the start of this render,
captions are numbered in order ("Table S1" in the supplement), no shortcode, cross-reference or
citation is left unresolved (page metadata included), the HTML is self-contained and every link
between the two documents has its target.  Anything else fails with a :class:`RenderError`
(exit code 5) that names each missing or faulty file; no file is reported that this render did
not write.  The fallback renders into ``_build/`` and moves the outputs into ``_manuscript/``
only once they pass, each atomically.
"""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from analysis.io import atomic_path, write_text
from analysis.publish import checklist
from analysis.publish.shortcodes import SHORTCODE, RenderError, expand

__all__ = ["SHORTCODE", "RenderError", "check_rendered", "expand", "render", "render_fallback"]

FORMATS = ("html", "pdf", "docx")
OUT_DIR = "_manuscript"


def _pandoc(args: list[str], cwd: Path) -> None:
    import pypandoc

    proc = subprocess.run([pypandoc.get_pandoc_path(), *args], cwd=cwd, capture_output=True, text=True)
    problems = [ln for ln in proc.stderr.splitlines() if "WARNING" in ln or "crossref" in ln or "rror" in ln]
    if proc.returncode != 0 or problems:
        raise RenderError("pandoc failed:\n" + (proc.stderr.strip() or f"exit {proc.returncode}"))


def quarto_config(manuscript: Path) -> dict:
    """The parsed ``_quarto.yml`` of the manuscript folder (empty when there is none)."""
    path = Path(manuscript) / "_quarto.yml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def documents(manuscript: Path) -> list[str]:
    """The documents the project renders (``project.render`` of _quarto.yml), as stems: index, supplement."""
    listed = quarto_config(manuscript).get("project", {}).get("render") or ["index.qmd"]
    return [Path(d).stem for d in listed if (Path(manuscript) / d).is_file()]


def _filters(config: dict) -> list[str]:
    """The Lua filters of ``_quarto.yml`` in order (a ``{path, at}`` entry by its path; 'quarto' skipped)."""
    out = []
    for f in config.get("filters") or []:
        path = f.get("path") if isinstance(f, dict) else f
        if path and path != "quarto":
            out.append(path)
    return out


def _typst_metadata(config: dict) -> dict:
    typst_opts = config.get("format", {}).get("typst", {}) or {}
    return {
        k: typst_opts[k] for k in ("papersize", "margin", "fontsize", "mainfont", "page-numbering") if k in typst_opts
    }


FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---[ \t]*\n", re.S)


def _expand_meta(node, base: Path, variables: dict, source: Path, meta: dict | None):
    if isinstance(node, str):
        return expand(node, base, variables, source, meta=meta)
    if isinstance(node, dict):
        return {k: _expand_meta(v, base, variables, source, meta) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_meta(v, base, variables, source, meta) for v in node]
    return node


def expand_document(text: str, base: Path, variables: dict, source: Path, meta: dict | None = None) -> str:
    """Expand a .qmd's shortcodes: the front matter's after YAML has read it (as Quarto does), then the body.

    A value substituted into the YAML text could break it (a Markdown escape such as '\\>0.999' is not a
    valid escape in a double-quoted YAML string); substituted into the parsed strings it cannot.
    """
    m = FRONT_MATTER.match(text)
    if not m:
        return expand(text, base, variables, source, meta=meta)
    front = _expand_meta(yaml.safe_load(m.group(1)) or {}, base, variables, source, meta)
    front = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n" + expand(text[m.end() :], base, variables, source, meta=meta)


def metadata(manuscript: Path, config: dict) -> dict:
    """The merged ``metadata-files`` of ``_quarto.yml`` (what Quarto's ``{{< meta >}}`` reads besides front matter)."""
    meta: dict = {}
    for name in config.get("metadata-files") or []:
        path = Path(manuscript) / name
        if not path.is_file():
            raise RenderError(f"{path} is missing (listed in metadata-files of {Path(manuscript) / '_quarto.yml'})")
        meta |= yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return meta


SUPPLEMENT_NUMBERS = "tables/supplement-numbers.yml"


def write_supplement_numbers(manuscript: Path, variables: dict) -> Path:
    """Write the number the supplement gives each of its tables and figures, for the paper's links to them.

    The paper writes ``[{{< meta supplement-numbers.tbl-x >}}](supplement.html#tbl-x)``: Quarto reads the file
    through ``metadata-files`` in ``_quarto.yml``, the fallback through :func:`metadata`, so neither path
    types a number that a new supplementary table would shift.  Numbers are counted in the expanded
    supplement the way both renderers number it (labels in order, tables and figures apart).

    Parameters
    ----------
    manuscript
        The manuscript folder.
    variables
        The parsed ``_variables.yml``.

    Returns
    -------
    The file written, ``tables/supplement-numbers.yml``.
    """
    manuscript = Path(manuscript)
    src = manuscript / "supplement.qmd"
    names = checklist.paper_numbers(expand(src.read_text(encoding="utf-8"), manuscript, variables, src))
    numbers = {
        label: name.replace("Table ", "Table S").replace("Figure ", "Figure S")
        for label, name in names.items()
        if label.startswith(("tbl-", "fig-"))
    }
    path = manuscript / SUPPLEMENT_NUMBERS
    write_text(path, "# Written by the render step; do not edit.\n" + yaml.safe_dump({"supplement-numbers": numbers}))
    return path


def render_document(
    manuscript: Path, name: str, build: Path, config: dict, variables: dict, meta: dict | None = None
) -> list[Path]:
    """Render one document with pandoc and Typst into ``build``; returns the HTML, DOCX and PDF written there."""
    import typst

    src = manuscript / f"{name}.qmd"
    text = expand_document(src.read_text(encoding="utf-8"), manuscript, variables, src, meta or {})
    (build / f"{name}.md").write_text(text, encoding="utf-8")
    (build / f"{name}-typst.yaml").write_text(yaml.safe_dump(_typst_metadata(config)), encoding="utf-8")
    common = [f"{name}.md", "--from", "markdown", "--lua-filter", str(manuscript / "filters" / "crossref.lua")]
    bib = manuscript / config.get("bibliography", "references.bib")
    common += ["--citeproc", "--bibliography", str(bib), "--metadata", "link-citations=true"]
    if config.get("csl"):
        common += ["--csl", str(manuscript / config["csl"])]
    for f in _filters(config):
        common += ["--lua-filter", str(manuscript / f)]
    common += ["--standalone", "--number-sections"]
    html_opts = config.get("format", {}).get("html", {}) or {}
    html_args = ["--to", "html5", "--embed-resources"]
    html_args += ["--toc"] if html_opts.get("toc") else []
    html_args += ["--css", str(manuscript / html_opts["css"])] if html_opts.get("css") else []
    docx_opts = config.get("format", {}).get("docx", {}) or {}
    docx_args = ["--to", "docx"]
    if docx_opts.get("reference-doc"):
        docx_args += ["--reference-doc", str(manuscript / docx_opts["reference-doc"])]
    typst_opts = config.get("format", {}).get("typst", {}) or {}
    typst_args = ["--to", "typst", "--metadata-file", f"{name}-typst.yaml"]
    for header in typst_opts.get("include-in-header") or []:
        typst_args += ["--include-in-header", str(manuscript / header)]
    # the three pandoc runs are independent processes: run them at once (the build's last step, cores to spare)
    with ThreadPoolExecutor(3) as pool:
        runs = [
            pool.submit(_pandoc, [*common, *args, "--output", f"{name}.{ext}"], build)
            for ext, args in (("html", html_args), ("docx", docx_args), ("typ", typst_args))
        ]
        for run in runs:
            run.result()
    try:
        typst.compile(str(build / f"{name}.typ"), output=str(build / f"{name}.pdf"), root=str(build))
    except Exception as err:  # typst raises its own error type
        raise RenderError(f"typst failed on {build / f'{name}.typ'}: {err}") from err
    return [build / f"{name}.{ext}" for ext in FORMATS]


def render_fallback(manuscript: Path) -> list[Path]:
    """Render every document with pandoc and Typst, check the outputs, then move them into ``_manuscript/``.

    Parameters
    ----------
    manuscript
        The manuscript folder (``_quarto.yml``, the ``.qmd`` sources, ``_variables.yml``).

    Returns
    -------
    The files written to ``manuscript/_manuscript``.

    Raises
    ------
    RenderError
        On any unresolved shortcode, reference or citation, a pandoc or Typst failure, or an
        output that fails :func:`check_rendered`; ``_manuscript/`` is then left as it was.
    """
    start = time.time()
    manuscript = Path(manuscript).resolve()
    var_file = manuscript / "_variables.yml"
    if not var_file.is_file():
        raise RenderError(f"{var_file} is missing: run the pipeline first (make paper)")
    variables = yaml.safe_load(var_file.read_text(encoding="utf-8")) or {}
    config = quarto_config(manuscript)
    build = manuscript / "_build"
    if build.exists():
        shutil.rmtree(build)
    build.mkdir(parents=True)
    if (manuscript / "figures").is_dir():
        shutil.copytree(manuscript / "figures", build / "figures")
    names = documents(manuscript)
    meta = metadata(manuscript, config)
    with ThreadPoolExecutor(len(names)) as pool:  # the documents are independent
        runs = [pool.submit(render_document, manuscript, n, build, config, variables, meta) for n in names]
        for run in runs:
            run.result()
    check_rendered(build, names, since=start)
    out_dir = manuscript / OUT_DIR
    outputs = []
    for name in names:
        for ext in FORMATS:
            with atomic_path(out_dir / f"{name}.{ext}") as tmp:
                shutil.copyfile(build / f"{name}.{ext}", tmp)
            outputs.append(out_dir / f"{name}.{ext}")
    return outputs


def render_quarto(quarto: str, manuscript: Path) -> None:
    """``quarto render manuscript``; its messages are passed on, and a failure or warning fails the render."""
    proc = subprocess.run([quarto, "render", str(manuscript)], capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RenderError(f"`{quarto} render {manuscript}` failed with exit code {proc.returncode} (messages above)")
    # "[WARNING] Citeproc: citation tbl-x not found", "WARNING: Unable to resolve crossref @fig-x"
    warnings = [ln.strip() for ln in log.splitlines() if re.search(r"(?i)warn.*(not found|unable to resolve)", ln)]
    if warnings:
        raise RenderError(f"`quarto render {manuscript}` left references unresolved: " + "; ".join(warnings[:5]))


def render(manuscript: Path, force_fallback: bool = False) -> list[Path]:
    """Render the manuscript with Quarto (or the fallback) and return the files written, once checked.

    Parameters
    ----------
    manuscript
        The manuscript folder.
    force_fallback
        Use pandoc and Typst even when Quarto is on PATH.

    Returns
    -------
    Every document in every format under ``manuscript/_manuscript``, each checked by
    :func:`check_rendered`.

    Raises
    ------
    RenderError
        When Quarto fails, or an output is missing, stale or faulty (exit code 5).
    """
    start = time.time()
    manuscript = Path(manuscript)
    if (manuscript / "supplement.qmd").is_file() and (manuscript / "_variables.yml").is_file():
        print(f"wrote {checklist.write(manuscript)}")
        variables = yaml.safe_load((manuscript / "_variables.yml").read_text(encoding="utf-8")) or {}
        print(f"wrote {write_supplement_numbers(manuscript, variables)}")
    quarto = shutil.which("quarto")
    if not quarto or force_fallback:
        print("Quarto is not on PATH: rendering the same sources with pandoc and Typst instead.")
        return render_fallback(manuscript)
    render_quarto(quarto, manuscript)
    names = documents(manuscript)
    check_rendered(manuscript / OUT_DIR, names, since=start)
    return [manuscript / OUT_DIR / f"{n}.{ext}" for n in names for ext in FORMATS]


# ---------------------------------------------------------------------------------------------
# checks of the rendered files (both paths)

SPACES = re.compile(r"[\s\u00a0\u202f]+")
CAPTION = re.compile(r"\b(Table|Figure) ?(S?) ?(\d+):")
UNRESOLVED = (
    (re.compile(r"\{\{(?:<|&lt;)"), "an unexpanded {{< >}} shortcode"),
    (re.compile(r"\?@?(?:fig|tbl|sec)-[\w-]+|\b(?:fig|tbl|sec)-[\w-]+\?"), "an unresolved cross-reference"),
    (re.compile(r"@(?:fig|tbl)-[\w-]+"), "an unresolved cross-reference"),
    (re.compile(r"\?\?|\(\s*[\w:-]+\?\s*\)"), "an unresolved citation"),
)


def _html_text(html: str) -> str:
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return SPACES.sub(" ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


def _docx_text(path: Path) -> str:
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    paras = re.findall(r"(?s)<w:p[ >].*?</w:p>", xml)
    return "\n".join(SPACES.sub(" ", html_lib.unescape(re.sub(r"<[^>]+>", "", p))).strip() for p in paras)


def _pdf_text(path: Path) -> str:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf).replace("\r", "")
    finally:
        pdf.close()


def caption_problems(text: str, supplement: bool) -> list[str]:
    """What is wrong with the numbered captions of one rendered document ('Table 1:', 'Figure S2:').

    Parameters
    ----------
    text
        The document's text (tags removed, runs of white space, non-breaking ones included, as one space).
    supplement
        Whether the items must be numbered S1, S2, ...

    Returns
    -------
    One line per problem; empty when tables are numbered 1..n (S1..Sn) in order, figures too.
    """
    text = SPACES.sub(" ", text)
    problems = []
    found: dict[str, list[int]] = {"Table": [], "Figure": []}
    for m in CAPTION.finditer(text):
        kind, s, number = m.group(1), m.group(2), int(m.group(3))
        if supplement and not s:
            problems.append(f"'{m.group(0)}' is not S-numbered")
        elif not supplement and s:
            problems.append(f"'{m.group(0)}' is S-numbered in the paper")
        elif s and m.group(0) != f"{kind} S{number}:":
            problems.append(f"'{m.group(0)}' has a space inside its number (expected '{kind} S{number}:')")
        if number not in found[kind]:
            found[kind].append(number)
    if not found["Table"]:
        problems.append("no numbered table captions ('Table S1:' or 'Table 1:')")
    for kind, numbers in found.items():
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{kind.lower()} captions numbered {numbers}, not 1..{len(numbers)} in order")
    return problems


def _unresolved(text: str) -> list[str]:
    out = []
    for pattern, what in UNRESOLVED:
        m = pattern.search(text)
        if m:
            out.append(f"{what} near {text[max(0, m.start() - 30) : m.end() + 30]!r}")
    return out


def _ids(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def html_problems(html: str, supplement: bool) -> list[str]:
    """Problems of one rendered HTML page: unresolved items, metadata, embedding and captions."""
    problems = []
    # page metadata (<meta name="citation_abstract" content="...">) must be rendered text too
    for m in re.finditer(r'<meta\b[^>]*\bname="([^"]+)"[^>]*\bcontent="([^"]*)"', html):
        content = html_lib.unescape(m.group(2))
        if "{{<" in content or re.search(r"\*\*|\[@|\]\(", content):
            problems.append(f'<meta name="{m.group(1)}"> holds unrendered Markdown or shortcodes: {content[:60]!r}')
    stripped = re.sub(r'(src|href)="data:[^"]*"', r'\1=""', html)
    problems += _unresolved(_html_text(stripped))
    if "{{&lt;" in stripped or "{{<" in stripped:
        problems.append("an unexpanded {{< >}} shortcode in the page source")
    for m in re.finditer(r'<(img|script|link)\b[^>]*?\b(src|href)="([^"]+)"', stripped):
        if m.group(3) and not re.match(r"(data:|https?:|#)", m.group(3)):
            problems.append(f"not self-contained: <{m.group(1)}> loads {m.group(3)!r}")
            break
    problems += caption_problems(_html_text(stripped), supplement)
    return problems


def check_rendered(out_dir: Path, names: list[str], since: float) -> list[Path]:
    """Check every rendered document in every format; raise naming each missing, stale or faulty file.

    Parameters
    ----------
    out_dir
        Where the render wrote its outputs (``_manuscript/``; the fallback's ``_build/``).
    names
        The documents (``index``, ``supplement``); ``supplement`` is held to S-numbering.
    since
        The render's start (``time.time()``): an output older than this was not written by it.

    Returns
    -------
    The files checked.

    Raises
    ------
    RenderError
        Listing every missing or stale file, then every problem found in the others.
    """
    out_dir = Path(out_dir)
    paths = [out_dir / f"{n}.{ext}" for n in names for ext in FORMATS]
    missing = [str(p) for p in paths if not p.is_file()]
    # a second of slack: some file systems keep modification times to the second
    stale = [str(p) for p in paths if p.is_file() and p.stat().st_mtime < since - 1.0]
    if missing or stale:
        parts = []
        if missing:
            parts.append("not written: " + ", ".join(missing))
        if stale:
            parts.append("left from an earlier render (older than this one): " + ", ".join(stale))
        raise RenderError("; ".join(parts))
    problems = []
    pages = {}
    for name in names:
        supplement = name == "supplement"
        html = (out_dir / f"{name}.html").read_text(encoding="utf-8")
        pages[name] = html
        problems += [f"{out_dir / name}.html: {p}" for p in html_problems(html, supplement)]
        pdf = out_dir / f"{name}.pdf"
        if pdf.read_bytes()[:5] != b"%PDF-":
            problems.append(f"{pdf}: not a PDF")
        else:
            text = _pdf_text(pdf)
            problems += [f"{pdf}: {p}" for p in _unresolved(text) + caption_problems(text, supplement)]
        docx = out_dir / f"{name}.docx"
        if not zipfile.is_zipfile(docx):
            problems.append(f"{docx}: not a Word document")
        else:
            text = _docx_text(docx)
            problems += [f"{docx}: {p}" for p in _unresolved(text) + caption_problems(text, supplement)]
    problems += link_problems(out_dir, pages)
    if problems:
        raise RenderError(f"{len(problems)} problem(s) in the rendered manuscript:\n  " + "\n  ".join(problems))
    return paths


def link_problems(out_dir: Path, pages: dict[str, str]) -> list[str]:
    """Every link from one HTML document to another ('supplement.html#tbl-x') must have its target there."""
    problems = []
    ids = {name: _ids(html) for name, html in pages.items()}
    for name, html in pages.items():
        for m in re.finditer(r'href="(\w+)\.html#([^"]+)"', html):
            target, anchor = m.group(1), m.group(2)
            if target == name:
                continue
            if target not in pages:
                problems.append(f"{out_dir / name}.html: links to {target}.html, which this render does not write")
            elif anchor not in ids[target]:
                problems.append(f"{out_dir / name}.html: links to {target}.html#{anchor}, which has no such id")
    if "supplement" in pages and "index" in pages:
        problems += [f"{out_dir}/index.html: {p}" for p in supplement_reference_problems(pages)]
    return problems


def supplement_numbers(out_dir: Path | None = None, html: str | None = None) -> dict[str, str]:
    """Label -> 'Table S1' as the rendered supplement (HTML) numbers it."""
    if html is None:
        html = (Path(out_dir) / "supplement.html").read_text(encoding="utf-8")
    html = re.sub(r'src="data:[^"]*"', 'src=""', html)  # embedded images would push captions out of reach
    found = {}
    for m in re.finditer(r'id="((?:tbl|fig)-[\w-]+)"', html):
        after = SPACES.sub(" ", html_lib.unescape(re.sub(r"<[^>]+>", "", html[m.end() : m.end() + 3000])))
        number = re.search(r"((?:Table|Figure) S\d+):", after)
        if number and m.group(1) not in found:
            found[m.group(1)] = number.group(1)
    return found


def supplement_reference_problems(pages: dict[str, str]) -> list[str]:
    """The paper's "[Table S2](supplement.html#tbl-x)" must name the number the supplement gives tbl-x."""
    numbers = supplement_numbers(html=pages["supplement"])
    problems = []
    for m in re.finditer(r'<a\b[^>]*href="supplement\.html#((?:tbl|fig)-[\w-]+)"[^>]*>(.*?)</a>', pages["index"]):
        label, text = m.group(1), SPACES.sub(" ", html_lib.unescape(re.sub(r"<[^>]+>", "", m.group(2))))
        if numbers.get(label) != text:
            problems.append(f"the paper calls {label} '{text}', the supplement numbers it {numbers.get(label)!r}")
    return problems


def check_supplement_references(out_dir: Path) -> None:
    """Raise when the paper names a supplementary item by another number than the supplement gives it."""
    out_dir = Path(out_dir)
    pages = {n: (out_dir / f"{n}.html").read_text(encoding="utf-8") for n in ("index", "supplement")}
    problems = supplement_reference_problems(pages)
    if problems:
        raise RenderError("; ".join(problems))
