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

Other families (RBesT's ``gMAP`` with ``family = gaussian`` or ``poisson``), :func:`gmap_normal`
and :func:`gmap_poisson`: ``y_j ~ Normal(theta_j, se_j)`` (the MAP prior of a mean is
``mu + tau e``, approximated by a :class:`NormalMixture` with reference scale ``sigma``) and
``y_j ~ Poisson(exposure_j exp(theta_j))`` (the MAP prior of a rate is ``exp(mu + tau e)``,
approximated by a :class:`GammaMixture`).  Both use the same non-centred parameterisation, NUTS
settings and convergence gates (:func:`analysis.bayes.sampling.diagnostics`, :func:`analysis.bayes.sampling.check_gates`).
Defaults: normal ``mu ~ Normal(0, 100 sigma)``, ``tau ~ HalfNormal(sigma / 2)`` (RBesT's
normal-endpoint example uses a half-normal with scale sigma / 2); Poisson ``mu ~ Normal(0, 2)``,
``tau ~ HalfNormal(1)`` on the log-rate scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.bayes.models import Hierarchical
from analysis.bayes.prior import Prior
from analysis.bayes.sampling import check_gates, diagnostics, fit, run_nuts
from analysis.bayes.units import Units
from analysis.priors.mixfit import automixfit
from analysis.priors.mixture import Mixture
from analysis.settings import MCMC, SETTINGS, Gates

MAP_PRIORS = {"mu": Prior("Normal", (0, 2)), "tau": Prior("HalfNormal", (1,))}


@dataclass
class MAPResult:
    """The MAP prior: its draws, its mixture approximation, and how it was obtained.

    Attributes
    ----------
    studies : Units
        The historical studies fitted.
    spec : Hierarchical
        The MAP model with its priors.
    draws : numpy.ndarray
        Draws of a new study's parameter (the MAP prior).
    mixture : Mixture
        Its mixture approximation (:func:`automixfit`).
    fits : list of dict
        The mixture fits tried, as :func:`automixfit` reports them.
    diagnostics : pandas.DataFrame or None
        The MCMC fit's convergence diagnostics.
    tau_draws, mu_draws : numpy.ndarray or None
        Draws of the between-study standard deviation and the population mean.
    """

    studies: Units
    spec: Hierarchical
    draws: np.ndarray
    mixture: Mixture
    fits: list[dict] = field(default_factory=list)
    diagnostics: object = None
    tau_draws: np.ndarray | None = None
    mu_draws: np.ndarray | None = None

    def summary(self) -> dict:
        q = np.quantile(self.draws, [0.025, 0.5, 0.975])
        return {
            "mean": float(self.draws.mean()),
            "sd": float(self.draws.std(ddof=1)),
            "q025": float(q[0]),
            "q50": float(q[1]),
            "q975": float(q[2]),
            "tau_median": float(np.median(self.tau_draws)) if self.tau_draws is not None else None,
            **self._hyper("tau", self.tau_draws),
            **self._hyper("mu", self.mu_draws),
        }

    @staticmethod
    def _hyper(name: str, draws) -> dict:
        """Median and 95% interval of a hyperparameter of the MAP model (the Bayesian meta-analysis)."""
        if draws is None:
            return {}
        q = np.quantile(draws, [0.025, 0.5, 0.975])
        return {f"{name}_q025": float(q[0]), f"{name}_q50": float(q[1]), f"{name}_q975": float(q[2])}


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
    """Fit the MAP model to historical studies and approximate the MAP prior by a Beta mixture (RBesT's
    ``gMAP`` with a binomial likelihood and a logit link).

    Parameters
    ----------
    labels : sequence of str
        The studies' names.
    events, n : sequence of int
        Each study's responders and patients.
    mu, tau : Prior, optional
        Priors of the population mean and of the between-study standard deviation (on the link scale).
    mcmc : MCMC
        Sampler settings (default: the paper's).
    gates : Gates
        Convergence gates; a fit that fails one raises :class:`~analysis.bayes.sampling.ConvergenceError`.
    max_components : int
        The most mixture components :func:`automixfit` tries.

    Returns
    -------
    MAPResult
        The MAP prior's draws, its Beta-mixture approximation and the fit behind it.

    References
    ----------
    Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ (2010). Summarizing historical information on
    controls in clinical trials. Clinical Trials 7(1):5-18.

    Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B (2014). Robust
    meta-analytic-predictive priors in clinical trials with historical control information. Biometrics
    70(4):1023-1032.
    """
    units = Units(tuple(labels), tuple(int(x) for x in events), tuple(int(m) for m in n))
    spec = Hierarchical(name="map", priors={"mu": mu, "tau": tau})
    idata, diag, _ = fit(spec, units, mcmc, gates)
    draws = idata.posterior["p_new"].values.ravel()
    mixture, fits = automixfit(draws, max_components)
    post = idata.posterior
    return MAPResult(units, spec, draws, mixture, fits, diag, post["tau"].values.ravel(), post["mu"].values.ravel())


#: the MAP models' likelihoods besides the binomial one (which is the registry's Hierarchical model): name ->
#: ``f(pm, theta, aux, y)`` adding the observed node, ``aux`` being each study's standard error or exposure.  A new
#: MAP family is one entry here (RBesT's ``gMAP`` families: binomial, gaussian, poisson).
MAP_LIKELIHOODS = {
    "normal": lambda pm, theta, se, y: pm.Normal("y", mu=theta, sigma=se, observed=y, dims="unit"),
    "poisson": lambda pm, theta, exposure, y: pm.Poisson(
        "y", mu=exposure * pm.math.exp(theta), observed=y, dims="unit"
    ),
}


def map_likelihood(kind: str):
    """The likelihood of MAP family ``kind``; an unknown name lists the known ones."""
    if kind not in MAP_LIKELIHOODS:
        raise ValueError(f"unknown MAP model family {kind!r}; expected one of {sorted(MAP_LIKELIHOODS)}")
    return MAP_LIKELIHOODS[kind]


def _sample_map(kind: str, y, scale_or_exposure, mu: Prior, tau: Prior, mcmc: MCMC, gates: Gates, seed_offset=2):
    import pymc as pm  # here: the binomial MAP fits use the compiled sampler, which does not need PyMC loaded

    y = np.asarray(y, float)
    aux = np.asarray(scale_or_exposure, float)
    spec = Hierarchical(name=f"map-{kind}", priors={"mu": mu, "tau": tau})
    # the priors as given (a HalfCauchy tau stays HalfCauchy); the model is checked like every other fit
    with pm.Model(coords={"unit": [f"s{i}" for i in range(len(y))]}) as model:
        m, t = mu.pymc("mu"), tau.pymc("tau")
        z = pm.Normal("z", 0.0, 1.0, dims="unit")
        theta = m + t * z
        map_likelihood(kind)(pm, theta, aux, y)
    idata = run_nuts(model, mcmc)
    diag = diagnostics(idata, spec)
    check_gates(diag, gates)
    post = idata.posterior
    rng = np.random.default_rng([mcmc.seed, seed_offset])
    theta_new = (post["mu"] + post["tau"] * rng.standard_normal(post["mu"].shape)).values.ravel()
    return spec, theta_new, diag, post["tau"].values.ravel()


def gmap_normal(
    labels,
    means,
    se,
    sigma: float,
    mu: Prior | None = None,
    tau: Prior | None = None,
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    max_components: int = 4,
) -> MAPResult:
    """MAP prior for a mean from study means and their standard errors; a NormalMixture with reference scale sigma.

    Parameters
    ----------
    labels : sequence of str
        The studies' names.
    means, se : sequence of float
        Each study's mean and its standard error.
    sigma : float
        The reference scale: the sampling standard deviation of one observation.
    mu, tau : Prior, optional
        Priors of the population mean and of the between-study standard deviation (on the link scale).
    mcmc : MCMC
        Sampler settings (default: the paper's).
    gates : Gates
        Convergence gates; a fit that fails one raises :class:`~analysis.bayes.sampling.ConvergenceError`.
    max_components : int
        The most mixture components :func:`automixfit` tries.

    Returns
    -------
    MAPResult
        The MAP prior's draws, its Normal-mixture approximation and the fit behind it.

    References
    ----------
    Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ (2010). Summarizing historical information on
    controls in clinical trials. Clinical Trials 7(1):5-18.

    Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B (2014). Robust
    meta-analytic-predictive priors in clinical trials with historical control information. Biometrics
    70(4):1023-1032.
    """
    mu = mu or Prior("Normal", (0.0, 100.0 * sigma))
    tau = tau or Prior("HalfNormal", (sigma / 2,))
    spec, draws, diag, tau_d = _sample_map("normal", means, se, mu, tau, mcmc, gates)
    mixture, fits = automixfit(draws, max_components, family="normal", sigma=sigma)
    units = Units(tuple(labels), tuple(0 for _ in labels), tuple(1 for _ in labels))
    return MAPResult(units, spec, draws, mixture, fits, diag, tau_d)


def gmap_poisson(
    labels,
    counts,
    exposure,
    mu: Prior | None = None,
    tau: Prior | None = None,
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    max_components: int = 4,
) -> MAPResult:
    """MAP prior for an event rate from study counts and exposures; a GammaMixture (Poisson likelihood).

    Parameters
    ----------
    labels : sequence of str
        The studies' names.
    counts : sequence of int
        Each study's events.
    exposure : sequence of float
        Each study's exposure (e.g. patient-years).
    mu, tau : Prior, optional
        Priors of the population mean and of the between-study standard deviation (on the log scale).
    mcmc : MCMC
        Sampler settings (default: the paper's).
    gates : Gates
        Convergence gates; a fit that fails one raises :class:`~analysis.bayes.sampling.ConvergenceError`.
    max_components : int
        The most mixture components :func:`automixfit` tries.

    Returns
    -------
    MAPResult
        The MAP prior's draws, its Gamma-mixture approximation and the fit behind it.

    References
    ----------
    Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ (2010). Summarizing historical information on
    controls in clinical trials. Clinical Trials 7(1):5-18.

    Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B (2014). Robust
    meta-analytic-predictive priors in clinical trials with historical control information. Biometrics
    70(4):1023-1032.
    """
    mu = mu or Prior("Normal", (0.0, 2.0))
    tau = tau or Prior("HalfNormal", (1.0,))
    spec, log_draws, diag, tau_d = _sample_map("poisson", counts, exposure, mu, tau, mcmc, gates)
    draws = np.exp(log_draws)
    mixture, fits = automixfit(draws, max_components, family="gamma", likelihood="poisson")
    units = Units(tuple(labels), tuple(int(c) for c in counts), tuple(max(int(c), 1) for c in counts))
    return MAPResult(units, spec, draws, mixture, fits, diag, tau_d)
