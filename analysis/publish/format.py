"""Formatting for the manuscript: numbers as a journal prints them, pipe tables, the variables file.

The manuscript never types a statistic: every number in its prose is a
``{{< var key >}}`` shortcode resolved from ``_variables.yml``, and every
table is a Markdown file included with ``{{< include >}}``; both are written
from the results files only, with these formatters.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import yaml

from analysis.io import write_text
from analysis.settings import NEW_GROUP, TOTAL


def group_name(g: str) -> str:
    """A group's name in tables: the label from the data, 'All' for the whole cohort, 'New disease'."""
    return {TOTAL: "All", NEW_GROUP: "New disease"}.get(g, g)


def prop(x: float, digits: int = 2) -> str:
    """A proportion for prose and tables ('0.63'); 'n/a' for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def pct(x: float, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.{digits}f}%"


def pval(p: float) -> str:
    """A p-value as a journal prints it."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


# An interval is one unbreakable unit: an en dash held to both limits by word joiners (U+2060), so no
# renderer (browser, Typst, Word) breaks a line inside it; a minus sign is U+2212, as journals print it.
EN_DASH = "\u2013"
WORD_JOINER = "\u2060"
INTERVAL_DASH = WORD_JOINER + EN_DASH + WORD_JOINER


def signed(text: str) -> str:
    """A number's text with a typographic minus sign, so '-0.5' reads '\u22120.5' and no dash is ambiguous."""
    return text.replace("-", "\u2212") if text.startswith("-") else text


def ci(lo: float, hi: float) -> str:
    """An interval for tables, '0.76\u20131.00': an en dash between the limits, never broken across lines."""
    return f"{signed(prop(lo))}{INTERVAL_DASH}{signed(prop(hi))}"


def plain(text: str) -> str:
    """Text as a reader sees it: word joiners dropped (for tests and searches)."""
    return text.replace(WORD_JOINER, "")


def md_table(df: pd.DataFrame, caption: str, label: str, align: str | None = None) -> str:
    """A pipe table with a Quarto caption line ``: caption {#tbl-label}``."""
    cols = list(df.columns)
    align = align or "l" + "r" * (len(cols) - 1)
    # pandoc takes relative column widths from the dashes of the rule line (when rows are long), so the
    # dashes follow the longest word of the header and the longest cell of each column
    widths = [max([max(len(w) for w in str(c).split()) + 2] + [len(str(v)) + 4 for v in df[c]]) for c in cols]
    rule = [("-" * (w - 1) + ":") if a == "r" else (":" + "-" * (w - 1)) for w, a in zip(widths, align)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + f"\n\n: {caption} {{#{label}}}\n"


def write_yaml(path: Path, obj: dict) -> None:
    write_text(
        path,
        "# Written by `python -m analysis report`; do not edit.\n"
        + yaml.safe_dump(obj, sort_keys=True, allow_unicode=True),
    )


def ess_text(value: float | None) -> str:
    """An effective sample size for prose and tables; 'undefined' where the method does not apply."""
    return "undefined" if value is None else f"{value:.1f}"
