"""Simulation-based calibration of the hierarchical model (Talts et al. 2018). Slow: `make test-slow`."""

import os

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from analysis.bayes import sampling as fitmod
from analysis.bayes.models import DEFAULT_MODELS
from analysis.settings import MCMC

REPS = int(os.environ.get("SBC_REPS", "100"))
N = (8, 3, 4)
THIN_TO = 99  # ranks in 0..99, 10 bins of 10


@pytest.mark.slow
def test_sbc_hierarchical_ranks_are_uniform():
    spec = DEFAULT_MODELS["hierarchical"]
    rng = np.random.default_rng(20240222)
    ranks = {"mu": [], "tau": [], "p_SLE": []}
    for r in range(REPS):
        mu = spec.priors["mu"].rvs(1, rng)[0]
        tau = spec.priors["tau"].rvs(1, rng)[0]
        theta = mu + tau * rng.standard_normal(3)
        y = rng.binomial(N, expit(theta))
        units = fitmod.Units(("SLE", "IIM", "SSc"), tuple(int(v) for v in y), N)
        idata = fitmod.sample(spec, units, MCMC(draws=500, tune=500, chains=2, cores=1, seed=1000 + r))
        post = idata.posterior
        idx = np.linspace(0, post.sizes["chain"] * post.sizes["draw"] - 1, THIN_TO).astype(int)
        for name, truth, draws in (
            ("mu", mu, post["mu"].values.ravel()),
            ("tau", tau, post["tau"].values.ravel()),
            ("p_SLE", expit(theta[0]), post["p"].sel(unit="SLE").values.ravel()),
        ):
            ranks[name].append(int(np.sum(draws[idx] < truth)))
    for name, rk in ranks.items():
        counts = np.bincount(np.asarray(rk) // 10, minlength=10)[:10]
        p = stats.chisquare(counts).pvalue
        assert p > 0.001, f"SBC ranks of {name} are not uniform (chi-square p = {p:.2g}): {counts.tolist()}"
