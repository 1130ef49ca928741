import json
import subprocess
import sys

import arviz as az
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.bayes import sampling as fitmod
from analysis.bayes.models import DEFAULT_MODELS
from analysis.bayes.prior import Prior
from analysis.bayes.sampling import ConvergenceError, check_gates, diagnostics, fit
from analysis.bayes.sampling import cache as fit_cache
from analysis.bayes.step import closed_form_idata, stored_fit
from analysis.bayes.summaries import model_rows, prior_predictive
from analysis.bayes.units import Units, index_units
from analysis.settings import MCMC
from tests.bayes.quadrature import posterior_means

#: Small but gate-passing settings for unit tests (the paper uses settings.MCMC_DEFAULT).
TEST_MCMC = MCMC(draws=1000, tune=1000, chains=2, cores=1, seed=7)
UNITS = Units(("SLE", "IIM", "SSc"), (8, 3, 4), (8, 3, 4))


@pytest.fixture(scope="session")
def hier_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("bayes") / "hierarchical.nc"
    idata, diag = stored_fit(DEFAULT_MODELS["hierarchical"], UNITS, out, TEST_MCMC)
    return idata, diag, out


def test_prior_value_object():
    p = Prior.parse("HalfNormal(0.5)")
    assert p == Prior("HalfNormal", (0.5,))
    assert repr(p) == "HalfNormal(0.5)"
    assert Prior.parse(" Normal( 0 , 1.5 ) ") == Prior("Normal", (0, 1.5))
    with pytest.raises(ValueError, match="unknown prior distribution"):
        Prior.parse("Cauchy(0, 1)")
    with pytest.raises(ValueError, match="scale must be > 0"):
        Prior("Normal", (0, -1))
    with pytest.raises(ValueError, match="has no parameter"):
        DEFAULT_MODELS["hierarchical"].with_priors(sigma=p)


@pytest.mark.parametrize(("x", "n"), [(8, 8), (3, 3), (0, 4), (2, 5)])
def test_conjugate_matches_exact_beta(x, n):
    post = DEFAULT_MODELS["independent"].exact(Units(("g",), (x,), (n,)), 0.95)["g"]
    a, b = 1 + x, 1 + n - x
    assert_allclose(post["estimate"], a / (a + b), rtol=1e-12)
    assert_allclose([post["lower"], post["upper"]], stats.beta.ppf([0.025, 0.975], a, b), rtol=1e-7)


def test_conjugate_rows_and_pooled_rate():
    idata, exact = closed_form_idata(DEFAULT_MODELS["pooled"], UNITS, TEST_MCMC)
    rows = pd.DataFrame(model_rows(DEFAULT_MODELS["pooled"], UNITS, idata, exact))
    post = rows[rows["analysis"] == "bayes"]
    assert_allclose(post["estimate"], 16 / 17, rtol=1e-12)
    assert_allclose(post["lower"], stats.beta.ppf(0.025, 16, 1), rtol=1e-7)
    # the draws kept for plots agree with the exact posterior within Monte-Carlo error
    draws = idata.posterior["p"].sel(unit="SLE").values.ravel()
    assert abs(draws.mean() - 16 / 17) < 4 * draws.std() / np.sqrt(draws.size)


def test_hierarchical_idata_structure(hier_fit):
    idata, diag, _ = hier_fit
    post = idata.posterior
    assert {"mu", "tau", "z", "theta_ex", "p", "p_new"} <= set(post.data_vars)
    assert list(post["p"].coords["unit"].values) == ["SLE", "IIM", "SSc"]
    assert post["p"].dims == ("chain", "draw", "unit")
    assert post.sizes["chain"] == TEST_MCMC.chains and post.sizes["draw"] == TEST_MCMC.draws
    assert set(diag.columns) == {"model", "parameter", "r_hat", "ess_bulk", "ess_tail", "divergences"}
    assert (diag["divergences"] == 0).all()


def test_hierarchical_matches_quadrature(hier_fit):
    idata, _, _ = hier_fit
    quad = posterior_means(DEFAULT_MODELS["hierarchical"], UNITS.events, UNITS.n)
    for i, g in enumerate(UNITS.labels):
        draws = idata.posterior["p"].sel(unit=g)
        mcse = float(az.mcse(draws.to_dataset(name="p"))["p"])
        assert abs(float(draws.mean()) - quad["p"][i]) < 4 * mcse + 1e-4, g
    mu = idata.posterior["mu"]
    assert abs(float(mu.mean()) - quad["mu"]) < 4 * float(az.mcse(mu.to_dataset(name="mu"))["mu"]) + 1e-3


def test_fit_is_reproducible_and_cached(hier_fit, monkeypatch):
    idata, _, out = hier_fit
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["mcmc"]["seed"] == TEST_MCMC.seed
    assert sidecar["model"]["priors"] == {"mu": "Normal(0, 1.5)", "tau": "HalfNormal(1)"}

    def boom(*a, **k):
        raise AssertionError("refitted although nothing changed")

    monkeypatch.setattr(fit_cache, "sample", boom)
    again, _ = stored_fit(DEFAULT_MODELS["hierarchical"], UNITS, out, TEST_MCMC)
    assert_allclose(again.posterior["mu"].values, idata.posterior["mu"].values)


def test_same_seed_same_draws():
    small = MCMC(draws=50, tune=50, chains=1, cores=1, seed=11)  # the settings of test_sampling_cache: one program
    a = fitmod.sample(DEFAULT_MODELS["hierarchical"], UNITS, small)
    b = fitmod.sample(DEFAULT_MODELS["hierarchical"], UNITS, small)
    assert_allclose(a.posterior["mu"].values, b.posterior["mu"].values)
    assert_allclose(a.posterior["p_new"].values, b.posterior["p_new"].values)


def test_gates_fail_loudly_naming_model_and_parameter():
    diag = pd.DataFrame(
        {
            "model": ["hierarchical"] * 2,
            "parameter": ["mu", "tau"],
            "r_hat": [1.0, 1.05],
            "ess_bulk": [1000, 150],
            "ess_tail": [1000, 900],
            "divergences": [2, 2],
        }
    )
    with pytest.raises(ConvergenceError) as info:
        check_gates(diag)
    msg = str(info.value)
    assert "model 'hierarchical', parameter tau: R-hat 1.050 > 1.01" in msg
    assert "parameter tau: bulk ESS 150 < 400" in msg
    assert "2 divergent transitions" in msg


def test_too_short_run_fails_the_gate():
    tiny = MCMC(draws=50, tune=50, chains=1, cores=1, seed=3)  # 50 draws: ESS far below 400 (one shared program)
    idata = fitmod.sample(DEFAULT_MODELS["hierarchical"], UNITS, tiny)
    with pytest.raises(ConvergenceError, match="ESS"):
        check_gates(diagnostics(idata, DEFAULT_MODELS["hierarchical"]))


def test_exnex_flags_a_discordant_disease():
    units = Units(("A", "B", "C", "D"), (8, 7, 8, 0), (8, 8, 8, 6))
    idata, _, _ = fit(DEFAULT_MODELS["exnex"], units, TEST_MCMC)
    pi = idata.posterior["pi_ex"].mean(("chain", "draw"))
    assert float(pi.sel(unit="D")) < min(float(pi.sel(unit=u)) for u in "ABC")
    # the discordant disease keeps its own low rate instead of being pulled up
    assert float(idata.posterior["p"].sel(unit="D").mean()) < 0.3


def test_prior_predictive_is_wide():
    d = prior_predictive(DEFAULT_MODELS["hierarchical"])["p_d"]
    assert np.quantile(d, 0.025) < 0.1 and np.quantile(d, 0.975) > 0.9


def test_index_units_from_data():
    assert index_units() == UNITS
    assert index_units(groups=("SLE", "IIM")).labels == ("SLE", "IIM")


def test_cli_refits_with_other_priors_and_sampler(tmp_path):
    out = tmp_path / "b"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "bayes",
            "--model",
            "hierarchical",
            "--prior",
            "tau=HalfNormal(0.5)",
            "--sampler",
            "pymc",
            "--draws",
            "1000",
            "--tune",
            "1000",
            "--chains",
            "2",
            "--seed",
            "5",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    side = json.loads((out / "hierarchical.json").read_text())
    assert side["model"]["priors"]["tau"] == "HalfNormal(0.5)"
    assert side["mcmc"]["sampler"] == "pymc" and side["mcmc"]["seed"] == 5
    est = pd.read_csv(out / "estimates.csv")
    assert set(est["method"]) == {"bayes-hierarchical"}
    bad = subprocess.run(
        [sys.executable, "-m", "analysis", "bayes", "--prior", "tau=Cauchy(1)", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "unknown prior distribution" in bad.stderr


def test_leave_one_out_prediction_matches_independent_quadrature():
    """The held-out disease's predicted count / n is the new-group mean of the model fitted to the others
    (checked against tests/bayes/quadrature.py, an independent grid implementation), and a discordant
    disease is flagged."""
    from analysis.bayes.summaries import lodo_rows

    spec = DEFAULT_MODELS["hierarchical"]
    rows = {r["group"]: r for r in lodo_rows(spec, UNITS)}
    quad = posterior_means(spec, [3, 4], [3, 4])  # SLE held out
    assert abs(rows["SLE"]["predicted_mean"] / 8 - quad["p_new"]) < 2e-3
    odd = Units(("A", "B", "C", "D"), (8, 8, 8, 0), (8, 8, 8, 6))
    flagged = {r["group"]: r for r in lodo_rows(spec, odd)}
    assert flagged["D"]["p_lower"] < 0.05 < min(flagged[g]["p_upper"] for g in "ABC")


def test_crosscheck_fails_naming_model_group_and_quantity(hier_fit):
    from analysis.bayes.crosscheck import MCMCMismatch, crosscheck

    idata, _, _ = hier_fit
    ok = crosscheck(DEFAULT_MODELS["hierarchical"], UNITS, idata)
    assert (ok["z"] < 4).all() and set(ok["group"]) == {"SLE", "IIM", "SSc", "new"}
    wrong = DEFAULT_MODELS["hierarchical"].with_priors(mu=Prior("Normal", (-3, 0.3)))
    with pytest.raises(MCMCMismatch, match=r"model 'hierarchical', group '\w+', (mean|q0\.\d+): MCMC"):
        crosscheck(wrong, UNITS, idata)


def test_two_component_exnex_is_registered_but_not_in_the_paper():
    from analysis.bayes.models import DEFAULT_MODELS as PAPER
    from analysis.bayes.models import REGISTRY, PriorError

    assert "exnex2" in REGISTRY and "exnex2" not in PAPER
    spec = REGISTRY["exnex2"]()
    assert spec.weights == pytest.approx((0.4, 0.4, 0.2))
    d = spec.prior_predictive(20000, np.random.default_rng(1))
    assert 0.0 < d.min() and d.max() < 1.0 and 0.3 < d.mean() < 0.7
    with pytest.raises(ValueError, match=r"w1, w2, ... > 0 with w1 \+ w2 \+ ... < 1, got \(0.6, 0.5\)"):
        REGISTRY["exnex2"](weight1=0.6, weight2=0.5)
    with pytest.raises(PriorError, match="'tau2'.*positive"):
        spec.with_priors(tau2=Prior("Normal", (0, 1)))


@pytest.mark.slow
def test_two_component_exnex_mcmc_agrees_with_the_engine():
    """Two independent implementations (PyMC with the indicator summed out; the quadrature engine with J = 2)
    agree within 4 MCSE on data with two clusters of groups."""
    from analysis.bayes.crosscheck import crosscheck
    from analysis.bayes.models import REGISTRY

    units = Units(("A", "B", "C", "D"), (9, 8, 1, 2), (10, 10, 10, 10))
    spec = REGISTRY["exnex2"]()
    idata, _, _ = fit(spec, units, MCMC(draws=2000, tune=1500, chains=4, cores=1, seed=7))
    table = crosscheck(spec, units, idata)
    assert (table["z"] < 4).all()
    pi = idata.posterior["pi"].mean(("chain", "draw"))
    assert float(pi.sel(unit="A").isel(component=0)) > float(pi.sel(unit="C").isel(component=0))


def test_per_group_exnex_weights_and_nex_priors_enter_the_graph_as_unit_data():
    from analysis.bayes.models import REGISTRY

    units = Units(("SLE", "IIM", "SSc"), (8, 3, 4), (8, 3, 4))
    spec = REGISTRY["exnex"](group_weights={"SSc": 0.2}, group_nex={"IIM": (-1.0, 1.5)})
    assert spec.group_weights == (("SSc", 0.2),) and spec.group_nex == (("IIM", -1.0, 1.5),)
    model = spec.build(units)
    np.testing.assert_allclose(model["exnex_weight"].get_value(), [0.5, 0.5, 0.2])
    np.testing.assert_allclose(model["nex_0"].get_value(), [0, -1, 0])
    np.testing.assert_allclose(model["nex_1"].get_value(), [2, 1.5, 2])
    eng = spec.engine_model(units.labels)
    np.testing.assert_allclose(eng.group_weights(3)[:, 0], [0.5, 0.5, 0.2])
    assert eng.new_group(3)[0].tolist() == [0.5]  # a new group has the model's weight, not the groups' mean
    # the same structure (one compiled program) as the model without per-group settings
    assert spec.structure() == REGISTRY["exnex"]().structure()
    assert spec.describe()["group_weights"] == (("SSc", 0.2),) and "group_nex" in spec.describe()
    assert "group_weights" not in REGISTRY["exnex"]().describe()
    two = REGISTRY["exnex2"](group_weights={"A": (0.1, 0.7)})
    np.testing.assert_allclose(two.unit_weights(["A", "B"]), [[0.1, 0.7], [0.4, 0.4]])
    for bad, message in [
        (dict(group_weights={"SSc": 1.2}), r"group 'SSc': the EXNEX weight must be in \(0, 1\)"),
        (dict(group_nex={"SSc": (0, -1)}), "group 'SSc': the NEX prior needs a finite mean and sd > 0"),
        (dict(group_nex={" SSc": (0, 1)}), "without outer spaces"),
        (dict(group_weights=[("A", 0.3), ("A", 0.4)]), "named twice"),
    ]:
        with pytest.raises(ValueError, match=message):
            REGISTRY["exnex"](**bad)
    with pytest.raises(ValueError, match=r"group .A.: need weights w1, w2, ... > 0"):
        REGISTRY["exnex2"](group_weights={"A": (0.6, 0.6)})


@pytest.mark.slow
def test_per_group_exnex_mcmc_agrees_with_the_engine():
    """Per-group weights and NEX priors: the compiled sampler (per-unit data, padded) and the engine agree."""
    from analysis.bayes.crosscheck import crosscheck
    from analysis.bayes.models import REGISTRY

    units = Units(("A", "B", "C"), (9, 2, 5), (10, 10, 6))
    spec = REGISTRY["exnex"](group_weights={"A": 0.9, "B": 0.1}, group_nex={"C": (1.0, 1.0)})
    idata, _, _ = fit(spec, units, MCMC(draws=2000, tune=1500, chains=4, cores=1, seed=3))
    table = crosscheck(spec, units, idata)
    assert (table["z"] < 4).all()
    pi = idata.posterior["pi_ex"].mean(("chain", "draw"))
    assert float(pi.sel(unit="A")) > 0.8 and float(pi.sel(unit="B")) < 0.3


def test_exnex_with_three_components_declares_its_parameters():
    from analysis.bayes.models import REGISTRY, PriorError

    spec = REGISTRY["exnex2"](component_weights=(0.3, 0.3, 0.2))
    assert spec.J == 3 and spec.weights == pytest.approx((0.3, 0.3, 0.2, 0.2))
    assert {"mu3", "tau3"} <= set(spec.parameters) and spec.priors["tau3"] == Prior("HalfNormal", (0.5,))
    assert spec.free_parameters() == ["mu", "tau", "mu2", "tau2", "mu3", "tau3", "z", "z2", "z3", "u"]
    assert spec.with_priors(mu3=Prior("Normal", (0, 1))).priors["mu3"] == Prior("Normal", (0, 1))
    with pytest.raises(PriorError, match="has no parameter.*'mu4'"):
        spec.with_priors(mu4=Prior("Normal", (0, 1)))
    with pytest.raises(ValueError, match=r"w1 \+ w2 \+ ... < 1"):
        REGISTRY["exnex2"](component_weights=(0.5, 0.3, 0.3))
    assert spec.engine_model().J == 3 and spec.structure() != REGISTRY["exnex2"]().structure()
    d = spec.prior_predictive(20000, np.random.default_rng(1))
    assert 0.0 < d.min() and d.max() < 1.0


@pytest.mark.slow
def test_three_component_exnex_mcmc_agrees_with_the_engine():
    """J = 3 exchangeable components: PyMC (indicator summed out) and the engine's subset convolution agree."""
    from analysis.bayes.crosscheck import crosscheck
    from analysis.bayes.models import REGISTRY

    units = Units(("A", "B", "C", "D", "E"), (9, 8, 5, 1, 2), (10, 10, 10, 10, 10))
    spec = REGISTRY["exnex2"](component_weights=(0.3, 0.3, 0.3)).with_priors(
        mu=Prior("Normal", (1.5, 1)), mu2=Prior("Normal", (0, 1)), mu3=Prior("Normal", (-1.5, 1))
    )
    idata, _, _ = fit(spec, units, MCMC(draws=2000, tune=1500, chains=4, cores=1, seed=5))
    table = crosscheck(spec, units, idata)
    assert (table["z"] < 4).all()


def test_cli_fits_exnex_with_per_group_settings_end_to_end(tmp_path):
    """The per-group flags through every table of the Bayesian step (a careless-user run found the leave-one-out
    check asking the model for its engine without the groups' labels)."""
    out = tmp_path / "pg"
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "bayes", "--model", "exnex", "--exnex-weight", "SSc=0.3"]
        # the quick preset with TEST_MCMC's lengths: the program test_exnex_flags_a_discordant_disease compiles
        + ["--nex-prior", "IIM=Normal(0, 1.5)", "--fast", "--draws", "1000", "--tune", "1000", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    exch = pd.read_csv(out / "exchangeability.csv").set_index("group")
    assert exch.loc["SSc", "prior"] == 0.3 and exch.loc["SLE", "prior"] == 0.5
    side = json.loads((out / "exnex.json").read_text())
    assert side["model"]["group_weights"] == [["SSc", 0.3]] and side["model"]["group_nex"] == [["IIM", 0.0, 1.5]]
    mc = side["mcmc"]
    assert (mc["chains"], mc["draws"], mc["tune"]) == (2, 1000, 1000)  # the preset, then the flags
    lodo = pd.read_csv(out / "lodo.csv")
    assert set(lodo["group"]) == {"SLE", "IIM", "SSc"}
