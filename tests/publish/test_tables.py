"""No table of the paper or the supplement repeats a row (second review, issue 25, point 9).

The calibration table listed the rows of the vague design's own type I error (0.058) again under a second
target label, because that error is also what alpha = 0.1 calibrates to: the same rule, shown twice.
"""

from __future__ import annotations

import re

import pytest

from analysis.publish.priors import design_calibration_table
from analysis.settings import ROOT

TABLES = ROOT / "manuscript/tables"
_RULE = re.compile(r"^\|[\s:|-]+\|$")


def table_rows(text: str) -> list[tuple[str, ...]]:
    """The body rows of the pipe tables in ``text``, as tuples of stripped cells (header and rule left out)."""
    rows, header_seen = [], False
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header_seen = False  # a new table starts after any other line
            continue
        if _RULE.match(line):
            continue
        if not header_seen:
            header_seen = True
            continue
        rows.append(tuple(c.strip() for c in line.strip("|").split("|")))
    return rows


def duplicated(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    seen, dups = set(), []
    for r in rows:
        if r in seen:
            dups.append(r)
        seen.add(r)
    return dups


def test_the_check_finds_a_repeated_row():
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n| 1 | 2 |\n\n: caption {#tbl-x}\n"
    assert duplicated(table_rows(text)) == [("1", "2")]
    assert duplicated(table_rows(text.replace("| 1 | 2 |\n\n", "| 5 | 6 |\n\n"))) == []


@pytest.mark.parametrize("path", sorted(TABLES.glob("*.md")) or [None], ids=lambda p: getattr(p, "name", "none"))
def test_no_built_table_repeats_a_row(path):
    if path is None:
        pytest.skip("no built tables: run `make paper` first")
    rows = table_rows(path.read_text(encoding="utf-8"))
    assert duplicated(rows) == [], f"{path.name}: repeated rows {duplicated(rows)}"


def _designs(match_type1: float) -> dict:
    """A design whose alpha = 0.1 target and vague-matched target calibrate to the same rule when
    ``match_type1`` is 0.058 (the numbers of the paper's SLE design)."""

    def row(target, alpha, prior, c, type1):
        return dict(target=target, alpha=alpha, prior=prior, c=c, boundary=14, type1=type1, power=0.913, p1=0.8,
                    expected_n_null=13.8)  # fmt: skip

    match = "type I error of 'vague' at c = 0.95"
    rows = [row("alpha = 0.1", 0.1, p, c, 0.058) for p, c in (("primary", 0.9467), ("vague", 0.9054))]
    rows += [row(match, match_type1, p, c, match_type1) for p, c in (("primary", 0.9467), ("vague", 0.9054))]
    return {"d": {"n": 20, "labels": {"primary": "Robust MAP", "vague": "Vague"}, "calibration": rows}}


def test_calibration_table_joins_targets_that_give_the_same_rule():
    md = design_calibration_table(_designs(0.058))
    rows = table_rows(md)
    assert len(rows) == 2 and duplicated([r[1:] for r in rows]) == []
    assert rows[0][0] == "alpha = 0.1; type I error of 'vague' at c = 0.95"


def test_calibration_table_keeps_targets_that_give_different_rules():
    rows = table_rows(design_calibration_table(_designs(0.021)))
    assert len(rows) == 4
    assert [r[0] for r in rows] == ["alpha = 0.1"] * 2 + ["type I error of 'vague' at c = 0.95"] * 2
