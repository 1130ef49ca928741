"""The publish stage's steps and their writers: the combined estimates (``combine``), and every table, figure
and quoted number the sections declare, from ``results/`` (``report``, ``figures``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.io import atomic_path, write_csv, write_text
from analysis.provenance import differences
from analysis.publish.combine import combine
from analysis.publish.format import write_yaml
from analysis.publish.shortcodes import markdown_literal
from analysis.results import MissingResultError, Results


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


def build_estimates(inputs: list[Path], out: Path) -> pd.DataFrame:
    """The ``combine`` step: the steps' estimates files (:func:`~analysis.publish.combine.combine`) written to
    ``out`` (atomically: a refused input leaves no file).

    Parameters
    ----------
    inputs : list of Path
        The steps' estimates files, each once.
    out : Path
        The combined table (``results/estimates.csv``).

    Returns
    -------
    pandas.DataFrame
        The combined table.
    """
    df = combine(inputs)
    write_csv(out, df)
    return df


def save_figure(fig, path: Path) -> Path:
    """Write a figure of :mod:`analysis.publish.figures` as PNG (atomically), refusing text below the house minimum.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; closed once written.
    path : Path
        Where it goes.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        When a text of the figure is set below :data:`analysis.publish.figures.MIN_FONT`.
    """
    import matplotlib.pyplot as plt

    from analysis.publish.figures import DPI, MIN_FONT, too_small

    small = too_small(fig)
    if small:
        plt.close(fig)
        raise ValueError(f"{Path(path).name}: text smaller than {MIN_FONT} pt: {small[:5]}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)
    return Path(path)


#: a basket table of a report whose data the basket design is not for (included by nothing)
NO_BASKET = "<!-- no basket design for this cohort's groups (analysis.publish.basket.own_design) -->\n"


def _own_basket(r: Results) -> bool:
    from analysis.data import load_index
    from analysis.publish.basket import own_design

    return own_design(r.basket_design, load_index()["group"])


def build_figures(results: Path, out: Path) -> list[Path]:
    from analysis.publish.sections import SECTIONS  # here: the combine step needs none of the sections' imports

    r, out = Results(results), Path(out)
    check_provenance(r)
    written = []
    own = _own_basket(r)
    for section in SECTIONS:
        if section.name == "basket" and not own:  # the paper's design in another cohort's results
            continue
        for name, draw in section.figures.items():
            written.append(save_figure(draw(r), out / f"{name}.png"))
    return written


def compute_report(r: Results) -> tuple[dict, dict[str, str], dict[str, str], dict]:
    """What the report step writes, in memory: the variables (escaped as Markdown, with the ``report`` group),
    the tables by name, the generated sections by name and the sources of the ``report`` group.

    Raises
    ------
    analysis.publish.study.StudyError
        The study metadata file is missing or invalid, or its prose quotes a variable that does not exist.
    """
    from analysis.publish import narrative, statements
    from analysis.publish.sections import SECTIONS

    variables = {key: make(r) for key, make in (s.variables for s in SECTIONS if s.variables)}
    foreign = not _own_basket(r)
    if foreign:  # the paper's basket design, copied into another cohort's results: nothing of it is kept
        variables.pop("basket", None)
        variables["claims"] = {k: x for k, x in variables.get("claims", {}).items() if not k.startswith("basket_")}
    # Quarto reads each value as Markdown: escaped, '>0.999' prints as such instead of as a block quote
    variables = markdown_literal(variables)
    generated, report, front = narrative.build(r, variables, statements.authors())
    variables["report"] = report  # Markdown already, its quoted numbers escaped above
    with narrative.overlay(generated, front):  # the declarations' checks read the prose these sections hold
        tables = {
            name: NO_BASKET if foreign and section.name == "basket" else make(r)
            for section in SECTIONS
            for name, make in section.tables.items()
        }
    return variables, tables, generated, front


def build_report(results: Path, manuscript: Path) -> list[Path]:
    """Write every declared table, the generated sections (``_sections/``) and ``_variables.yml``; nothing is
    written unless all of them build (a study file quoting an unknown variable stops the step, naming both)."""
    import yaml

    from analysis.publish import narrative

    r, manuscript = Results(results), Path(manuscript)
    check_provenance(r)
    variables, tables, generated, front = compute_report(r)
    outputs = {manuscript / "tables" / f"{name}.md": text for name, text in tables.items()}
    sections = manuscript / narrative.SECTIONS_DIR
    outputs |= {sections / f"{name}.md": generated[name] for name in narrative.SECTION_FILES}
    outputs[sections / narrative.FRONT] = "# Written by `python -m analysis report`; do not edit.\n" + yaml.safe_dump(
        front, allow_unicode=True, sort_keys=False, width=1000
    )
    for path, text in outputs.items():
        write_text(path, text)
    write_yaml(manuscript / "_variables.yml", variables)
    return [*outputs, manuscript / "_variables.yml"]
