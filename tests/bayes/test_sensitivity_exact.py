"""The prior-sensitivity scenarios computed exactly (half-Cauchy tau; second review, issue 25, point 7).

NUTS diverged on a half-Cauchy prior for tau in every parametrisation tried (analysis/bayes/sensitivity.py says
which, with the counts), and the convergence gates are not loosened: those scenarios are computed by the
deterministic engine, which integrates over mu and tau.  These tests check that the exact path gives what the
sampled path gives where both apply, and that the exact scenarios never reach the sampler.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.bayes.sensitivity import SCENARIOS_BAYES, exact_rows, scenario_fits, scenario_units
from analysis.settings import COHORTS, INDEX_STUDY, NEW_GROUP, ROOT


def _scenario(name):
    return next(s for s in SCENARIOS_BAYES if s.name == name)


def test_half_cauchy_scenarios_are_exact_and_not_sampled():
    exact = [s for s in SCENARIOS_BAYES if s.exact]
    assert {s.spec().priors["tau"].dist for s in exact} == {"HalfCauchy"}
    fitted = scenario_fits(INDEX_STUDY, COHORTS)
    assert len(fitted) == len(SCENARIOS_BAYES) - len(exact)
    assert all(spec.priors.get("tau") is None or spec.priors["tau"].dist != "HalfCauchy" for spec, _ in fitted)


def test_exact_rows_agree_with_the_sampled_default_scenario():
    """The default priors computed exactly against the same scenario's NUTS fit in results/: within 4 Monte Carlo
    standard errors (the gate of analysis/bayes/crosscheck.py), so an exact row means what a sampled row means."""
    path = ROOT / "results/bayes/sensitivity.csv"
    if not path.is_file():
        pytest.skip("no results: run `make results` first")
    sens = pd.read_csv(path)
    s = _scenario("default")
    units = scenario_units(s, INDEX_STUDY, COHORTS)
    rows = exact_rows(s.spec(), units, list(units.labels))
    for g, r in rows.items():
        mc = sens[(sens["scenario"] == "default") & (sens["group"] == g)].iloc[0]
        for q, se in (("estimate", "mcse"), ("lower", "mcse_lower"), ("upper", "mcse_upper")):
            assert abs(r[q] - mc[q]) <= 4 * max(mc[se], 1e-4), (g, q, r[q], mc[q], mc[se])


def test_exact_rows_are_ordered_and_marked_exact():
    s = _scenario("tau_c1")
    units = scenario_units(s, INDEX_STUDY, COHORTS)
    rows = exact_rows(s.spec(), units, ["SLE", "IIM"])
    assert set(rows) == {"SLE", "IIM", NEW_GROUP}
    for r in rows.values():
        assert 0 <= r["lower"] <= r["median"] <= r["upper"] <= 1
        assert r["lower"] < r["estimate"] < r["upper"]
        assert r["mcse"] == 0.0 and np.isinf(r["ess"])


def test_heavier_tail_borrows_less_for_the_smallest_disease():
    """A half-Cauchy tau allows more heterogeneity than HalfNormal(1) a priori, so IIM (3 of 3) is pulled less
    towards the others and its lower limit sits further from theirs: its posterior interval is at least as wide."""
    units = scenario_units(_scenario("default"), INDEX_STUDY, COHORTS)
    base = exact_rows(_scenario("default").spec(), units, ["IIM"])["IIM"]
    heavy = exact_rows(_scenario("tau_c1").spec(), units, ["IIM"])["IIM"]
    assert heavy["upper"] - heavy["lower"] >= base["upper"] - base["lower"]
