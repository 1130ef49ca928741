"""The borrowing-method registry: a new method is one class plus one registration, seen everywhere."""

import json
import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.basket import methods
from analysis.basket.methods.base import BorrowingMethod
from analysis.basket.spec import DesignError, parse


class Pooled(BorrowingMethod):
    """A toy method for this test: complete pooling of all indications under one Beta(1, 1) prior."""

    kind: ClassVar[str] = "toy_pooled"
    label: ClassVar[str] = "Complete pooling (toy)"
    keys: ClassVar[frozenset[str]] = frozenset({"prior"})

    @classmethod
    def parse(cls, table, where, K, base):
        return {"prior": tuple(table.get("prior", (1.0, 1.0)))}

    @classmethod
    def describe(cls, params):
        return f"one Beta{params['prior']} for all indications"

    @classmethod
    def analyze(cls, design, method, n, y, prepared=None):
        a0, b0 = method.params["prior"]
        a = a0 + y.sum(1, keepdims=True) + 0.0 * y
        b = b0 + (n - y).sum(1, keepdims=True) + 0.0 * y
        return {
            "mean": a / (a + b),
            "m2": a * (a + 1) / ((a + b) * (a + b + 1)),
            "p_above": stats.beta.sf(design.p0, a, b),
        }


@pytest.fixture
def toy():
    cls = methods.register(Pooled)
    yield cls
    methods.unregister(cls.kind)


SPEC = (
    "[design]\nname='t'\n[[indication]]\nname='A'\nn=6\np0=0.2\ntarget=0.5\nc=0.8\n"
    "[[indication]]\nname='B'\nn=5\np0=0.2\ntarget=0.5\nc=0.8\n"
    "[method.independent]\n[method.toy_pooled]\nprior=[1, 1]\n[scenarios]\ngenerate=['null','single']\n"
)


def test_a_registered_method_reaches_the_cli_the_oc_table_and_the_paper(toy, tmp_path):
    from analysis.cli import main
    from analysis.publish.basket import basket_methods_table, basket_table

    spec = tmp_path / "d.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    assert main(["design", str(spec), "--out", str(out), "--workers", "1", "--no-figures"]) == 0
    oc = pd.read_csv(out / "oc.csv")
    design = json.loads((out / "design.json").read_text())
    assert list(dict.fromkeys(oc["method"])) == ["independent", "toy_pooled"]
    # brute force: the pooled posterior Beta(1 + yA + yB, 1 + 11 - yA - yB); a go for A when its tail > 0.8
    go = 0.0
    for ya in range(7):
        for yb in range(6):
            if stats.beta.sf(0.2, 1 + ya + yb, 1 + 11 - ya - yb) > 0.8:
                go += stats.binom.pmf(ya, 6, 0.2) * stats.binom.pmf(yb, 5, 0.2)
    row = oc[(oc["method"] == "toy_pooled") & (oc["scenario"] == "all null") & (oc["indication"] == "A")]
    assert row["go"].item() == pytest.approx(go, abs=1e-9)
    assert "Complete pooling (toy)" in basket_table(oc, design)
    assert "one Beta(1, 1) for all indications" in basket_methods_table(design)
    assert "| Complete pooling (toy)" in basket_methods_table(design)


def test_unknown_method_names_list_the_known_ones(toy):
    with pytest.raises(
        DesignError,
        match=r"unknown method type 'toy_pool'; did you mean 'toy_pooled'.*known methods: "
        r"independent, hierarchical, exnex, jsd, mem, toy_pooled",
    ):
        parse(
            {
                "indication": [{"name": "A", "n": 5, "p0": 0.2, "target": 0.5, "c": 0.8}],
                "method": {"x": {"type": "toy_pool"}},
                "scenarios": {"generate": ["null"]},
            },
            "f.toml",
        )
    with pytest.raises(methods.UnknownMethod, match="known methods: independent, .*toy_pooled"):
        methods.get("nothing")
    methods.unregister("toy_pooled")
    with pytest.raises(methods.UnknownMethod, match="known methods: independent, hierarchical, exnex, jsd, mem$"):
        methods.get("toy_pooled")


@pytest.mark.parametrize(
    "where,key,value",
    [
        ("indication", "c", math.nan),
        ("indication", "futility", math.inf),
        ("indication", "min_mean", math.nan),
        ("jsd", "tau", math.nan),
        ("jsd", "epsilon", math.inf),
        ("jsd", "prior", [1, math.inf]),
        ("independent", "prior", [math.nan, 1]),
        ("independent", "prior", [[1.0, 2.0, math.nan]]),
        ("design", "interim_prior", [1, math.nan]),
        ("mem", "inclusion", math.nan),
    ],
)
def test_non_finite_numbers_are_refused_naming_the_table_and_key(where, key, value):
    ind = {"name": "A", "n": 10, "p0": 0.2, "target": 0.5, "c": 0.8}
    spec = {"indication": [ind], "method": {"independent": {}}, "scenarios": {"generate": ["null"]}}
    if where == "indication":
        ind |= {key: value} | ({"interim_n": 5} if key == "futility" else {})
        table = r"indication 'A'"
    elif where == "design":
        spec["design"] = {key: value}
        table = r"\[design\]"
    else:
        spec["method"] = {where: {key: value}}
        table = rf"\[method.{where}\]"
    with pytest.raises(DesignError, match=rf"f.toml, {table}.*key '{key}'.*(finite|nan|inf)"):
        parse(spec, "f.toml")
    assert np.isfinite(0.0)
