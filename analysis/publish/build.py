"""Stage 5's build step: every table, figure and quoted number the sections declare, from ``results/``."""

from __future__ import annotations

from pathlib import Path

from analysis.io import write_text
from analysis.provenance import differences
from analysis.publish.format import write_yaml
from analysis.publish.results import MissingResultError, Results
from analysis.publish.sections import SECTIONS
from analysis.publish.shortcodes import markdown_literal


class StaleResultsError(MissingResultError):
    """The results were computed from other data or code than the current ones."""


def check_provenance(r: Results) -> None:
    """Refuse results whose ``provenance.json`` records other data checksums or another code hash.

    Parameters
    ----------
    r : Results
        The results folder.

    Raises
    ------
    StaleResultsError
        Naming the file and every difference; ``make paper`` rebuilds such results (the Makefile forces every
        step when the record disagrees with inputs that make sees as older).
    """
    found = differences(r.provenance)
    if found:
        raise StaleResultsError(
            f"{r.path('provenance.json')}: the results were computed from other data or code ({'; '.join(found)}); "
            "rebuild them (make paper), never render them"
        )


def build_figures(results: Path, out: Path) -> list[Path]:
    r, out = Results(results), Path(out)
    check_provenance(r)
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
    check_provenance(r)
    outputs = {
        manuscript / "tables" / f"{name}.md": make(r) for section in SECTIONS for name, make in section.tables.items()
    }
    variables = {key: make(r) for key, make in (s.variables for s in SECTIONS if s.variables)}
    for path, text in outputs.items():
        write_text(path, text)
    # Quarto reads each value as Markdown: escaped, '>0.999' prints as such instead of as a block quote
    write_yaml(manuscript / "_variables.yml", markdown_literal(variables))
    return [*outputs, manuscript / "_variables.yml"]
