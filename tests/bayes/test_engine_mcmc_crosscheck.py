"""The engine against PyMC NUTS (within 4 Monte Carlo SEs), on the sarcoma data of Neuenschwander et al. (2016).

Data and priors: Neuenschwander, Wandel, Roychoudhury & Bailey (2016), Pharmaceutical Statistics
15:123-134, Table 1 (imatinib in 10 sarcoma strata, Chugh et al. 2009), as reproduced in the
exnexstan vignette (github.com/maxdrohde/exnexstan, vignettes/exnex_binary_vignette.qmd):
r = 2,0,1,6,7,3,5,1,0,3; n = 15,13,12,28,29,29,26,5,2,20; mu ~ N(-1.73, 2.616), tau ~ HalfNormal(1),
NEX ~ N(-1.73, 2.801), prior exchangeability probability 0.5.  The published posterior table of the
paper could not be retrieved, so the reference here is MCMC on the same model.
"""

import numpy as np
import pytest

from analysis.bayes.engine import Engine, EngineModel, MCMCMismatch, compare_mcmc

R = np.array([2, 0, 1, 6, 7, 3, 5, 1, 0, 3])
N = np.array([15, 13, 12, 28, 29, 29, 26, 5, 2, 20])


def _fit(y, n, exnex: bool, seed: int = 11, draws: int = 1000):
    import pymc as pm
    import pytensor.tensor as pt
    import xarray as xr
    from scipy.special import expit

    K = len(y)
    with pm.Model(coords={"unit": [f"s{k}" for k in range(K)]}):
        mu = pm.Normal("mu", -1.73, 2.616)
        tau = pm.HalfNormal("tau", 1.0)
        z = pm.Normal("z", 0, 1, dims="unit")
        th = mu + tau * z
        if exnex:
            u = pm.Normal("u", 0, 1, dims="unit")
            thn = -1.73 + 2.801 * u
            a = np.log(0.5) + pm.logp(pm.Binomial.dist(n=n, logit_p=th), y)
            b = np.log(0.5) + pm.logp(pm.Binomial.dist(n=n, logit_p=thn), y)
            pm.Potential("lik", pt.logaddexp(a, b).sum())
            pm.Deterministic("pex", pt.sigmoid(a - b), dims="unit")
            pm.Deterministic("thn", thn, dims="unit")
        else:
            pm.Binomial("y", n=n, logit_p=th, observed=y, dims="unit")
        pm.Deterministic("th", th, dims="unit")
        idata = pm.sample(draws, tune=1000, chains=2, cores=1, random_seed=seed, target_accept=0.99, progressbar=False)
    post = idata.posterior
    rng = np.random.default_rng(seed)
    if exnex:
        ex = rng.random(post["pex"].shape) < post["pex"].values
        post["p"] = xr.where(ex, expit(post["th"]), expit(post["thn"]))
        shape = post["mu"].shape
        new_ex = rng.random(shape) < 0.5
        tn = np.where(
            new_ex, post["mu"] + post["tau"] * rng.standard_normal(shape), -1.73 + 2.801 * rng.standard_normal(shape)
        )
    else:
        post["p"] = expit(post["th"])
        tn = post["mu"] + post["tau"] * rng.standard_normal(post["mu"].shape)
    post["p_new"] = (("chain", "draw"), expit(np.asarray(tn)))
    return idata


@pytest.mark.slow
@pytest.mark.parametrize("exnex", [False, True], ids=["hierarchical", "exnex"])
def test_sarcoma_engine_agrees_with_pymc(exnex):
    model = (
        EngineModel.exnex("Normal(-1.73, 2.616)", "HalfNormal(1)", (-1.73, 2.801), 0.5, name="sarcoma-exnex")
        if exnex
        else EngineModel.hierarchical("Normal(-1.73, 2.616)", "HalfNormal(1)", name="sarcoma-hier")
    )
    post = Engine(model, int(N.sum())).posterior(R, N)
    rows = compare_mcmc(_fit(R, N, exnex), post)  # raises naming model, group and quantity
    assert len(rows) == 3 * (len(R) + 1)


def test_mismatch_is_reported_with_model_group_and_quantity():
    import arviz as az

    post = Engine(EngineModel.hierarchical("Normal(0, 1.5)", "HalfNormal(1)", name="m"), 24).posterior([3, 9], [12, 12])
    rng = np.random.default_rng(0)
    fake = az.from_dict(posterior={"p": rng.beta(2, 2, size=(2, 500, 2)), "p_new": rng.beta(2, 2, size=(2, 500))})
    with pytest.raises(MCMCMismatch, match=r"model 'm', group '0', mean"):
        compare_mcmc(fake, post)
