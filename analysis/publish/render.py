"""Render the Quarto manuscript (paper and supplement) to HTML, PDF and DOCX.

With Quarto on PATH this is ``quarto render manuscript`` (``_quarto.yml`` lists
the documents, formats, filters, CSL style and Typst preamble).  Without it,
the same sources are rendered with pandoc (from ``pypandoc-binary``) and Typst
(the ``typst`` package), with the options read from ``_quarto.yml``:

1. ``{{< include >}}`` and ``{{< var >}}`` shortcodes are expanded from the
   files the pipeline wrote; an unknown variable or a missing include fails.
2. pandoc with ``filters/crossref.lua`` (figure and table numbers, "S1" in the
   supplement), citeproc (numbered citations in the journal's CSL style) and
   ``filters/tables.lua`` (the house style of tables and figures) writes
   standalone HTML, DOCX and Typst source (with ``preamble.typ``).
3. Typst compiles the PDF.

Before either path, the BARG checklist of the supplement is written
(:mod:`analysis.publish.checklist`).  Any unresolved shortcode,
cross-reference or citation fails the build, as does a reference from the
paper to a supplementary table or figure whose number is not the one the
supplement gives it; outputs are written atomically, so a failed render leaves
the previous outputs or none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from analysis.io import atomic_path
from analysis.settings import MANUSCRIPT

SHORTCODE = re.compile(r"\{\{<\s*(\w+)\s+([^>]*?)\s*>\}\}")


class RenderError(RuntimeError):
    pass


def _lookup(variables: dict, key: str, source: Path):
    node = variables
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise RenderError(f"{source}: unknown variable '{key}' (not in _variables.yml)")
        node = node[part]
    if isinstance(node, dict):
        raise RenderError(f"{source}: variable '{key}' is a group, not a value")
    return node


def expand(text: str, base: Path, variables: dict, source: Path, depth: int = 0) -> str:
    """Expand Quarto's include and var shortcodes the way Quarto does."""
    if depth > 10:
        raise RenderError(f"{source}: includes nested more than 10 deep")

    def sub(m: re.Match) -> str:
        name, arg = m.group(1), m.group(2).strip()
        if name == "var":
            return str(_lookup(variables, arg, source))
        if name == "include":
            path = base / arg
            if not path.is_file():
                raise RenderError(f"{source}: included file not found: {path}")
            return expand(path.read_text(encoding="utf-8"), path.parent, variables, path, depth + 1)
        raise RenderError(f"{source}: shortcode '{name}' is not supported by the fallback renderer")

    out = SHORTCODE.sub(sub, text)
    if "{{<" in out:
        raise RenderError(f"{source}: malformed shortcode left after expansion")
    return out


def _pandoc(args: list[str], cwd: Path) -> None:
    import pypandoc

    proc = subprocess.run([pypandoc.get_pandoc_path(), *args], cwd=cwd, capture_output=True, text=True)
    problems = [ln for ln in proc.stderr.splitlines() if "WARNING" in ln or "crossref" in ln or "rror" in ln]
    if proc.returncode != 0 or problems:
        raise RenderError("pandoc failed:\n" + (proc.stderr.strip() or f"exit {proc.returncode}"))


def with_visible_keywords(text: str) -> str:
    """Put the front matter's keywords under the abstract as a visible line (Quarto shows them itself)."""
    if not text.startswith("---"):
        return text
    _, front, body = text.split("---", 2)
    keywords = (yaml.safe_load(front) or {}).get("keywords") or []
    if not keywords:
        return text
    return f"---{front}---\n\n**Keywords:** {'; '.join(map(str, keywords))}\n{body}"


FORMATS = ("html", "pdf", "docx")


def quarto_config(manuscript: Path) -> dict:
    path = Path(manuscript) / "_quarto.yml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def documents(manuscript: Path) -> list[str]:
    """The documents the project renders (``project.render`` of _quarto.yml), as stems: index, supplement."""
    listed = quarto_config(manuscript).get("project", {}).get("render") or ["index.qmd"]
    return [Path(d).stem for d in listed if (Path(manuscript) / d).is_file()]


def _typst_metadata(config: dict) -> dict:
    typst_opts = config.get("format", {}).get("typst", {}) or {}
    return {
        k: typst_opts[k] for k in ("papersize", "margin", "fontsize", "mainfont", "page-numbering") if k in typst_opts
    }


def render_document(
    manuscript: Path, name: str, build: Path, out_dir: Path, config: dict, variables: dict
) -> list[Path]:
    import typst

    src = manuscript / f"{name}.qmd"
    text = with_visible_keywords(expand(src.read_text(encoding="utf-8"), manuscript, variables, src))
    (build / f"{name}.md").write_text(text, encoding="utf-8")
    (build / f"{name}-typst.yaml").write_text(yaml.safe_dump(_typst_metadata(config)), encoding="utf-8")
    common = [f"{name}.md", "--from", "markdown", "--lua-filter", str(manuscript / "filters" / "crossref.lua")]
    bib = manuscript / config.get("bibliography", "references.bib")
    common += ["--citeproc", "--bibliography", str(bib), "--metadata", "link-citations=true"]
    if config.get("csl"):
        common += ["--csl", str(manuscript / config["csl"])]
    for f in config.get("filters") or []:
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
    # pandoc's Typst template writes keywords unquoted (invalid Typst); they are shown in the text instead
    typst_args += ["-M", "keywords="]
    # the three pandoc runs are independent processes: run them at once (the build's last step, cores to spare)
    with ThreadPoolExecutor(3) as pool:
        runs = [
            pool.submit(_pandoc, [*common, *args, "--output", f"{name}.{ext}"], build)
            for ext, args in (("html", html_args), ("docx", docx_args), ("typ", typst_args))
        ]
        for run in runs:
            run.result()
    outputs = []
    for ext in ("html", "docx"):
        with atomic_path(out_dir / f"{name}.{ext}") as tmp:
            shutil.copyfile(build / f"{name}.{ext}", tmp)
        outputs.append(out_dir / f"{name}.{ext}")
    with atomic_path(out_dir / f"{name}.pdf") as tmp:
        try:
            typst.compile(str(build / f"{name}.typ"), output=str(tmp), root=str(build))
        except Exception as err:  # typst raises its own error type
            raise RenderError(f"typst failed on {build / f'{name}.typ'}: {err}") from err
    outputs.append(out_dir / f"{name}.pdf")
    return outputs


def render_fallback(manuscript: Path = MANUSCRIPT) -> list[Path]:
    manuscript = Path(manuscript).resolve()
    var_file = manuscript / "_variables.yml"
    if not var_file.is_file():
        raise RenderError(f"{var_file} is missing: run the pipeline first (make paper)")
    variables = yaml.safe_load(var_file.read_text(encoding="utf-8")) or {}
    config = quarto_config(manuscript)
    build = manuscript / "_build"
    out_dir = manuscript / "_manuscript"
    if build.exists():
        shutil.rmtree(build)
    build.mkdir(parents=True)
    if (manuscript / "figures").is_dir():
        shutil.copytree(manuscript / "figures", build / "figures")
    out_dir.mkdir(parents=True, exist_ok=True)
    names = documents(manuscript)
    with ThreadPoolExecutor(len(names)) as pool:  # the documents are independent
        runs = [pool.submit(render_document, manuscript, n, build, out_dir, config, variables) for n in names]
        outputs = [path for run in runs for path in run.result()]
    for name in names:
        check_outputs(out_dir, name)
    if "supplement" in names:
        check_supplement_references(out_dir)
    return outputs


def check_outputs(out_dir: Path, name: str = "index") -> None:
    """Fail when an unresolved shortcode or reference reached the HTML."""
    html = (out_dir / f"{name}.html").read_text(encoding="utf-8")
    for pattern, what in (
        (r"\{\{<", "shortcode"),
        (r"\?(fig|tbl|sec)-", "cross-reference"),
        (r"@(fig|tbl)-", "cross-reference"),
        (r'class="citation"[^>]*>\s*\(?\?\?', "citation"),
    ):
        m = re.search(pattern, html)
        if m:
            raise RenderError(
                f"{out_dir / f'{name}.html'}: unresolved {what} near {html[m.start() : m.start() + 60]!r}"
            )


def supplement_numbers(out_dir: Path) -> dict[str, str]:
    """Label -> 'Table S1' as the rendered supplement (HTML) numbers it."""
    html = (out_dir / "supplement.html").read_text(encoding="utf-8")
    html = re.sub(r'src="data:[^"]*"', 'src=""', html)  # embedded images would push captions out of reach
    found = {}
    for m in re.finditer(r'id="((?:tbl|fig)-[\w-]+)"', html):
        after = re.sub(r"<[^>]+>", "", html[m.end() : m.end() + 3000])
        number = re.search(r"((?:Table|Figure) S\d+):", after)
        if number and m.group(1) not in found:
            found[m.group(1)] = number.group(1)
    return found


def check_supplement_references(out_dir: Path) -> None:
    """Every "[Table S2](supplement.html#tbl-x)" of the paper must name the number the supplement gives tbl-x."""
    numbers = supplement_numbers(out_dir)
    html = (out_dir / "index.html").read_text(encoding="utf-8")
    for m in re.finditer(r'<a href="supplement\.html#((?:tbl|fig)-[\w-]+)"[^>]*>([^<]*)</a>', html):
        label, text = m.group(1), " ".join(m.group(2).replace("\u00a0", " ").split())  # pandoc may wrap inside
        if numbers.get(label) != text:
            raise RenderError(f"the paper calls {label} '{text}', the supplement numbers it {numbers.get(label)!r}")


def render(manuscript: Path = MANUSCRIPT, force_fallback: bool = False) -> list[Path]:
    from analysis.publish import checklist

    manuscript = Path(manuscript)
    if (manuscript / "supplement.qmd").is_file() and (manuscript / "_variables.yml").is_file():
        print(f"wrote {checklist.write(manuscript)}")
    quarto = shutil.which("quarto")
    if quarto and not force_fallback:
        subprocess.run([quarto, "render", str(manuscript)], check=True)
        return [manuscript / "_manuscript" / f"{n}.{ext}" for n in documents(manuscript) for ext in FORMATS]
    print("Quarto is not on PATH: rendering the same sources with pandoc and Typst instead.")
    return render_fallback(manuscript)
