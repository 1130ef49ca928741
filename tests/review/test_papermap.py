"""The map of the paper: every table and figure of the built paper, with the step, results files and code."""

import importlib
import json
import re
import shutil

import pytest

from analysis.review.papermap import format_markdown, paper_map, read_makefile, readme_block


@pytest.fixture(scope="module")
def entries(root):
    return paper_map(root / "manuscript", root / "Makefile")


def _built_ids(root) -> set[str]:
    ids = set()
    for doc in ("index", "supplement"):
        html = root / f"manuscript/_manuscript/{doc}.html"
        if not html.is_file():
            pytest.fail("the paper is not built: run `make test` (it runs `make paper` first)")
        ids |= set(re.findall(r'id="((?:tbl|fig)-[\w-]+)"', html.read_text(encoding="utf-8")))
    return ids


@pytest.mark.pipeline
def test_every_table_and_figure_of_the_built_paper_is_in_the_map(root, entries):
    assert _built_ids(root) == {e.item.id for e in entries}
    # labels as the rendered paper prints them (e.g. "<strong>Table 5:</strong>" before the table's caption)
    html = (root / "manuscript/_manuscript/index.html").read_text(encoding="utf-8")
    for e in entries:
        if e.item.document == "index" and e.item.kind == "table":
            assert f"<strong>{e.item.label}:</strong>" in html, e.item


@pytest.mark.pipeline
def test_every_entry_names_a_step_that_ran_results_that_exist_and_code_that_exists(root, entries):
    steps = {p.stem for p in (root / "results/timings").glob("*.json")}  # written by each step as it runs
    for e in entries:
        assert e.step in steps, e
        assert e.command.startswith("python -m analysis "), e
        assert e.code, e
        for ref in e.code:
            module, _, name = ref.rpartition(".")
            assert callable(getattr(importlib.import_module(module), name)), ref
        for f in e.results:
            if f.startswith("results/") and "*" not in f and "MODEL" not in f:
                assert (root / f).is_file(), (e.item.id, f)
    by_id = {e.item.id: e for e in entries}
    assert by_id["tbl-estimates"].results == ("results/estimates.csv",)
    assert by_id["tbl-estimates"].code == ("analysis.publish.frequentist.estimates_table",)
    assert by_id["fig-map"].step == "priors" and by_id["fig-map"].how.startswith("copied from results/priors/")
    assert by_id["tbl-barg"].step == "render"
    timings = json.loads((root / "results/timings/report.json").read_text())
    assert timings  # the report step records its run under the name the map gives it


def test_the_readme_lists_the_current_map(root, entries):
    assert readme_block(root / "README.md") == format_markdown(entries), (
        "the README's paper map is out of date: run `python -m analysis map --readme README.md`"
    )


def test_a_table_no_rule_writes_is_flagged(root, tmp_path):
    manuscript = tmp_path / "manuscript"
    shutil.copytree(root / "manuscript", manuscript, ignore=shutil.ignore_patterns("_manuscript", "figures"))
    (manuscript / "tables/extra.md").write_text("| a |\n|:-|\n| 1 |\n\n: An extra table. {#tbl-extra}\n")
    qmd = manuscript / "supplement.qmd"
    qmd.write_text(qmd.read_text() + "\n{{< include tables/extra.md >}}\n")
    entries = paper_map(manuscript, root / "Makefile")
    extra = [e for e in entries if e.item.id == "tbl-extra"]
    tables = [e for e in entries if e.item.document == "supplement" and e.item.kind == "table"]
    assert len(extra) == 1 and extra[0].step == "?" and not extra[0].code
    assert extra[0].item.label == f"Table S{len(tables)}"


def test_makefile_rules_expand_the_lists(root):
    rules = read_makefile(root / "Makefile")
    report = next(r for r in rules if "manuscript/tables/estimates.md" in r.targets)
    assert report.step == "report" and "results/estimates.csv" in report.prerequisites
