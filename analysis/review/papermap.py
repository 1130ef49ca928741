"""A map of the paper: for every table and figure, the make step, the results files and the code that made it.

Nothing here is typed: the tables and figures and their labels come from the
Quarto sources (:mod:`analysis.review.paper`); the make step and its command
from the Makefile's rule whose targets hold the file (or, for a figure make
copies, the rule of the file it copies; for a table written at render time,
the rule whose prerequisites hold the module that writes it); the code and the
results files from the functions the publish stage declares for it
(:mod:`analysis.publish.sections`), read from their byte code: the functions
they call and the :class:`~analysis.results.Results` attributes they
use, each attribute mapped to its file by calling it on a recorder.

``python -m analysis map`` prints the map as a Markdown table; ``make docs``
writes it to ``docs/_build/paper-map.md`` and the README lists it (a test
checks the README's copy is current).
"""

from __future__ import annotations

import ast
import dis
import functools
import re
import types
from dataclasses import dataclass
from pathlib import Path

from analysis.results import Results
from analysis.review.paper import Item, read_paper

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "analysis"
START, END = "<!-- paper-map:start (python -m analysis map --readme README.md) -->", "<!-- paper-map:end -->"


# -- the Makefile -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One rule of the Makefile, its variables expanded (make's functions are left as written).

    Parameters
    ----------
    targets, prerequisites : tuple of str
        The files it writes and reads.
    recipe : tuple of str
        Its command lines.
    """

    targets: tuple[str, ...]
    prerequisites: tuple[str, ...]
    recipe: tuple[str, ...]

    @property
    def step(self) -> str:
        """The step's name, as ``analysis.timing`` records it (``$(call TIME,NAME)``), else ``make``."""
        for line in self.recipe:
            m = re.search(r"\$\(call TIME,([\w-]+)\)", line)
            if m:
                return m.group(1)
        return "make"

    @property
    def command(self) -> str:
        """The recipe's command as a reader would type it."""
        line = next((ln for ln in self.recipe if "$(RUN)" in ln), self.recipe[0] if self.recipe else "")
        line = re.sub(r"\$\(call TIME,[\w-]+\)\s*", "", line).replace("$(RUN)", "python -m analysis")
        return line.replace("$@", self.targets[0] if self.targets else "$@").strip()


def read_makefile(path: Path = ROOT / "Makefile") -> list[Rule]:
    """The Makefile's explicit and pattern rules with its ``:=``/``=``/``?=`` variables expanded.

    Parameters
    ----------
    path : Path
        The Makefile.

    Returns
    -------
    list of Rule
        In the order they are written.
    """
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    variables: dict[str, str] = {}
    rules: list[Rule] = []
    current: list | None = None
    for line in text.splitlines():
        if line.startswith("\t"):
            if current is not None:
                current[2].append(line.strip())
            continue
        stripped = line.split("#", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
        if not stripped:
            continue
        m = re.match(r"^(?:export\s+)?([A-Za-z_][\w]*)\s*(:=|\?=|=)\s*(.*)$", stripped)
        if m:
            variables[m.group(1)] = m.group(3)
            current = None
            continue
        m = re.match(r"^([^:=]+?)\s*&?::?\s*(.*)$", stripped)
        if m and not stripped.startswith((".", "ifeq", "endif", "else")):
            current = [m.group(1), m.group(2).split("|")[0], []]
            rules.append(current)  # type: ignore[arg-type]
    expand = _expander(variables)
    return [Rule(tuple(expand(t).split()), tuple(expand(p).split()), tuple(r)) for t, p, r in rules]


def _expander(variables: dict[str, str]):
    def expand(text: str, depth: int = 0) -> str:
        if depth > 20:
            return text
        out = re.sub(r"\$\(([A-Za-z_]\w*)\)", lambda m: variables.get(m.group(1), m.group(0)), text)
        return out if out == text else expand(out, depth + 1)

    return expand


def _rule_for(rules: list[Rule], file: str) -> tuple[Rule, str] | None:
    """The rule that writes ``file``, and how (``writes`` or ``copies FILE``)."""
    for rule in rules:
        if file in rule.targets:
            return rule, "writes"
    for rule in rules:
        for target in rule.targets:
            if "%" in target and re.fullmatch(re.escape(target).replace("%", "(.+)"), file):
                stem = re.fullmatch(re.escape(target).replace("%", "(.+)"), file).group(1)
                source = rule.prerequisites[0].replace("%", stem)
                found = _rule_for(rules, source)
                return (found[0], f"copied from {source}") if found else (rule, "copies")
    return None


# -- the code ---------------------------------------------------------------------------------------------------
def code_called(fn) -> list[str]:
    """The ``analysis`` functions a function calls, following the helpers of its own module.

    Parameters
    ----------
    fn : function
        A table, figure or variables function of :mod:`analysis.publish.sections`.

    Returns
    -------
    list of str
        Qualified names (``analysis.publish.frequentist.estimates_table``), in the order the code names them.
    """
    found: list[str] = []
    seen: set = set()

    def visit(f) -> None:
        if f in seen:
            return
        seen.add(f)
        codes = [f.__code__]
        while codes:
            code = codes.pop(0)
            codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
            previous = None
            for ins in dis.get_instructions(code):
                if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                    obj = f.__globals__.get(ins.argval)
                    if isinstance(obj, types.FunctionType) and obj.__module__.startswith("analysis"):
                        if obj.__module__ == fn.__module__:
                            visit(obj)
                        else:
                            found.append(f"{obj.__module__}.{obj.__qualname__}")
                    previous = obj
                    continue
                if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and isinstance(previous, types.ModuleType):
                    obj = getattr(previous, ins.argval, None)
                    if isinstance(obj, types.FunctionType) and obj.__module__.startswith("analysis"):
                        found.append(f"{obj.__module__}.{obj.__qualname__}")
                previous = None

    visit(fn)
    return list(dict.fromkeys(found))


def _attributes_used(fn) -> set[str]:
    """The attributes a function (and its module's helpers it calls) reads off a local name, e.g. ``r.estimates``."""
    names: set[str] = set()
    seen: set = set()
    stack = [fn]
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        codes = [f.__code__]
        while codes:
            code = codes.pop()
            codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
            previous = None
            for ins in dis.get_instructions(code):
                if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and previous in ("LOAD_FAST", "LOAD_DEREF"):
                    names.add(ins.argval)
                if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                    obj = f.__globals__.get(ins.argval)
                    if isinstance(obj, types.FunctionType) and obj.__module__ == fn.__module__:
                        stack.append(obj)
                previous = ins.opname
    return names


class _Stop(Exception):
    pass


class _Recorder(Results):
    """Records the results file an attribute reads, without reading it."""

    def __init__(self):
        super().__init__(Path("."))
        self.read: list[str] = []

    def path(self, name: str) -> Path:
        self.read.append(name)
        raise _Stop


def results_read(maker) -> list[str]:
    """The results files a section's table, figure or variables function reads (from its code).

    Parameters
    ----------
    maker : callable
        A function of a :class:`~analysis.results.Results`, as declared in
        :mod:`analysis.publish.sections`.

    Returns
    -------
    list of str
        Results file names relative to ``results/``: ``bayes/MODEL.nc`` for a model's posterior draws,
        ``timings/*.json`` for the build's timings.
    """
    names = _attributes_used(maker)
    files: list[str] = []
    for attr in sorted(names):
        if attr == "root" and any(c.endswith(".build_times") for c in code_called(maker)):
            files.append("timings/*.json")
        if attr == "posterior":
            files.append("bayes/MODEL.nc")
        member = Results.__dict__.get(attr)
        if not hasattr(member, "func"):  # a cached_property: one results file
            continue
        recorder = _Recorder()
        try:
            getattr(recorder, attr)
        except _Stop:
            pass
        files += recorder.read
    return sorted(dict.fromkeys(files))


def _names_file(value: str, file: str) -> bool:
    return value == file or value.endswith("/" + file)


@functools.cache
def _package_trees() -> tuple[tuple[str, ast.Module], ...]:
    return tuple(
        (".".join(p.relative_to(ROOT).with_suffix("").parts), ast.parse(p.read_text(encoding="utf-8")))
        for p in sorted((PACKAGE / "publish").rglob("*.py"))
    )


def _writers_of(file: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(module, function, files it names) of every public function of the publish stage whose strings name ``file``.

    The publish stage (``analysis/publish``) writes every table and figure of the paper; other packages may name
    the same files to show or read them (the studio app shows the OC figure), and do not make them.

    A string names it when it is the file's name or path (``"tables/barg-checklist.md"``, directly or through
    a module constant) or an f-string with a fixed part that fits it (``f"oc-{name}.png"``).
    """
    found = []
    for module, tree in _package_trees():
        constants = {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and _names_file(node.value.value, file)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if any(
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and _names_file(sub.value, file)
                or isinstance(sub, ast.Name)
                and sub.id in constants
                or isinstance(sub, ast.JoinedStr)
                and _fstring_matches(sub, file)
                for sub in ast.walk(node)
            ):
                reads = tuple(
                    sub.value
                    for sub in ast.walk(node)
                    if isinstance(sub, ast.Constant)
                    and isinstance(sub.value, str)
                    and re.fullmatch(r"[\w./-]+\.(yml|yaml|csv|json|qmd)", sub.value)
                )
                found.append((module, node.name, tuple(dict.fromkeys(reads))))
    return found


def _fstring_matches(node: ast.JoinedStr, file: str) -> bool:
    """Whether an f-string can be the file's name: its fixed parts, beyond the extension, fit it."""
    fixed = [v.value for v in node.values if isinstance(v, ast.Constant)]
    suffix = Path(file).suffix
    if not fixed or not fixed[-1].endswith(suffix) or not any(len(part.replace(suffix, "")) >= 2 for part in fixed):
        return False
    pattern = "".join(re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in node.values)
    return re.fullmatch(pattern, file) is not None


# -- the map ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One table or figure of the paper and what made it.

    Parameters
    ----------
    item : Item
        The table or figure (label, id, document, file).
    step : str
        The make step (as ``results/timings/`` names it).
    command : str
        The step's command.
    how : str
        ``writes`` or ``copied from FILE``.
    results : tuple of str
        The results files it is drawn from (relative to the project).
    code : tuple of str
        The functions that compute it.
    """

    item: Item
    step: str
    command: str
    how: str
    results: tuple[str, ...]
    code: tuple[str, ...]


def paper_map(manuscript: Path = ROOT / "manuscript", makefile: Path = ROOT / "Makefile") -> list[Entry]:
    """Every table and figure of the paper with its make step, results files and code.

    Parameters
    ----------
    manuscript : Path
        The Quarto sources (``index.qmd``, ``supplement.qmd``) and their generated ``tables/``.
    makefile : Path
        The Makefile whose rules write them.

    Returns
    -------
    list of Entry
        In the order of the paper, then the supplement.
    """
    from analysis.publish.sections import SECTIONS

    rules = read_makefile(makefile)
    makers = {}
    for s in SECTIONS:
        makers |= {("table", n): f for n, f in s.tables.items()}
        makers |= {("figure", n): f for n, f in s.figures.items()}
    entries = []
    for item in read_paper(manuscript).items:
        file = f"manuscript/{item.file}"
        found = _rule_for(rules, file)
        maker = makers.get((item.kind, item.name))
        if maker is not None:
            code = tuple(code_called(maker))
            results = tuple(f"results/{f}" for f in results_read(maker))
        else:
            writers = _writers_of(Path(item.file).name if item.kind == "table" else f"{item.name}.png")
            code = tuple(f"{m}.{f}" for m, f, _ in writers)
            results = tuple(dict.fromkeys(r for _, _, reads in writers for r in reads))
            if found and found[1].startswith("copied from "):
                results = (found[1].removeprefix("copied from "),)
            if found is None:  # written at render time: by the rule that depends on the module writing it
                modules = [m.replace(".", "/") + ".py" for m, _, _ in writers]
                rule = next((r for r in rules for m in modules if m in r.prerequisites), None)
                found = (rule, "writes (at render time)") if rule else None
        if found is None:
            entries.append(Entry(item, "?", "", "no make rule writes it", results, code))
            continue
        rule, how = found
        entries.append(Entry(item, rule.step, rule.command, how, results, code))
    return entries


def format_markdown(entries: list[Entry]) -> str:
    """The map as a Markdown table, with each step's command below it.

    Parameters
    ----------
    entries : list of Entry
        From :func:`paper_map`.

    Returns
    -------
    str
        The table and the list of step commands.
    """

    def cell(values) -> str:
        return "<br>".join(f"`{v}`" for v in values) or "(none: from the data files)"

    lines = [
        "| Table or figure | Make step | Results files | Code |",
        "|:---|:---|:---|:---|",
    ]
    for e in entries:
        what = f"{e.item.label} (`{e.item.id}`, {'supplement' if e.item.document == 'supplement' else 'paper'})"
        step = f"`{e.step}`" + (f", {e.how}" if e.how != "writes" else "")
        lines.append(f"| {what} | {step} | {cell(e.results)} | {cell(e.code)} |")
    steps = {e.step: e.command for e in entries}
    lines.append("")
    lines += [f"- `{step}`: `{command}`" for step, command in steps.items()]
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, text: str) -> bool:
    """Replace the README's paper-map block with ``text``; whether it changed.

    Parameters
    ----------
    readme : Path
        The README, holding the block between the start and end markers.
    text : str
        The new block (from :func:`format_markdown`).

    Returns
    -------
    bool
        ``True`` when the README was rewritten.
    """
    from analysis.io import write_text

    old = readme.read_text(encoding="utf-8")
    if START not in old or END not in old:
        raise ValueError(f"{readme}: no paper-map block (lines {START!r} ... {END!r})")
    head, rest = old.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{text}{END}{tail}"
    if new != old:
        write_text(readme, new)
    return new != old


def readme_block(readme: Path) -> str:
    """The paper-map block the README holds now (between the markers).

    Parameters
    ----------
    readme : Path
        The README.

    Returns
    -------
    str
        The block's text, empty when the README has none.
    """
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return ""
    return text.split(START, 1)[1].split(END, 1)[0].removeprefix("\n")


__all__ = [
    "Entry",
    "Rule",
    "code_called",
    "format_markdown",
    "paper_map",
    "read_makefile",
    "readme_block",
    "results_read",
    "update_readme",
]
