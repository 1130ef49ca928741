"""Meta-analytic-predictive (MAP) priors (Neuenschwander et al. 2010; Schmidli et al. 2014).

The historical studies enter a hierarchical binomial model,
``logit(p_j) ~ Normal(mu, tau)``; the MAP prior is the posterior predictive
distribution of a new study's rate, ``expit(mu + tau * e)`` with
``e ~ Normal(0, 1)``.  It is sampled with the same non-centred PyMC model,
sampler settings and convergence gates as the analysis models
(:mod:`analysis.bayes.sampling`), then approximated by a Beta mixture
(:func:`analysis.priors.mixfit.automixfit`).

Defaults follow RBesT's worked example: ``tau ~ HalfNormal(1)`` and
``mu ~ Normal(0, 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.bayes.models import Hierarchical
from analysis.bayes.prior import Prior
from analysis.bayes.sampling import fit
from analysis.bayes.units import Units
from analysis.priors.mixfit import automixfit
from analysis.priors.mixture import BetaMixture
from analysis.settings import MCMC, SETTINGS, Gates

MAP_PRIORS = {"mu": Prior("Normal", (0, 2)), "tau": Prior("HalfNormal", (1,))}


@dataclass
class MAPResult:
    """The MAP prior: its draws, its mixture approximation, and how it was obtained."""

    studies: Units
    spec: Hierarchical
    draws: np.ndarray
    mixture: BetaMixture
    fits: list[dict] = field(default_factory=list)
    diagnostics: object = None
    tau_draws: np.ndarray | None = None

    def summary(self) -> dict:
        q = np.quantile(self.draws, [0.025, 0.5, 0.975])
        return {
            "mean": float(self.draws.mean()),
            "sd": float(self.draws.std(ddof=1)),
            "q025": float(q[0]),
            "q50": float(q[1]),
            "q975": float(q[2]),
            "tau_median": float(np.median(self.tau_draws)) if self.tau_draws is not None else None,
        }


def gmap(
    labels,
    events,
    n,
    mu: Prior = MAP_PRIORS["mu"],
    tau: Prior = MAP_PRIORS["tau"],
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    max_components: int = 4,
) -> MAPResult:
    """Fit the MAP model to historical studies and approximate the MAP prior by a Beta mixture."""
    units = Units(tuple(labels), tuple(int(x) for x in events), tuple(int(m) for m in n))
    spec = Hierarchical(name="map", priors={"mu": mu, "tau": tau})
    idata, diag = fit(spec, units, None, mcmc, gates)
    draws = idata.posterior["p_new"].values.ravel()
    mixture, fits = automixfit(draws, max_components)
    return MAPResult(units, spec, draws, mixture, fits, diag, idata.posterior["tau"].values.ravel())
