"""Keys of the priors-and-designs file that the builder now uses as documented (issue 23, the review of the
priors file): a Gamma prior from counts, the MAP fit's mu and tau for every MAP family, a two-sample design's
power_rate and the schema's seed.  The refusals are rows of SPEC_CASES in tests/test_bad_inputs.py."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

import analysis.priors.spec as spec_module
from analysis.bayes.prior import Prior
from analysis.priors import BetaMixture, decision2S, oc2S
from analysis.priors.gmap import MAP_LIKELIHOODS
from analysis.priors.schema import Spec
from analysis.priors.spec import load_spec, run
from analysis.settings import MCMC_FAST, SETTINGS

COUNTS = 'studies = [{name = "a", y = 3, exposure = 10.0}, {name = "b", y = 5, exposure = 12.0}]\n'
MEANS = 'sigma = 1.5\nstudies = [{name = "a", m = 1.0, se = 0.5}, {name = "b", m = 1.2, se = 0.4}]\n'


@pytest.fixture
def fits(monkeypatch):
    """Record the arguments of the MAP fits instead of sampling (the fits themselves: test_spec_cli_gmap.py)."""
    calls = []

    def fake(kind):
        def fit(labels, y, aux, *args, mu=None, tau=None, mcmc=None, max_components=4):
            calls.append({"kind": kind, "y": list(y), "aux": list(aux), "args": args, "mu": mu, "tau": tau})
            raise RuntimeError("recorded")

        return fit

    monkeypatch.setattr(spec_module, "gmap_poisson", fake("poisson"))
    monkeypatch.setattr(spec_module, "gmap_normal", fake("normal"))
    return calls


def _build(tmp_path, prior: str):
    path = tmp_path / "p.toml"
    path.write_text(f'[[prior]]\nname = "x"\n{prior}')
    (p,) = load_spec(path)["prior"]
    with pytest.raises(RuntimeError, match="recorded"):
        spec_module.build_prior(p, MCMC_FAST)


def test_a_gamma_prior_from_counts_is_the_poisson_map_prior(tmp_path, fits):
    """family = "gamma" with studies {y, exposure} was sent to the binomial MAP model ("each needs name, n and r");
    the counts have a MAP model (the Poisson one), whose mixture is a Gamma mixture."""
    assert "poisson" in MAP_LIKELIHOODS
    _build(tmp_path, 'family = "gamma"\n' + COUNTS)
    assert fits == [{"kind": "poisson", "y": [3, 5], "aux": [10.0, 12.0], "args": (), "mu": None, "tau": None}]


@pytest.mark.parametrize(
    "family, data, mu, tau",
    [("poisson", COUNTS, "Normal(-1, 1)", "HalfNormal(0.5)"), ("normal", MEANS, "Normal(1, 10)", "HalfCauchy(1)")],
)
def test_mu_and_tau_reach_every_map_fit(tmp_path, fits, family, data, mu, tau):
    """mu and tau were accepted for Normal and Poisson MAP priors and then ignored (the fits used their defaults)."""
    _build(tmp_path, f'family = "{family}"\n{data}mu = "{mu}"\ntau = "{tau}"\n')
    (call,) = fits
    assert call["kind"] == family and call["mu"] == Prior.parse(mu) and call["tau"] == Prior.parse(tau)
    if family == "normal":
        assert call["args"] == (1.5,)  # sigma


SPEC = """[[prior]]
name = "t"
mixture = [[1.0, 1.0, 1.0]]
[[prior]]
name = "c"
mixture = [[0.8, 6.0, 14.0], [0.2, 1.0, 1.0]]
[[design]]
name = "two"
type = "two-sample"
prior_treatment = "t"
prior_control = "c"
n_t = 24
n_c = 12
c = 0.9
p_c = 0.3
grid = 11
"""


def test_two_sample_power_is_the_oc_at_power_rate_against_p_c(tmp_path):
    """power_rate of a two-sample design was copied to designs.json and never used: it is the treatment value at
    which the power is reported, the control value being p_c (as one-sample designs report it at power_rate)."""
    path = tmp_path / "s.toml"
    path.write_text(SPEC + "power_rate = 0.65\n")
    d = run(path, tmp_path / "out")["designs"]["two"]
    oc = oc2S(BetaMixture([(1.0, 1, 1)]), BetaMixture([(0.8, 6, 14), (0.2, 1, 1)]), 24, 12, decision2S(0.9, 0.0, False))
    assert_allclose(d["power"], oc(0.65, 0.3), rtol=1e-12)
    assert 0.05 < d["power"] < 0.999 and d["power"] > float(oc(0.3, 0.3))  # an alternative, above the type I error
    path.write_text(SPEC)
    d = run(path, tmp_path / "out2")["designs"]["two"]
    assert "power" not in d and "power_rate" not in d  # no alternative given: none invented


def test_the_seed_has_one_source(tmp_path):
    """The schema's default seed is the analysis' seed, and a file without one is run (and recorded) with it."""
    assert Spec.model_fields["seed"].default == SETTINGS.mcmc.seed
    path = tmp_path / "s.toml"
    path.write_text(SPEC)
    run(path, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "priors.json").read_text())["seed"] == SETTINGS.mcmc.seed
    path.write_text("seed = 7\n" + SPEC)
    run(path, tmp_path / "out7")
    assert json.loads((tmp_path / "out7" / "priors.json").read_text())["seed"] == 7
    assert np.isfinite(json.loads((tmp_path / "out7" / "designs.json").read_text())["two"]["oc"]).all()
