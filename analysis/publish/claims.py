"""Computed statements: the words of a comparative or quantified sentence, derived from its numbers.

A sentence such as "the type I error reaches 0.132 wherever borrowing changes the boundary" states
a relation (here: every value equals the maximum) that nobody computed, and it was false (the values
range from 0.107 to 0.132).  In this paper such a relation is never typed.  A function here takes the
numbers, read from ``results/``, makes the comparison and returns a :class:`Statement`: the words
that say it ("ranges from 0.107 to 0.132", "smaller than", "lowers ... for SLE and IIM"), the
relation, and the numbers it rests on.  The words go into ``manuscript/_variables.yml`` (group
``claims``) and the prose quotes them with ``{{< var claims.KEY >}}``; :func:`check` re-derives the
relation from the numbers and the printed words, and ``tests/publish/test_claims.py`` runs it over
every statement of the paper and refuses typed comparatives next to a quoted number.

How to add a claim (for any section's author)
---------------------------------------------
1. Write a function ``f(r: Results) -> dict[str, Statement]`` beside the others in
   :func:`claims_statements` (or call the builders from your own section's variables function and
   put ``str(statement)`` into its variables).
2. Build the statement with a builder: :func:`compare` (``a`` against ``b``: "larger than",
   "smaller than", "the same as", at the printed precision), :func:`span` (several values:
   "is 0.11" or "ranges from 0.107 to 0.132"), :func:`change` (a value before and after:
   "raises", "lowers", "leaves unchanged"), :func:`changes_by` (one baseline and several
   alternatives per group, summarised in words).
3. Quote it in the prose as ``{{< var claims.KEY >}}``; the test checks it.

Every builder compares the numbers *as printed* (through ``fmt``), so the words never contradict
the digits a reader sees: 0.9452 and 0.9468 printed as 0.945 and 0.947 are "smaller than", and
printed at two digits (0.95, 0.95) "the same as".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from analysis.data import group_order
from analysis.publish.format import plain, prop
from analysis.results import Results

Format = Callable[[float], str]

#: the words of each relation, by builder
COMPARE_WORDS = {"larger": "larger than", "smaller": "smaller than", "equal": "the same as"}
CHANGE_WORDS = {"larger": "raises", "smaller": "lowers", "equal": "leaves unchanged"}
GROUP_WORDS = {"larger": "raises it", "smaller": "lowers it", "equal": "leaves it unchanged"}


#: a basket borrowing method's name inside a sentence (the tables use the design's own labels)
SENTENCE_NAMES = {
    "hierarchical": "the hierarchical model",
    "exnex": "EXNEX",
    "jsd": "Jensen-Shannon weights",
    "mem": "the multisource exchangeability model",
}


class ClaimError(ValueError):
    """A statement's words do not follow from its numbers."""


@dataclass(frozen=True)
class Statement:
    """What a sentence claims: its words, the relation, and the numbers (as printed) it rests on.

    Attributes
    ----------
    text : str
        The words, ready for the prose (``str(statement)``).
    relation : str
        ``'larger'``, ``'smaller'``, ``'equal'`` (a comparison or a change), ``'range'`` or ``'single'``
        (a span), ``'by_group'`` (:func:`changes_by`), ``'none'`` (words resting on no number).
    values : tuple
        The printed numbers the relation is about, in the builder's order.
    parts : dict
        For ``'by_group'``: each group's relation per alternative.
    """

    text: str
    relation: str
    values: tuple[str, ...] = ()
    parts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text


def _order(a: str, b: str) -> str:
    """'larger', 'smaller' or 'equal' for two printed numbers (a against b)."""
    x, y = float(plain(a).replace("\u2212", "-").lstrip("<>")), float(plain(b).replace("\u2212", "-").lstrip("<>"))
    return "larger" if x > y else "smaller" if x < y else "equal"


def compare(a: float, b: float, fmt: Format = prop) -> Statement:
    """``a`` against ``b`` at the printed precision: 'larger than', 'smaller than' or 'the same as'.

    Parameters
    ----------
    a, b : float
        The two numbers; the sentence reads "<a> is <words> <b>".
    fmt : callable
        How both are printed (the comparison is made on the printed values).

    Returns
    -------
    Statement
        ``text`` the words only (the prose quotes both numbers itself, or uses :attr:`Statement.values`).
    """
    pa, pb = fmt(a), fmt(b)
    rel = _order(pa, pb)
    return Statement(COMPARE_WORDS[rel], rel, (pa, pb))


def change(before: float, after: float, fmt: Format = prop) -> Statement:
    """A change from ``before`` to ``after``: 'raises', 'lowers' or 'leaves unchanged' (printed precision)."""
    pb, pa = fmt(before), fmt(after)
    rel = _order(pa, pb)
    return Statement(CHANGE_WORDS[rel], rel, (pb, pa))


def span(values: Sequence[float], fmt: Format = prop, verb: str = "ranges") -> Statement:
    """Several values: 'is X' when they print alike, else '<verb> from MIN to MAX'.

    Parameters
    ----------
    values : sequence of float
        At least one value.
    fmt : callable
        How the values are printed.
    verb : str
        'ranges' (so 'ranges from 0.107 to 0.132'), or 'range' for a plural subject.
    """
    if len(values) == 0:
        raise ClaimError("span: no values")
    lo, hi = fmt(min(values)), fmt(max(values))
    if lo == hi:
        return Statement(f"{'is' if verb == 'ranges' else 'are'} {lo}", "single", (lo, hi))
    return Statement(f"{verb} from {lo} to {hi}", "range", (lo, hi))


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def changes_by(
    baseline: Mapping[str, float],
    alternatives: Mapping[str, Mapping[str, float]],
    fmt: Format = prop,
    labels: Mapping[str, str] | None = None,
) -> Statement:
    """How each alternative changes a per-group baseline, summarised per group in words.

    Parameters
    ----------
    baseline : mapping
        group -> the baseline value (e.g. the false-go probability without borrowing).
    alternatives : mapping
        alternative -> group -> value (e.g. per borrowing method).
    fmt : callable
        How values are printed (the comparison is made on the printed values).
    labels : mapping, optional
        alternative -> its name in the sentence.

    Returns
    -------
    Statement
        e.g. "for SLE and IIM, lowers it with EXNEX and MEM and leaves it unchanged with JSD; for SSc, raises it
        with every method": one clause per pattern of changes, the groups sharing a pattern joined, in the order
        of ``baseline``.
    """
    labels = labels or {}
    parts = {g: {m: change(baseline[g], alt[g], fmt).relation for m, alt in alternatives.items()} for g in baseline}
    patterns: dict[tuple, list[str]] = {}
    for g, rel in parts.items():
        patterns.setdefault(tuple(sorted(rel.items())), []).append(g)
    clauses = []
    for pattern, groups in patterns.items():
        by_rel: dict[str, list[str]] = {}
        for m, rel in dict(pattern).items():
            by_rel.setdefault(rel, []).append(labels.get(m, m))
        order = [r for r in ("smaller", "larger", "equal") if r in by_rel]
        bits = []
        for rel in order:
            who = "every method" if len(by_rel[rel]) == len(alternatives) else _join(by_rel[rel])
            bits.append(f"{GROUP_WORDS[rel]} with {who}")
        clauses.append(f"for {_join(groups)}, {_join(bits)}")
    return Statement("; ".join(clauses), "by_group", parts=parts)


def check(s: Statement, fmt_values: Sequence[str] | None = None) -> None:
    """Re-derive a statement's relation from its printed numbers and its words; raise if they disagree.

    Parameters
    ----------
    s : Statement
        A statement made by a builder of this module.
    fmt_values : sequence of str, optional
        The printed numbers the prose shows beside the statement, if any; they must be the statement's.

    Raises
    ------
    ClaimError
        Naming the words and the numbers that contradict them.
    """
    if fmt_values is not None and tuple(fmt_values) != tuple(s.values):
        raise ClaimError(f"{s.text!r}: the prose shows {tuple(fmt_values)}, the statement rests on {s.values}")
    if s.relation in COMPARE_WORDS:
        a, b = s.values
        rel = _order(a, b) if s.text in COMPARE_WORDS.values() else _order(b, a)
        words = COMPARE_WORDS[rel] if s.text in COMPARE_WORDS.values() else CHANGE_WORDS[rel]
        if rel != s.relation or words != s.text:
            raise ClaimError(f"{s.text!r} does not follow from {a} and {b}")
    elif s.relation in ("range", "single"):
        lo, hi = s.values
        numbers = re.findall(r"[\u2212-]?\d+(?:\.\d+)?", s.text)
        if (s.relation == "single") != (lo == hi) or numbers != ([lo] if lo == hi else [lo, hi]):
            raise ClaimError(f"{s.text!r} does not say the range {lo} to {hi}")
    elif s.relation == "by_group":
        for g, rels in s.parts.items():
            if f"for {g}" not in s.text and f" {g}" not in s.text:
                raise ClaimError(f"{s.text!r} does not name {g}")
            for rel in set(rels.values()):
                if GROUP_WORDS[rel] not in s.text:
                    raise ClaimError(f"{s.text!r}: for {g} some alternative {GROUP_WORDS[rel]}, the words omit it")
    elif s.relation == "none":  # words that rest on no number ('never changes')
        if s.values or re.search(r"\d", s.text):
            raise ClaimError(f"{s.text!r} claims no number but rests on {s.values}")
    else:
        raise ClaimError(f"unknown relation {s.relation!r}")


# -- the paper's statements -------------------------------------------------------------------------------------


def _crosscheck(r: Results) -> dict[str, Statement]:
    c = r.crosscheck
    if not len(c):
        return {}
    from analysis.bayes.crosscheck import K_MCSE

    return {"crosscheck_gate": compare(float(c["z"].max()), K_MCSE, lambda x: f"{x:.1f}")}


def design_type1_statement(designs: Mapping, design: str | None = None, reference: str = "vague") -> Statement:
    """The type I error of the robust priors over the sensitivity grid where their boundary differs from the
    reference prior's boundary at the same null rate (the 'wherever borrowing changes the boundary' sentence);
    ``design`` defaults to the first design of the specification."""
    rows = designs[design or next(iter(designs), None)].get("sensitivity", [])
    ref = {r["p0"]: r["boundary"] for r in rows if r["prior"] == reference}
    moved = [r["type1"] for r in rows if r["robust_weight"] is not None and r["boundary"] != ref.get(r["p0"])]
    if not moved:
        return Statement("never changes", "none", ())
    return span(moved, lambda x: prop(x, 3))


def _basket(r: Results) -> dict[str, Statement]:
    from analysis.publish.basket import method_label

    oc = r.basket_oc
    design = r.basket_design
    go = oc[oc["indication"] != "(any)"]
    if "thresholds" in go:  # the design's nominal thresholds (calibrated ones are a separate comparison)
        go = go[go["thresholds"] == "nominal"]
    out: dict[str, Statement] = {}

    def at(scenario: str) -> pd.DataFrame:
        return go[go["scenario"] == scenario].pivot(index="method", columns="indication", values="go")

    null = at("all null")
    if len(null) and "independent" in null.index:
        groups = group_order(null.columns)
        base = {g: float(null.loc["independent", g]) for g in groups}
        alts = {m: {g: float(null.loc[m, g]) for g in groups} for m in null.index if m != "independent"}
        labels = {m: SENTENCE_NAMES.get(m) or method_label(m, design) for m in alts}
        out["basket_global_null"] = changes_by(base, alts, lambda x: prop(x, 3), labels)
    active = at("all active")
    if len(active) and {"independent", "exnex"} <= set(active.index):
        for g in active.columns:
            out[f"basket_exnex_vs_independent_{g}"] = compare(
                float(active.loc["exnex", g]), float(active.loc["independent", g]), lambda x: prop(x, 3)
            )
    return out


def _borrowing(r: Results) -> dict[str, Statement]:
    """What borrowing does to each disease's posterior mean (hierarchical against independent), and the range of the
    posterior mean over the sensitivity scenarios."""
    from analysis.settings import NEW_GROUP

    b = r.estimates[(r.estimates["analysis"] == "bayes") & (r.estimates["endpoint"] == "response")]
    mean = b.pivot_table(index="group", columns="method", values="estimate")
    out: dict[str, Statement] = {}
    for g in group_order([x for x in mean.index if x != NEW_GROUP]):
        if {"bayes-independent", "bayes-hierarchical"} <= set(mean.columns):
            out[f"borrowing_{g}"] = change(mean.loc[g, "bayes-independent"], mean.loc[g, "bayes-hierarchical"])
    sens = r.sensitivity[r.sensitivity["group"] != NEW_GROUP]
    for g, sub in sens.groupby("group"):
        s = out[f"sens_{g}"] = span(list(sub["estimate"]))
        # the same span after a subject already given ('for SLE from 0.90 to 0.96')
        out[f"sens_{g}_bare"] = Statement(s.text.removeprefix("ranges ").removeprefix("is "), s.relation, s.values)
    return out


def claims_statements(r: Results) -> dict[str, Statement]:
    """Every computed statement of the paper, by key (``claims.KEY`` in the variables file)."""
    out = _crosscheck(r) | _borrowing(r)
    if r.designs:  # a cohort without a design has no such sentence
        out["design_type1_moved"] = design_type1_statement(r.designs)
    out |= _basket(r)
    return out


def claims_variables(r: Results) -> dict:
    """The ``claims`` group of ``_variables.yml``: each statement's words."""
    out: dict = {}
    for key, s in claims_statements(r).items():
        check(s)
        out[key] = s.text  # the numbers it compares are quoted from their own variables
    return out
