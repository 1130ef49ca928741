"""The package layout shows the pipeline: imports point down it, never up, and nothing is declared twice."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "analysis"

#: pipeline order; a module may import from its own stage or an earlier one
STAGES = {
    "analysis.settings": 0,
    "analysis.io": 0,
    "analysis.provenance": 0,
    "analysis.timing": 0,
    "analysis.limits": 0,
    "analysis.progress": 0,
    "analysis.data": 1,
    "analysis.frequentist": 2,
    "analysis.bayes": 3,
    "analysis.priors": 4,
    "analysis.basket": 5,
    "analysis.publish": 6,
    "analysis.compare": 7,
    "analysis.errors": 7,
    "analysis.reproduce": 7,
    "analysis.review": 7,
    "analysis.bench": 7,
    "analysis.studio": 7,
    "analysis.cli": 8,
    "analysis.__main__": 9,
    "analysis": 9,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _stage(module: str) -> int:
    best = max((k for k in STAGES if module == k or module.startswith(k + ".")), key=len)
    return STAGES[best]


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analysis"):
            found.add(node.module)
            for alias in node.names:  # `from analysis.bayes import models` imports a module
                if (PKG.parent / (node.module + "." + alias.name).replace(".", "/")).with_suffix(".py").is_file():
                    found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("analysis")}
    return found


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def test_every_module_belongs_to_a_stage():
    for name in MODULES:
        assert any(name == k or name.startswith(k + ".") for k in STAGES if k != "analysis") or name == "analysis", name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_pipeline(name):
    for target in _imports(MODULES[name], top_level_only=False):
        assert _stage(target) <= _stage(name), (
            f"{name} (stage {_stage(name)}) imports {target} (stage {_stage(target)})"
        )


def test_no_import_cycles():
    graph = {
        name: {t for t in _imports(path, top_level_only=True) if t in MODULES and t != name}
        for name, path in MODULES.items()
    }
    # a package's __init__ importing its own submodules is how packages export; skip parent -> child edges
    graph = {n: {t for t in ts if not t.startswith(n + ".")} for n, ts in graph.items()}
    state: dict[str, int] = {}

    def visit(n, stack):
        state[n] = 1
        for t in graph[n]:
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack, n, t]))
            if t not in state:
                visit(t, [*stack, n])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [])


def test_no_flat_modules_left():
    flat = sorted(p.name for p in PKG.glob("*.py"))
    assert flat == [
        "__init__.py",
        "__main__.py",
        "bench.py",
        "cli.py",
        "compare.py",
        "errors.py",
        "io.py",
        "progress.py",
        "provenance.py",
        "reproduce.py",
        "settings.py",
        "timing.py",
    ]


def _make_list(name: str) -> list[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    m = re.search(rf"^{name} :=(.*)$", text, flags=re.M)
    assert m, f"Makefile has no {name} list"
    return m.group(1).split()


def test_makefile_lists_match_the_section_declarations():
    from analysis.publish.sections import copied_figure_files, figure_files, table_files

    assert sorted(_make_list("REPORT")) == sorted(["manuscript/_variables.yml", *table_files()])
    assert sorted(_make_list("FIGS")) == sorted(figure_files())
    assert sorted(_make_list("PRIOR_FIGS")) == sorted(copied_figure_files())


def test_manuscript_includes_every_declared_table_and_figure():
    from analysis.publish.sections import SECTIONS

    qmd = (ROOT / "manuscript/index.qmd").read_text() + (ROOT / "manuscript/supplement.qmd").read_text()
    for s in SECTIONS:
        for name in s.tables:
            assert f"tables/{name}.md" in qmd, name
        for name in [*s.figures, *s.copied]:
            assert f"figures/{name}.png" in qmd, name


# -- a new model is one class plus one registry line ------------------------------------------
def _toy_class():
    from analysis.bayes.models import Independent
    from analysis.bayes.prior import Prior

    @dataclass(frozen=True)
    class Jeffreys(Independent):
        """A toy model for this test: independent Jeffreys Beta(0.5, 0.5) priors."""

        kind: ClassVar[str] = "jeffreys"
        label: ClassVar[str] = "Jeffreys (toy)"
        long_label: ClassVar[str] = "Bayes: Jeffreys toy"
        default_priors: ClassVar[dict] = {"p": Prior("Beta", (0.5, 0.5))}
        pooling: ClassVar[float] = 0.1

    return Jeffreys


@pytest.fixture
def toy():
    from analysis.bayes import models

    cls = models.register(_toy_class())
    yield cls
    models.unregister(cls.kind)


def test_a_registered_model_reaches_results_tables_figures_and_cli(toy, tmp_path):
    from analysis.bayes import models
    from analysis.bayes.step import run
    from analysis.cli import _models, build_parser
    from analysis.publish import bayes as pub
    from analysis.publish import figures
    from analysis.settings import MCMC

    chosen = {k: models.DEFAULT_MODELS[k] for k in ("independent", "jeffreys")}
    est = run(out_dir=tmp_path, mcmc=MCMC(draws=200, chains=2), models=chosen)
    rows = est[(est["method"] == "bayes-jeffreys") & (est["analysis"] == "bayes")].set_index("group")
    # exact Beta(0.5 + 8, 0.5) posterior mean for 8/8
    assert rows.loc["SLE", "estimate"] == pytest.approx(8.5 / 9, rel=1e-12)
    table = pub.bayes_table(est)
    assert "Jeffreys (toy)" in table.splitlines()[0]
    assert figures.method_label("bayes-jeffreys") == "Bayes: Jeffreys toy"
    post = est[est["analysis"] == "bayes"]
    figures.shrinkage(post, tmp_path / "shrinkage.png")
    figures.forest(post, tmp_path / "forest.png", ["bayes-independent", "bayes-jeffreys"])
    assert (tmp_path / "forest.png").stat().st_size > 1000
    args = build_parser().parse_args(["bayes", "--model", "jeffreys", "--prior", "p=Beta(1, 1)"])
    assert _models(args)["jeffreys"].priors["p"].params == (1.0, 1.0)
    pred = pd.read_csv(tmp_path / "prior_predictive.csv").set_index("model")
    assert np.isclose(pred.loc["jeffreys", "mean"], 0.5, atol=0.01)


def test_priors_are_checked_against_the_parameter_support():
    from analysis.bayes.models import DEFAULT_MODELS, PriorError
    from analysis.bayes.prior import Prior

    with pytest.raises(PriorError, match=r"parameter 'p': Normal\(2, 3\) has support the real line.*Beta"):
        DEFAULT_MODELS["independent"].with_priors(p=Prior("Normal", (2, 3)))
    with pytest.raises(PriorError, match=r"parameter 'tau'.*needs a prior on positive values"):
        DEFAULT_MODELS["hierarchical"].with_priors(tau=Prior("Normal", (0, 1)))
    with pytest.raises(PriorError, match=r"parameter 'mu'.*use one of \['Normal'\]"):
        DEFAULT_MODELS["exnex"].with_priors(mu=Prior("Beta", (1, 1)))
    with pytest.raises(ValueError, match="finite"):
        Prior("Normal", (0, float("nan")))
