"""Resource estimates before work (issue 23): what would exceed the machine or an hour is refused at once with
exit 2, the estimate and the limit; the paper's own designs are far below the limits."""

from __future__ import annotations

import time

import pytest

from analysis.cli import main
from analysis.limits import (
    MAX_BYTES,
    GiB,
    ResourceError,
    engine_bytes,
    engine_grid_points,
    interim_seconds,
    priors_design_seconds,
    require,
    simulation_seconds,
)
from analysis.settings import ROOT

BASKET = (ROOT / "config" / "basket.toml").read_text(encoding="utf-8")
PRIORS = (ROOT / "config" / "follow_up.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("mu", "tau", "n_total"),
    [
        ("Normal(-0.4, 1.5)", "HalfNormal(1)", 80),
        ("Normal(0, 2)", "HalfNormal(0.5)", 15),
        ("Normal(0, 10)", "HalfCauchy(1)", 48),
    ],
)
def test_grid_estimate_counts_the_engines_grid_exactly(mu, tau, n_total):
    """The estimate mirrors analysis.bayes.engine.make_grid without allocating (the grid's own length)."""
    from analysis.bayes.engine import Component, make_grid

    comp = Component(mu, tau)
    assert engine_grid_points(comp, n_total) == len(make_grid(comp, n_total).mu)


def test_a_vague_basket_prior_and_a_huge_cross_check_exceed_the_memory_limit():
    from analysis.bayes.engine import Component

    points = engine_grid_points(Component("Normal(0, 1e6)", "HalfNormal(1)"), 48)
    assert points > 1e9 and engine_bytes(points, [12] * 4) > 1000 * GiB
    paper = engine_grid_points(Component("Normal(-0.4, 1.5)", "HalfNormal(1)"), 72)
    assert engine_bytes(paper, [24] * 3) < 0.01 * MAX_BYTES
    # the cross-check of the index study with n = 1e5 per group: a (n + 1) x grid table per group
    with pytest.raises(
        ResourceError, match=r"cross-check: would need about .* GiB of memory, above the limit of 8 GiB"
    ):
        require("cross-check", nbytes=engine_bytes(paper, [100_000] * 3))


def test_time_estimates():
    assert interim_seconds(800, 400) == pytest.approx(7, rel=0.3)  # measured 7 s (analysis.limits docstring)
    assert priors_design_seconds(100_000, 50_000) > 86_400
    assert priors_design_seconds(20, 10, 101, 4, 40) < 10  # the paper's design
    assert simulation_seconds(10**9, 2, 5) > 3600
    with pytest.raises(ResourceError, match=r"would take about .* hours, above the limit of 1 hour"):
        require("x", seconds=priors_design_seconds(100_000, 50_000))


def _run(argv, capsys):
    t0 = time.perf_counter()
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert time.perf_counter() - t0 < 60, "the refusal must come before the work"
    assert "Traceback" not in err
    return code, err


def test_design_with_a_vague_prior_is_refused_before_allocating(tmp_path, capsys):
    """Issue 23: a basket prior ``mu = "Normal(0, 1e6)"`` used 23.7 GB until the kernel killed it.  The design
    file's reader now estimates the grid before making it (analysis/basket/checks.py), so the command refuses
    within seconds, naming file, table and keys; the CLI's own check of a design object agrees."""
    from dataclasses import replace

    from analysis.basket.spec import load
    from analysis.cli import _check_design_resources

    spec = tmp_path / "basket.toml"
    spec.write_text(BASKET.replace('mu = "Normal(0.65, 1.5)" # about half', 'mu = "Normal(0, 1e6)" # about half'))
    code, err = _run(["design", spec, "--out", tmp_path / "out", "--workers", "1"], capsys)
    assert code == 2, err
    assert "[method.hierarchical], keys 'mu' and 'tau': the quadrature grid (" in err, err
    assert "above the limit of 8 GiB" in err and not (tmp_path / "out").exists()

    design = load(ROOT / "config" / "basket.toml")
    _check_design_resources(ROOT / "config" / "basket.toml", design)  # the paper's design passes
    methods = [
        replace(m, params={**m.params, "mu": "Normal(0, 1e6)"}) if m.name == "hierarchical" else m
        for m in design.methods
    ]
    with pytest.raises(ResourceError, match=r"method 'hierarchical': the quadrature grid \(.* points\): would need "
                       r"about .* GiB of memory, above the limit of 8 GiB"):  # fmt: skip
        _check_design_resources(ROOT / "config" / "basket.toml", replace(design, methods=methods))


def test_engine_and_cross_check_ask_before_they_allocate(monkeypatch):
    """With the limit lowered (analysis.limits.MAX_BYTES, read when each check runs) the paper's own design file,
    the engine and the cross-check of the index study are refused before any grid or table exists: the checks sit
    in front of the allocations (the sizes themselves are tested above, without allocating)."""
    import analysis.limits as limits
    from analysis.basket.checks import DesignError
    from analysis.basket.spec import load
    from analysis.bayes.crosscheck import check_resources
    from analysis.bayes.engine import Engine, EngineModel, make_grid
    from analysis.bayes.models import DEFAULT_MODELS
    from analysis.bayes.units import index_units
    from analysis.settings import INDEX_STUDY

    made = []
    monkeypatch.setattr("analysis.bayes.engine.core.make_grid", lambda *a, **k: made.append(a) or make_grid(*a, **k))
    monkeypatch.setattr(limits, "MAX_BYTES", 1000.0)
    with pytest.raises(DesignError, match=r"basket\.toml, \[method\.hierarchical\], keys 'mu' and 'tau': the "
                       r"quadrature grid .* above the limit of 0\.000954 MiB"):  # fmt: skip
        load(ROOT / "config" / "basket.toml")
    engine = Engine(EngineModel.hierarchical("Normal(0, 2)", "HalfNormal(1)"))
    with pytest.raises(ResourceError, match=r"model 'hierarchical': the posterior engine's grid \([\d,]+ points\)"):
        engine.posterior([3, 4], [10, 12])
    assert made == []
    units = index_units(INDEX_STUDY)
    spec = DEFAULT_MODELS["hierarchical"]
    with pytest.raises(ResourceError, match=r"index_study\.csv: cross-check of model 'hierarchical' with the "
                       r"posterior engine \(groups of 8, 3, 4 patients"):  # fmt: skip
        check_resources(spec, units, str(INDEX_STUDY))
    monkeypatch.setattr(limits, "MAX_BYTES", limits.GiB)  # within the limit: the same calls pass
    check_resources(spec, units, str(INDEX_STUDY))
    assert engine.posterior([3, 4], [10, 12]).mean.shape == (2,) and len(made) == 1


def test_design_with_a_billion_simulations_is_refused(tmp_path, capsys):
    spec = tmp_path / "basket.toml"
    spec.write_text(BASKET.replace('oc = "auto"', 'oc = "simulate"').replace("n_sim = 20000", "n_sim = 1000000000"))
    code, err = _run(["design", spec, "--out", tmp_path / "out", "--workers", "1"], capsys)
    assert code == 2, err
    assert "n_sim = 1,000,000,000 simulated trials" in err and "above the limit of 1 hour" in err


def test_priors_design_of_n_100000_with_an_interim_is_refused(tmp_path, capsys):
    spec = tmp_path / "priors.toml"
    spec.write_text(PRIORS.replace("n = 20\n", "n = 100000\n").replace("interim_n = 10\n", "interim_n = 50000\n"))
    code, err = _run(["priors", spec, "--out", tmp_path / "out", "--no-figures"], capsys)
    assert code == 2, err
    assert "design 'sle_single_arm' (n = 100,000): would take about" in err and "above the limit of 1 hour" in err
