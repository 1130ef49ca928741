"""The paper states the priors and MCMC settings its fits were made with, read from the fits' own records
(``bayes/<model>.json``), not the code's defaults (issue 20)."""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest

from analysis.bayes.models import DEFAULT_MODELS, Hierarchical
from analysis.bayes.prior import Prior
from analysis.bayes.sampling import cache
from analysis.bayes.step import fit_model
from analysis.bayes.units import Units
from analysis.publish import bayes as pub
from analysis.results import MissingResultError, Results
from analysis.settings import MCMC, SETTINGS

UNITS = Units(("SLE", "IIM", "SSc"), (8, 3, 4), (8, 3, 4))
#: not the paper's settings (SETTINGS.mcmc): the paper must quote these, the ones the fits were made with
MC = MCMC(draws=300, tune=200, chains=2, cores=1, seed=5)


@pytest.fixture
def fake_nuts(monkeypatch):
    """Gate-passing independent draws instead of NUTS: the record, not the draws, is under test."""

    def fake(spec, units, mcmc):
        rng = np.random.default_rng(1)
        c, d, k = mcmc.chains, mcmc.draws, len(units.labels)
        idata = az.from_dict(
            posterior={
                "mu": rng.normal(2, 1, (c, d)),
                "tau": np.abs(rng.normal(0, 1, (c, d))),
                "z": rng.normal(size=(c, d, k)),
                "theta_ex": rng.normal(2, 1, (c, d, k)),
            },
            sample_stats={"diverging": np.zeros((c, d), bool)},
            coords={"unit": list(units.labels)},
            dims={"z": ["unit"], "theta_ex": ["unit"]},
        )
        spec.add_draws(idata, units, np.random.default_rng([mcmc.seed, 1]))
        idata.attrs["sampling_seconds"] = 0.0
        return idata

    monkeypatch.setattr(cache, "sample", fake)


def _results(tmp_path, models: dict) -> Results:
    """A results folder holding what the Bayesian step keeps of ``models``: each fit with its record."""
    for spec in models.values():
        fit_model(spec, UNITS, tmp_path / "bayes", MC, {"index_study.csv": "0" * 64})
    est = pd.DataFrame({"analysis": "bayes", "method": [f"bayes-{name}" for name in models]})
    est.to_csv(tmp_path / "estimates.csv", index=False)
    return Results(tmp_path)


def test_a_fit_with_another_prior_makes_the_paper_state_that_prior(tmp_path, fake_nuts):
    tau, p = Prior("HalfNormal", (0.5,)), Prior("Beta", (2, 3))
    assert tau != DEFAULT_MODELS["hierarchical"].priors["tau"] and p != DEFAULT_MODELS["independent"].priors["p"]
    models = {
        "hierarchical": DEFAULT_MODELS["hierarchical"].with_priors(tau=tau),
        "independent": DEFAULT_MODELS["independent"].with_priors(p=p),
    }
    quoted = pub.fit_variables(_results(tmp_path, models).fit_records)
    # what index.qmd shows as {{< var bayes.priors.hierarchical.tau >}} and {{< var bayes.diag.draws >}}
    assert quoted["priors"]["hierarchical"] == {"mu": "Normal(0, 1.5)", "tau": "HalfNormal(0.5)"}
    assert quoted["priors"]["independent"] == {"p": "Beta(2, 3)"}
    assert (quoted["diag"]["draws"], quoted["diag"]["chains"], quoted["diag"]["seed"]) == (300, 2, 5)
    assert quoted["diag"]["draws"] != SETTINGS.mcmc.draws


def test_the_gates_in_the_caption_are_the_recorded_ones(tmp_path, fake_nuts):
    _results(tmp_path, {"hierarchical": DEFAULT_MODELS["hierarchical"]})
    path = tmp_path / "bayes" / "hierarchical.json"
    record = json.loads(path.read_text())
    record["gates"]["max_r_hat"] = 1.05
    path.write_text(json.dumps(record))
    gates = pub.fit_settings(Results(tmp_path).fit_records)["gates"]
    empty = pd.DataFrame(columns=["model", "r_hat", "ess_bulk", "ess_tail", "divergences"])
    assert "exceeds 1.05" in pub.diagnostics_table(empty, empty, gates)
    assert 1.05 != SETTINGS.gates.max_r_hat


def test_fits_with_different_settings_are_refused(tmp_path, fake_nuts):
    wide = Hierarchical(name="wide", priors={**DEFAULT_MODELS["hierarchical"].priors, "tau": Prior("HalfNormal", (2,))})
    records = _results(tmp_path, {"hierarchical": DEFAULT_MODELS["hierarchical"], "wide": wide}).fit_records
    assert pub.fit_variables(records)["priors"]["wide"]["tau"] == "HalfNormal(2)"
    exnex = {"kind": "exnex", "name": "exnex", "priors": {}, "exnex_weight": 0.3}
    assert pub.fit_variables({**records, "exnex": {**records["wide"], "model": exnex}})["diag"]["exnex_weight"] == "0.3"
    records["wide"]["mcmc"] = {**records["wide"]["mcmc"], "draws": 999}
    with pytest.raises(MissingResultError, match=r"'hierarchical' and 'wide' record different MCMC settings"):
        pub.fit_settings(records)


def test_a_record_without_priors_is_a_clear_error(tmp_path, fake_nuts):
    _results(tmp_path, {"independent": DEFAULT_MODELS["independent"]})
    (tmp_path / "bayes" / "independent.json").write_text("{}")
    with pytest.raises(MissingResultError, match=r"independent\.json: no model and priors recorded"):
        Results(tmp_path).fit_records  # noqa: B018 - the property reads the records
