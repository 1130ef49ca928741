"""Render the Quarto manuscript to HTML and PDF.

With Quarto on PATH this is ``quarto render manuscript``.  Without it, the
same sources are rendered with pandoc (from ``pypandoc-binary``) and Typst
(the ``typst`` package):

1. ``{{< include >}}`` and ``{{< var >}}`` shortcodes are expanded from the
   files the pipeline wrote; an unknown variable or a missing include fails.
2. pandoc with ``filters/crossref.lua`` (figure and table numbers) and
   citeproc (bibliography) writes standalone HTML and Typst source.
3. Typst compiles the PDF.

Any unresolved shortcode, cross-reference or citation fails the build, and
outputs are written atomically, so a failed render leaves the previous
outputs or none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
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


def render_fallback(manuscript: Path = MANUSCRIPT) -> list[Path]:
    import typst

    manuscript = Path(manuscript).resolve()
    src = manuscript / "index.qmd"
    var_file = manuscript / "_variables.yml"
    if not var_file.is_file():
        raise RenderError(f"{var_file} is missing: run the pipeline first (make paper)")
    variables = yaml.safe_load(var_file.read_text(encoding="utf-8")) or {}
    text = with_visible_keywords(expand(src.read_text(encoding="utf-8"), manuscript, variables, src))
    build = manuscript / "_build"
    out_dir = manuscript / "_manuscript"
    if build.exists():
        shutil.rmtree(build)
    build.mkdir(parents=True)
    (build / "index.md").write_text(text, encoding="utf-8")
    if (manuscript / "figures").is_dir():
        shutil.copytree(manuscript / "figures", build / "figures")
    common = [
        "index.md",
        "--from",
        "markdown",
        "--lua-filter",
        str(manuscript / "filters" / "crossref.lua"),
        "--citeproc",
        "--bibliography",
        str(manuscript / "references.bib"),
        "--standalone",
        "--metadata",
        "link-citations=true",
    ]
    csl = manuscript / "vancouver.csl"
    if csl.is_file():
        common += ["--csl", str(csl)]
    _pandoc(
        [
            *common,
            "--to",
            "html5",
            "--embed-resources",
            "--toc",
            "--number-sections",
            "--css",
            str(manuscript / "style.css"),
            "--output",
            "index.html",
        ],
        build,
    )
    # pandoc's Typst template writes keywords unquoted (invalid Typst); they are shown in the text instead
    _pandoc([*common, "--to", "typst", "--number-sections", "-M", "keywords=", "--output", "index.typ"], build)
    outputs = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "index.html") as tmp:
        shutil.copyfile(build / "index.html", tmp)
    outputs.append(out_dir / "index.html")
    with atomic_path(out_dir / "index.pdf") as tmp:
        try:
            typst.compile(str(build / "index.typ"), output=str(tmp), root=str(build))
        except Exception as err:  # typst raises its own error type
            raise RenderError(f"typst failed on {build / 'index.typ'}: {err}") from err
    outputs.append(out_dir / "index.pdf")
    check_outputs(out_dir)
    return outputs


def check_outputs(out_dir: Path) -> None:
    """Fail when an unresolved shortcode or reference reached the HTML."""
    html = (out_dir / "index.html").read_text(encoding="utf-8")
    for pattern, what in (
        (r"\{\{<", "shortcode"),
        (r"\?(fig|tbl|sec)-", "cross-reference"),
        (r"@(fig|tbl)-", "cross-reference"),
        (r'class="citation"[^>]*>\s*\(?\?\?', "citation"),
    ):
        m = re.search(pattern, html)
        if m:
            raise RenderError(f"{out_dir / 'index.html'}: unresolved {what} near {html[m.start() : m.start() + 60]!r}")


def render(manuscript: Path = MANUSCRIPT, force_fallback: bool = False) -> list[Path]:
    quarto = shutil.which("quarto")
    if quarto and not force_fallback:
        subprocess.run([quarto, "render", str(manuscript)], check=True)
        return [manuscript / "_manuscript" / "index.html", manuscript / "_manuscript" / "index.pdf"]
    print("Quarto is not on PATH: rendering the same sources with pandoc and Typst instead.")
    return render_fallback(manuscript)
