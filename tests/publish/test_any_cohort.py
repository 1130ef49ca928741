"""The code names no study and no disease of the Erlangen paper, except where listed below (issue 24: a report
for any cohort); the BARG checklist picks its groups, design and prior from the results."""

import ast
import re
from pathlib import Path

from analysis.publish.checklist import slots

ROOT = Path(__file__).resolve().parents[2]
#: the Erlangen study, its centre and its three diseases, as whole words or inside identifiers ('hierarchical_SLE')
WORDS = re.compile(r"(?<![A-Za-z0-9])(MULLER24|Erlangen|SLE|IIM|SSc)(?![A-Za-z])", re.IGNORECASE)

#: (file, literal) pairs that still name the Erlangen paper, each with why; shrink it, never grow it.
ALLOWED = {}


def _literals(path: Path):
    """Every string constant of a module that is not a docstring (f-strings' constant parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def _found() -> list[tuple[str, int, str]]:
    hits = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, text in _literals(path):
            if WORDS.search(text):
                hits.append((rel, line, text))
    return hits


def _matches(part: str, text: str) -> bool:
    """A bare label ('IIM') allows that literal only; a longer entry, the literals that contain it."""
    return part == text or (len(part) > 4 and part in text)


def _allowed(rel: str, text: str) -> bool:
    return any(f == rel and _matches(part, text) for f, part in ALLOWED)


def test_no_study_or_disease_of_the_paper_in_the_code():
    unexpected = [f"{rel}:{line}: {text[:80]!r}" for rel, line, text in _found() if not _allowed(rel, text)]
    assert not unexpected, "the paper's study or diseases written in code:\n" + "\n".join(unexpected)


def test_every_allowance_is_still_needed():
    """An entry of ALLOWED that matches nothing is removed, so that the list only shrinks."""
    hits = _found()
    stale = [key for key in ALLOWED if not any(rel == key[0] and _matches(key[1], text) for rel, _, text in hits)]
    assert not stale, stale


def test_the_grep_sees_identifiers_and_f_strings(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""SLE in a docstring is prose."""\nX = f"p = {{var bayes.ppc.hierarchical_SLE}} {1}"\n')
    assert [WORDS.search(t).group(1) for _, t in _literals(path) if WORDS.search(t)] == ["SLE"]


def _variables(groups: dict[str, tuple[int, int]], sens: dict[str, tuple[str, str]]) -> dict:
    return {
        "freq": {
            "n": {f"response_{g}": n for g, (n, _) in groups.items()},
            "events": {f"response_{g}": x for g, (_, x) in groups.items()},
        },
        "bayes": {
            "ppc": {f"{m}_{g}": "0.5" for m in ("hierarchical", "pooled") for g in groups},
            "sens": {g: {"min_estimate": lo, "max_estimate": hi} for g, (lo, hi) in sens.items()} | {"n_scenarios": 3},
        },
        "priors": {
            "design": {
                "trial": {"priors": {"primary": {"type1": "0.05"}, "a": {"type1": "0.12"}, "b": {"type1": "0.08"}}}
            }
        },
    }


def test_checklist_answers_follow_the_groups_of_the_data():
    """A two-group cohort (6 ANCA vasculitis patients, 5 responders; 4 myasthenia gravis, 4 responders)."""
    v = _variables({"AAV": (6, 5), "MG": (4, 4)}, {"AAV": ("0.70", "0.80"), "MG": ("0.60", "0.90")})
    s = slots(v)
    # every group's p-value (the checklist is where they are reported), in the data's group order
    assert s["ppc"] == (
        "hierarchical model, upper-tail p = {{< var bayes.ppc.hierarchical_AAV >}} for AAV, "
        "{{< var bayes.ppc.hierarchical_MG >}} for MG; little power where all patients respond (MG)"
    )
    assert "{{< var priors.design.trial.priors.primary.type1 >}}" in s["oc"]
    assert "up to {{< var priors.design.trial.priors.a.type1 >}}" in s["oc"]
    assert s["sens"].startswith("; MG posterior mean {{< var bayes.sens.MG.min_estimate >}}")
    v = _variables({"AAV": (6, 5), "MG": (4, 3)}, {"AAV": ("0.70", "0.90"), "MG": ("0.60", "0.70")})
    s = slots(v)
    assert s["ppc"] == (  # no group where every patient responded: no remark on power
        "hierarchical model, upper-tail p = {{< var bayes.ppc.hierarchical_AAV >}} for AAV, "
        "{{< var bayes.ppc.hierarchical_MG >}} for MG"
    )
    assert "AAV posterior mean" in s["sens"]
