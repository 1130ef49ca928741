"""The reviewer's diff (``python -m analysis diff``): every changed number, its old and new value and its places."""

import re
import shutil
from html.parser import HTMLParser

import pandas as pd
import pytest
import yaml

from analysis.cli import main
from analysis.review.diff import diff, format_html, format_text
from analysis.review.paper import VAR, flatten, inlined, read_paper

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def built(root):
    if not (root / "manuscript/_variables.yml").is_file() or not (root / "results/estimates.csv").is_file():
        pytest.fail("the paper is not built: run `make test` (it runs `make paper` first)")
    return root


def _copy_paper(root, dest):
    """A built paper's numbers: _variables.yml and the generated tables."""
    dest.mkdir()
    shutil.copy(root / "manuscript/_variables.yml", dest / "_variables.yml")
    shutil.copytree(root / "manuscript/tables", dest / "tables")
    shutil.copytree(root / "manuscript/figures", dest / "figures")
    return dest


def _set(variables: dict, name: str, value: str) -> str:
    *path, last = name.split(".")
    node = variables
    for p in path:
        node = node[p]
    old, node[last] = node[last], value
    return str(old)


def _label(root, kind: str, name: str) -> str:
    """What the rendered paper calls a generated table or figure ("Table S1"): numbers move when the paper does."""
    return read_paper(root / "manuscript").item(kind, name).label


def _quotes(root, name: str) -> int:
    """How often the sources (text and the generated tables they include) quote ``name``: counted by hand."""
    texts = [
        inlined(root / "manuscript/index.qmd"),
        inlined(root / "manuscript/supplement.qmd"),
        *(p.read_text() for p in (root / "manuscript/tables").glob("*.md")),
    ]
    return sum(len(re.findall(r"\{\{<\s*var\s+" + re.escape(name) + r"\s*>\}\}", t)) for t in texts)


def test_identical_builds_differ_in_nothing(built, capsys):
    assert main(["diff", str(built / "manuscript"), str(built / "manuscript")]) == 0
    assert "no number differs" in capsys.readouterr().out
    # the paper computed from the results is the paper that was built from them
    report = diff(built / "results", built / "manuscript")
    assert not report.differs, format_text(report)
    assert report.compared["variables"] > 1000 and report.compared["table cells"] > 1000


def test_a_changed_variables_file_lists_every_changed_number_with_its_places(built, tmp_path, capsys):
    new = _copy_paper(built, tmp_path / "new")
    variables = yaml.safe_load((new / "_variables.yml").read_text())
    # a prior change as the paper would state it, and the numbers it moves: quoted in the abstract, in the
    # methods, in the results, in a table row (the BARG checklist quotes the seed), and not at all
    changed = {
        "bayes.priors.hierarchical.tau": "HalfNormal(0.5)",
        "bayes.hierarchical.IIM.estimate": "0.87",
        "freq.n.response_SLE": "9",
        "bayes.diag.seed": "1",
    }
    unquoted = next(k for k in flatten(variables) if _quotes(built, k) == 0)
    changed[unquoted] = "changed"
    old = {name: _set(variables, name, value) for name, value in changed.items()}
    (new / "_variables.yml").write_text(yaml.safe_dump(variables, allow_unicode=True))
    table = (new / "tables/bayes.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| IIM"))
    cells = row.split("|")
    cells[4] = " 0.87 [0.94] (0.60–1.00) "
    (new / "tables/bayes.md").write_text(table.replace(row, "|".join(cells)))

    html = tmp_path / "diff.html"
    assert main(["diff", str(built / "manuscript"), str(new), "--html", str(html)]) == 1
    out = capsys.readouterr().out
    report = diff(built / "manuscript", new)
    found = {c.name: c for c in report.changes if c.kind == "variable"}
    assert set(found) == set(changed)
    for name, value in changed.items():
        c = found[name]
        assert (c.old, c.new) == (old[name], value)
        assert f"{name}: {old[name]} -> {value}" in out
        n = _quotes(built, name)
        if n == 0:
            assert c.places == ["not quoted in the paper"]
            continue
        assert len(c.places) == n, (name, c.places)
        assert all(f"[{old[name]} -> {value}]" in p for p in c.places), c.places
    where = " / ".join(found["bayes.hierarchical.IIM.estimate"].places)
    assert "index: Abstract" in where and "index: Sensitivity analyses: borrowing across diseases" in where
    barg = read_paper(built / "manuscript").item("table", "barg-checklist")
    assert found["bayes.diag.seed"].places[-1].startswith(f"supplement: {barg.label}, row 6C")
    assert "index: Statistical analysis" in found["bayes.priors.hierarchical.tau"].places[0]
    cells = [c for c in report.changes if c.kind == "cell"]
    assert len(cells) == 1
    bayes = _label(built, "table", "bayes")
    assert cells[0].name == f"{bayes} (tbl-bayes, supplement) [IIM | Hierarchical]"
    assert cells[0].new == "0.87 [0.94] (0.60–1.00)" and cells[0].old.startswith(old["bayes.hierarchical.IIM.estimate"])

    page = html.read_text()
    text = _PageText()
    text.feed(page)
    assert "<script" not in page and "src=" not in page and "http" not in page  # self-contained
    for name in changed:
        assert name in text.text
    assert f"{bayes} (tbl-bayes, supplement) [IIM | Hierarchical]" in text.text


class _PageText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = ""

    def handle_data(self, data):
        self.text += data


def test_changed_results_reach_the_quoted_numbers_tables_figures_and_results_files(built, tmp_path):
    new = tmp_path / "results"
    shutil.copytree(built / "results", new, ignore=shutil.ignore_patterns("*.nc", "map_draws.npz"))
    est = pd.read_csv(new / "estimates.csv")
    row = (
        (est["analysis"] == "bayes")
        & (est["method"] == "bayes-hierarchical")
        & (est["group"] == "IIM")
        & (est["endpoint"] == "response")
    )
    assert row.sum() == 1
    est.loc[row, "estimate"] -= 0.05
    est.to_csv(new / "estimates.csv", index=False)

    report = diff(built / "results", new)
    assert report.differs
    variables = {c.name: c for c in report.changes if c.kind == "variable"}
    assert set(variables) == {"bayes.hierarchical.IIM.estimate"}
    c = variables["bayes.hierarchical.IIM.estimate"]
    assert float(c.old) - float(c.new) == pytest.approx(0.05, abs=0.011)  # two decimals
    assert len(c.places) == _quotes(built, c.name)
    cells = [c.name for c in report.changes if c.kind == "cell"]
    bayes = _label(built, "table", "bayes")
    assert cells == [f"{bayes} (tbl-bayes, supplement) [IIM | Hierarchical]"]
    figures = [c.name for c in report.changes if c.kind == "figure"]
    shrinkage = _label(built, "figure", "shrinkage")
    assert "Figure 1 (fig-bayes, index)" in figures and f"{shrinkage} (fig-shrinkage, supplement)" in figures
    assert all("reads" not in f for f in figures)
    results = [c for c in report.changes if c.kind == "result"]
    assert len(results) == 1 and results[0].name.startswith("estimates.csv: analysis=bayes, method=bayes-hierarchical")
    assert results[0].name.endswith(", estimate")
    assert bayes in format_html(report)


def test_reproduce_view_shows_the_paper_numbers_a_reference_change_moves(built, tmp_path, capsys):
    from analysis.review.diff import reproduce_view

    reference = tmp_path / "reference"  # as make reference would write it from these results
    for name in (built / "reference").rglob("*.*"):
        rel = name.relative_to(built / "reference")
        (reference / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(built / "results" / rel, reference / rel)
    assert "no number differs" in reproduce_view(reference, built / "results")
    meta = pd.read_csv(reference / "frequentist/meta.csv")
    meta.loc[0, "estimate"] = 0.5
    meta.to_csv(reference / "frequentist/meta.csv", index=False)
    view = reproduce_view(reference, built / "results")
    assert f"{_label(built, 'table', 'meta')} (tbl-meta, supplement)" in view and "Results files" not in view
    # make reproduce's comparison prints the same view when something differs
    assert main(["reproduce", "--reference", str(reference), "--results", str(built / "results")]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "the paper's numbers, reference -> rebuild:" in out
    assert out.rstrip().endswith(view.rstrip().splitlines()[-1])


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda tmp: tmp / "missing", "no such folder"),
        (lambda tmp: tmp, "neither a results folder"),
        (lambda tmp: (tmp / "x.txt").write_text("x") and tmp / "x.txt", "a file; expected"),
        (lambda tmp: (tmp / "_variables.yml").write_text("a: [") and tmp, "not a readable variables file"),
    ],
)
def test_a_folder_that_is_no_build_is_a_one_line_error(built, tmp_path, capsys, make, expected):
    path = make(tmp_path)
    assert main(["diff", str(path), str(built / "manuscript"), "--html", str(tmp_path / "d.html")]) == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and str(path) in err
    assert not (tmp_path / "d.html").exists()


def test_every_var_shortcode_is_read(built):
    """The places come from every shortcode of the sources (a count by another method: the regex above)."""
    from analysis.review.paper import read_paper

    paper = read_paper(built / "manuscript")
    names = set()
    for text in [
        inlined(built / "manuscript/index.qmd"),  # with the generated sections (manuscript/_sections)
        inlined(built / "manuscript/supplement.qmd"),
        *(p.read_text() for p in (built / "manuscript/tables").glob("*.md")),
    ]:
        names |= set(VAR.findall(text))
    assert set(paper.places) == names
    assert sum(map(len, paper.places.values())) == sum(_quotes(built, n) for n in names)
