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
    "analysis.logitnormal": 0,
    "analysis.limits": 0,
    "analysis.progress": 0,
    "analysis.results": 0,
    "analysis.data": 1,
    "analysis.frequentist": 2,
    "analysis.bayes": 3,
    "analysis.priors": 4,
    "analysis.basket": 5,
    "analysis.publish": 6,
    "analysis.errors": 7,
    "analysis.review": 7,
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


def _is_module(name: str) -> bool:
    path = PKG.parent / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (imports for type hints only: they never run)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def _imports(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports: at the top, inside functions, classes and conditionals
    (all run at some point), resolving ``from analysis.x import y`` to the module ``analysis.x.y`` when ``y`` is
    one; not the imports under ``if TYPE_CHECKING:``, which never run."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; the layout test reads absolute imports only")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "analysis":
            found.add(node.module)
            for alias in node.names:  # `from analysis.bayes import models` imports a module
                if _is_module(f"{node.module}.{alias.name}"):
                    found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "analysis"}
    return found


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def test_every_module_belongs_to_a_stage():
    for name in MODULES:
        assert any(name == k or name.startswith(k + ".") for k in STAGES if k != "analysis") or name == "analysis", name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_pipeline(name):
    for target in _imports(MODULES[name]):
        assert _stage(target) <= _stage(name), (
            f"{name} (stage {_stage(name)}) imports {target} (stage {_stage(target)})"
        )


def _graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (any import that runs, :func:`_imports`).

    A package's ``__init__`` importing its own submodules is how a package exports, not a circle: parent -> child
    edges are left out (a child -> parent edge, a submodule importing its package's exports, stays in)."""
    graph = {name: {t for t in _imports(path) if t in MODULES and t != name} for name, path in MODULES.items()}
    return {n: {t for t in ts if not t.startswith(n + ".")} for n, ts in graph.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules in order, the first repeated at the end), or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for t in sorted(graph.get(n, ())):
            if state.get(t) == 1:
                return [*stack[stack.index(t) :], t]
            if t not in state and (found := visit(t)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def _tool_imports(path: Path) -> set[str]:
    """The modules of ``tools/`` (benchmarks, compare, reproduce) that ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {n for n in names if n.split(".")[0] == "tools"}
    return found


def test_the_library_imports_no_tool(tmp_path):
    """Benchmarks, compare and reproduce live in ``tools/``, outside the importable library: they import it, it
    never imports them (the CLI's verbs load them by name, from the checkout, only when run)."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from tools.bench import run\n    import tools.compare\n")
    assert _tool_imports(path) == {"tools.bench", "tools.compare"}, "the reader sees imports inside functions"
    offenders = {name: _tool_imports(p) for name, p in MODULES.items() if _tool_imports(p)}
    assert not offenders, offenders


#: import circles known and being broken by their owners (each edge drawn from the later module to the earlier
#: one is taken out; the test fails when such a circle is gone, so that this list cannot go stale)
KNOWN_CYCLES = {
    ("analysis.basket.interim", "analysis.basket.design"): "interim.py imports design helpers inside functions",
}


def test_no_import_cycles():
    """No module imports, directly or through others, one that imports it: also not through imports inside
    functions (a circle there works only as long as nobody moves the import to the top)."""
    graph = _graph()
    for a, b in KNOWN_CYCLES:
        assert b in graph.get(a, set()) and _cycle({a: {b}, b: graph.get(b, set()) & {a}}), f"{a} <-> {b} is gone"
        graph[a] = graph[a] - {b}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_sees_imports_inside_functions(tmp_path):
    """The reader finds an import inside a function and the check reports the circle it closes (the
    data.schema <-> data.characteristics circle ran through such an import); type-checking imports never run."""
    path = tmp_path / "m.py"
    path.write_text("import analysis.io\n\ndef f():\n    from analysis.data import schema\n    return schema\n")
    assert {"analysis.io", "analysis.data", "analysis.data.schema"} <= _imports(path)
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from analysis import cli\n")
    assert _imports(path) == set()
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    graph = _graph()
    graph["analysis.data.schema"] = graph["analysis.data.schema"] | {"analysis.data.characteristics"}
    assert _cycle(graph) is not None, "the old circle, put back, is found"


#: modules over MAX_LINES, each with the reason it is still one module (the test also fails when one of them is
#: shortened, so that this list cannot go stale)
MAX_LINES = 500
LONG_MODULES = {
    "analysis/priors/mixture.py": "Beta, Normal and Gamma mixtures: one class hierarchy of three families",
    "analysis/priors/spec.py": "the priors spec file's runner: MAP priors, designs and their records in one pass",
    "analysis/cli.py": "the parser and a handler per verb; the handlers are to move beside the steps they run",
    "analysis/review/diff.py": "the review diff of two builds, new and not split yet",
    "analysis/basket/design.py": "the basket designer's OC (its methods are already one file each), new",
    "analysis/publish/render.py": "rendering by Quarto or pandoc + Typst and the checks of what they wrote, new",
    "analysis/studio/model.py": "the design studio's fields, files and OC cache, new",
    "analysis/studio/app.py": "the design studio's Shiny app: one server function, new",
}


def test_no_module_is_several_modules():
    """A module over ~500 lines is usually several modules (the engine and sampling were): every module of the
    package stays under the bound, apart from the listed ones."""
    lengths = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in PKG.rglob("*.py")}
    long = {name for name, n in lengths.items() if n > MAX_LINES}
    assert long <= set(LONG_MODULES), {name: lengths[name] for name in long - set(LONG_MODULES)}
    assert set(LONG_MODULES) <= long, f"no longer over {MAX_LINES} lines: drop from LONG_MODULES"


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


def test_makefile_lists_the_generated_sections():
    from analysis.publish.narrative import FRONT, SECTION_FILES, SECTIONS_DIR

    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    m = re.search(r"^REPORT_SECTIONS := \$\(foreach s,(.*?),manuscript/_sections/\$\(s\)\.md\) (\S+)$", text, re.M)
    assert m, "Makefile has no REPORT_SECTIONS list"
    assert m.group(1).split() == list(SECTION_FILES)
    assert m.group(2) == f"manuscript/{SECTIONS_DIR}/{FRONT}"


def test_manuscript_includes_every_declared_table_and_figure():
    from analysis.publish.narrative import source
    from analysis.publish.sections import SECTIONS

    # the paper's and the supplement's sources with the generated sections they include (manuscript/_sections)
    qmd = source(ROOT / "manuscript/index.qmd") + source(ROOT / "manuscript/supplement.qmd")
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
    from analysis.publish.build import save_figure
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
    save_figure(figures.shrinkage(post), tmp_path / "shrinkage.png")
    save_figure(figures.forest(post, ["bayes-independent", "bayes-jeffreys"]), tmp_path / "forest.png")
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
    with pytest.raises(PriorError, match=r"parameter 'mu'.*use one of \['Normal', 'Uniform'\]"):
        DEFAULT_MODELS["exnex"].with_priors(mu=Prior("Beta", (1, 1)))
    with pytest.raises(ValueError, match="finite"):
        Prior("Normal", (0, float("nan")))


def test_the_developer_documents_layout_names_every_module_and_only_real_folders():
    """docs/DEVELOPING.md's layout block (issue 20: "the layout section matches the tree") names every package
    and top-level module of analysis/ and tools/, and every folder it names at the start of a line exists."""
    text = (ROOT / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    block = re.search(r"## Layout\n.*?```\n(.*?)```", text, flags=re.S).group(1)
    for pkg in ("analysis", "tools"):
        for p in sorted((ROOT / pkg).iterdir()):
            name = p.name if p.is_dir() else p.stem
            if name.startswith(("_", ".")) or (p.is_file() and p.suffix != ".py"):
                continue
            assert re.search(rf"\b{re.escape(name)}\b", block), f"{pkg}/{p.name} is missing from the layout block"
    named = re.findall(r"^\s{0,2}([a-z_]+)/", block, flags=re.M)
    assert len(named) >= 10
    for folder in named:
        assert (ROOT / folder).is_dir() or (ROOT / "analysis" / folder).is_dir(), f"the layout names {folder}/"
