"""The PRISMA checklist points at the supplement's tables by label, never by a typed number, and the flow of
the records names the files of the data folder it counted.

Its answers said "Flow of the records (Table S10)" while the flow table was Table S15 of the paper's supplement
(S10 was the basket trial's calibration) and Table S8 of a cohort's report: supplement numbers depend on which
sections a report has, so only the render step can write them.
"""

from __future__ import annotations

import re

import pytest

from analysis.data import load_characteristics, load_cohorts
from analysis.publish import evidence
from analysis.publish.checklist import defined_labels
from analysis.publish.evidence import prisma_table
from analysis.settings import ROOT

SUPPLEMENT = ROOT / "manuscript" / "supplement.qmd"


def test_the_prisma_answers_type_no_table_or_figure_number():
    table = prisma_table()
    assert not re.search(r"\b(Table|Figure) S?\d", table), table


def test_every_table_the_prisma_answers_cite_is_in_the_supplement():
    cited = set(re.findall(r"@((?:tbl|fig)-[\w-]+)", prisma_table()))
    assert {"tbl-flow", "tbl-meta"} <= cited
    defined = defined_labels(SUPPLEMENT)
    if not defined & cited:
        pytest.skip("no built tables: run `make paper` first")
    assert cited <= defined, sorted(cited - defined)


def test_the_flow_names_the_files_of_the_data_folder_it_counted(monkeypatch):
    """A cohort's report said it counted `data/raw/published_cohorts.csv`, the paper's file, not its own."""
    folder = ROOT / "tests" / "data" / "two_group"
    flow = evidence.flow(load_cohorts(folder / "published_cohorts.csv"),
                         load_characteristics(folder / "study_characteristics.csv"))  # fmt: skip
    monkeypatch.setattr(evidence, "DATA_RAW", folder)
    caption = evidence.flow_table(flow).splitlines()[-1]
    assert "`tests/data/two_group/published_cohorts.csv`" in caption
    assert "data/raw" not in caption
