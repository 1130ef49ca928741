"""Stage 5's build step: every table, figure and quoted number the sections declare, from ``results/``."""

from __future__ import annotations

from pathlib import Path

from analysis.io import write_text
from analysis.publish.format import write_yaml
from analysis.publish.results import Results
from analysis.publish.sections import SECTIONS
from analysis.publish.shortcodes import markdown_literal


def build_figures(results: Path, out: Path) -> list[Path]:
    r, out = Results(results), Path(out)
    written = []
    for section in SECTIONS:
        for name, draw in section.figures.items():
            path = out / f"{name}.png"
            draw(r, path)
            written.append(path)
    return written


def build_report(results: Path, manuscript: Path) -> list[Path]:
    """Write every declared table and ``_variables.yml``; nothing is written unless all of them build."""
    r, manuscript = Results(results), Path(manuscript)
    outputs = {
        manuscript / "tables" / f"{name}.md": make(r) for section in SECTIONS for name, make in section.tables.items()
    }
    variables = {key: make(r) for key, make in (s.variables for s in SECTIONS if s.variables)}
    for path, text in outputs.items():
        write_text(path, text)
    # Quarto reads each value as Markdown: escaped, '>0.999' prints as such instead of as a block quote
    write_yaml(manuscript / "_variables.yml", markdown_literal(variables))
    return [*outputs, manuscript / "_variables.yml"]
