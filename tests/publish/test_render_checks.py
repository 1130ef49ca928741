"""The render step checks what it wrote, on the Quarto path as on the fallback.

The Quarto CLI is not installed where these tests run, so the Quarto branch is driven by stand-in
``quarto`` executables put first on PATH: one that writes nothing, one that writes only the paper,
one that leaves an earlier render's files, one that fails, and one that writes every document
(copies of the built fallback outputs).  The render step must exit with code 5 (README: rendering
failed) and name what is missing, and never report a file it did not write.  The check functions
themselves are tested on small texts, including the faults Quarto 1.10.18 was seen to produce
(issue 26): "Table S 1:", captions with a non-breaking space, shortcodes left in
``<meta name="citation_abstract">``, "?tbl-meta" references, an HTML page that needs ``site_libs/``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.publish.render import caption_problems, check_rendered, html_problems, link_problems
from analysis.publish.shortcodes import expand, markdown_literal

DOCS = ("index", "supplement")
FORMATS = ("html", "pdf", "docx")


# --- the checks on small inputs ----------------------------------------------------------------


def test_captions_with_non_breaking_spaces_count_as_numbered():
    """Quarto's DOCX writes "Table\u00a01:"; the fallback "Table 1:": both are numbered captions."""
    assert caption_problems("Table\u00a01: a. Table 2: b. Figure\u00a01: c.", supplement=False) == []
    assert caption_problems("Table S1: a. Table\u00a0S2: b. Figure S1: c.", supplement=True) == []


def test_supplement_captions_must_be_s_numbered_without_a_space():
    problems = caption_problems("Table S 1: a. Table S 2: b.", supplement=True)
    assert any("space inside its number" in p for p in problems), problems
    problems = caption_problems("Table 1: a. Figure 1: b.", supplement=True)
    assert any("'Table 1:' is not S-numbered" in p for p in problems), problems


def test_captions_out_of_order_or_absent_are_found():
    assert any("not 1..2" in p for p in caption_problems("Table 2: a. Table 1: b.", supplement=False))
    assert any("no numbered table captions" in p for p in caption_problems("no tables here", supplement=False))


def test_html_metadata_with_shortcodes_or_markdown_fails():
    """Quarto wrote the raw abstract into citation_abstract (issue 26, item 5)."""
    page = (
        '<html><head><meta name="citation_abstract" content="**Background.** {{&lt; var freq.n.all &gt;}} '
        'patients"></head><body><table><caption>Table 1: t</caption></table></body></html>'
    )
    problems = html_problems(page, supplement=False)
    assert any("citation_abstract" in p for p in problems), problems
    assert any("shortcode" in p for p in problems), problems


def test_html_unresolved_reference_and_external_files_fail():
    page = (
        '<html><head><link rel="stylesheet" href="site_libs/bootstrap.min.css"></head><body>'
        '<p>See <strong>?@tbl-meta</strong> and tbl-meta?.</p><img src="figures/a.png">'
        "<table><caption>Table 1: t</caption></table></body></html>"
    )
    problems = html_problems(page, supplement=False)
    assert any("cross-reference" in p for p in problems), problems
    assert any("not self-contained" in p and "site_libs" in p for p in problems), problems


def test_links_between_documents_need_their_target(tmp_path):
    pages = {
        "index": '<a href="supplement.html#tbl-meta">Table S1</a> <a href="supplement.html#tbl-gone">Table S2</a>',
        "supplement": '<div id="tbl-meta"><table><caption>Table S1: m</caption></table></div>'
        '<a href="index.html#sec-methods">section 2</a>',
    }
    problems = link_problems(tmp_path, pages)
    assert any("supplement.html#tbl-gone" in p for p in problems), problems
    assert any("index.html#sec-methods" in p for p in problems), problems
    assert not any("tbl-meta" in p for p in problems), problems


def test_values_with_markdown_characters_are_escaped_and_print_as_computed(tmp_path):
    """'>0.999' is a block quote in Markdown (Quarto printed "0.999", issue 26 item 6): escaped, it prints."""
    import pypandoc

    values = markdown_literal({"p": ">0.999", "q": "<0.001", "n": 3, "c": ["A_B (3/3)"]})
    assert values == {"p": "\\>0.999", "q": "\\<0.001", "n": 3, "c": ["A\\_B (3/3)"]}
    text = expand("{{< var p >}}\n\nx {{< var q >}}", tmp_path, values, tmp_path / "x.qmd")
    html = pypandoc.convert_text(text, "html", format="markdown")
    assert "<blockquote>" not in html
    assert "&gt;0.999" in html and "&lt;0.001" in html


# --- the Quarto branch, with stand-in quarto executables ----------------------------------------


def _manuscript_copy(root: Path, tmp_path: Path) -> Path:
    built = root / "manuscript/_manuscript"
    if not all((built / f"{n}.{x}").is_file() for n in DOCS for x in FORMATS):
        pytest.fail(f"{built} is not built: run `make paper`")
    ms = tmp_path / "manuscript"
    shutil.copytree(root / "manuscript", ms, ignore=shutil.ignore_patterns("_manuscript", "_build", ".quarto"))
    return ms


def _stand_in(tmp_path: Path, script: str) -> dict:
    """A `quarto` executable (a shell script) first on PATH; returns the environment to run with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "quarto"
    exe.write_text("#!/bin/sh\n# stand-in for `quarto render DIR`\n" + script)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _render_step(root: Path, ms: Path, env: dict) -> subprocess.CompletedProcess:
    """The Makefile's render recipe (without its timing wrapper): python -m analysis render --manuscript DIR."""
    return subprocess.run(
        [sys.executable, "-m", "analysis", "render", "--manuscript", str(ms)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.pipeline
def test_quarto_that_writes_nothing_fails_with_exit_5_naming_every_output(root, tmp_path):
    ms = _manuscript_copy(root, tmp_path)
    proc = _render_step(root, ms, _stand_in(tmp_path, "exit 0\n"))
    assert proc.returncode == 5, proc.stderr
    for n in DOCS:
        for x in FORMATS:
            assert f"{n}.{x}" in proc.stderr, (n, x, proc.stderr)
    assert "not written" in proc.stderr
    assert "_manuscript" not in proc.stdout, "a file was reported as written"


@pytest.mark.pipeline
def test_quarto_that_writes_only_the_paper_fails_naming_the_supplement(root, tmp_path):
    """Issue 26 item 1-2: with project type manuscript Quarto wrote no supplement, and the step reported it."""
    ms = _manuscript_copy(root, tmp_path)
    built = root / "manuscript/_manuscript"
    script = f'mkdir -p "$2/_manuscript"\ncp "{built}"/index.html "{built}"/index.pdf "{built}"/index.docx "$2/_manuscript/"\n'
    proc = _render_step(root, ms, _stand_in(tmp_path, script))
    assert proc.returncode == 5, proc.stderr
    message = proc.stderr.split("not written:")[-1]
    for x in FORMATS:
        assert f"supplement.{x}" in message, proc.stderr
        assert f"index.{x}" not in message, proc.stderr
    assert "_manuscript" not in proc.stdout, proc.stdout


@pytest.mark.pipeline
def test_quarto_that_leaves_an_earlier_render_fails(root, tmp_path):
    ms = _manuscript_copy(root, tmp_path)
    built = root / "manuscript/_manuscript"
    (ms / "_manuscript").mkdir()
    for n in DOCS:
        for x in FORMATS:
            shutil.copy2(built / f"{n}.{x}", ms / "_manuscript" / f"{n}.{x}")  # keeps the old times
            os.utime(ms / "_manuscript" / f"{n}.{x}", (1_000_000_000, 1_000_000_000))
    proc = _render_step(root, ms, _stand_in(tmp_path, "exit 0\n"))
    assert proc.returncode == 5, proc.stderr
    assert "earlier render" in proc.stderr and "supplement.pdf" in proc.stderr


@pytest.mark.pipeline
def test_quarto_that_fails_or_warns_fails_the_step(root, tmp_path):
    ms = _manuscript_copy(root, tmp_path)
    proc = _render_step(root, ms, _stand_in(tmp_path, "echo 'ERROR: compilation failed' >&2\nexit 1\n"))
    assert proc.returncode == 5 and "failed with exit code 1" in proc.stderr, proc.stderr
    built = root / "manuscript/_manuscript"
    script = (
        f'mkdir -p "$2/_manuscript"\ncp "{built}"/*.html "{built}"/*.pdf "{built}"/*.docx "$2/_manuscript/"\n'
        "echo '[WARNING] Citeproc: citation tbl-meta not found' >&2\n"
    )
    proc = _render_step(root, ms, _stand_in(tmp_path, script))
    assert proc.returncode == 5 and "citation tbl-meta not found" in proc.stderr, proc.stderr


@pytest.mark.pipeline
def test_quarto_that_writes_every_document_passes_and_reports_them(root, tmp_path):
    """The checks pass on good outputs (the fallback's, copied by the stand-in) and name exactly those."""
    ms = _manuscript_copy(root, tmp_path)
    built = root / "manuscript/_manuscript"
    script = f'mkdir -p "$2/_manuscript"\ncp "{built}"/*.html "{built}"/*.pdf "{built}"/*.docx "$2/_manuscript/"\n'
    proc = _render_step(root, ms, _stand_in(tmp_path, script))
    assert proc.returncode == 0, proc.stderr
    wrote = sorted(line.split()[-1] for line in proc.stdout.splitlines() if "_manuscript" in line)
    assert wrote == sorted(str(ms / "_manuscript" / f"{n}.{x}") for n in DOCS for x in FORMATS), proc.stdout


@pytest.mark.pipeline
def test_rendered_outputs_pass_the_render_checks(root):
    """The built paper and supplement pass the checks the render step ran on them (as in CI)."""
    out = root / "manuscript/_manuscript"
    assert check_rendered(out, list(DOCS), since=0) == [out / f"{n}.{x}" for n in DOCS for x in FORMATS]


def test_front_matter_shortcodes_are_expanded_after_yaml_reads_it(tmp_path):
    """The title takes a variable (main: 'what {{< var freq.n.response_all >}} patients ...'); an escaped value
    ('\\>0.999') substituted into a double-quoted YAML string would be an invalid YAML escape."""
    import yaml

    from analysis.publish.render import expand_document

    text = '---\ntitle: "p {{< var p >}} of {{< var n >}}"\nabstract: |\n  **B.** {{< var p >}}\n---\n\nBody {{< var p >}}.\n'
    out = expand_document(text, tmp_path, markdown_literal({"p": ">0.999", "n": 15}), tmp_path / "x.qmd")
    meta = yaml.safe_load(out.split("---\n")[1])
    assert meta["title"] == "p \\>0.999 of 15" and meta["abstract"].startswith("**B.** \\>0.999")
    assert out.endswith("Body \\>0.999.\n")


def test_meta_shortcode_reads_the_metadata_files_and_fails_on_an_unknown_key(tmp_path):
    from analysis.publish.shortcodes import RenderError

    meta = {"supplement-numbers": {"tbl-meta": "Table S1"}}
    text = "[{{< meta supplement-numbers.tbl-meta >}}](supplement.html#tbl-meta)"
    assert expand(text, tmp_path, {}, tmp_path / "i.qmd", meta=meta) == "[Table S1](supplement.html#tbl-meta)"
    assert expand(text, tmp_path, {}, tmp_path / "i.qmd") == text  # kept until the numbers exist
    with pytest.raises(RenderError, match="unknown metadata 'supplement-numbers.tbl-x'"):
        expand("{{< meta supplement-numbers.tbl-x >}}", tmp_path, {}, tmp_path / "i.qmd", meta=meta)


def test_paper_types_no_supplement_number(root):
    """A new supplementary table shifted 'Table S6' to S7 (main, 2 Dec): the paper takes each number from the
    render step's tables/supplement-numbers.yml ({{< meta >}}), on both paths."""
    import re

    from analysis.publish.narrative import source

    text = source(root / "manuscript/index.qmd")
    assert not re.search(r"(Table|Figure) S\d", text)
    assert "{{< meta supplement-numbers." in text


@pytest.mark.pipeline
def test_supplement_numbers_are_those_the_supplement_prints(root):
    import yaml

    from analysis.publish.render import supplement_numbers

    written = yaml.safe_load((root / "manuscript/tables/supplement-numbers.yml").read_text())["supplement-numbers"]
    printed = supplement_numbers(root / "manuscript/_manuscript")
    assert printed and all(written[label] == number for label, number in printed.items()), (written, printed)
