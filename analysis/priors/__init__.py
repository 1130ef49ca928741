"""Priors for follow-up trials after RBesT: mixture priors, MAP priors, ESS, decisions and exact
operating characteristics.  One verb per module:

- families (``mixture.py``): :class:`BetaMixture`, :class:`NormalMixture` (reference scale ``sigma``),
  :class:`GammaMixture` (``likelihood='poisson'`` or ``'exp'``), with density, CDF, quantiles,
  ``.posterior`` (RBesT's ``postmix``) and ``.robustify``;
- :func:`gmap` (``gmap.py``): MAP prior from historical studies (binomial, normal, Poisson);
- :func:`automixfit` / :func:`fit_mixture` (``mixfit.py``): EM mixture approximation of draws;
- :func:`ess` (``ess.py``): ELIR (default), moment and Morita effective sample sizes;
- :func:`preddist`, :func:`conflict` (``preddist.py``): predictive distributions, prior-data conflict;
- :func:`pmixdiff` (``pmixdiff.py``): distribution of a difference (or log odds/relative-risk ratio);
- :func:`decision1S`, :func:`decision1S_boundary` (``decision1S.py``), :func:`decision2S`,
  :func:`decision2S_boundary` (``decision2S.py``): decision rules and critical values;
- :func:`oc1S`, :func:`oc2S`, :func:`pos1S`, :func:`pos2S`: exact operating characteristics and
  probability of success, as functions of the true parameters / design priors;
- :func:`oc1S_interim`, :func:`predictive_probability` (``interim.py``): interim futility;
- :func:`adaptive2S` (``adaptive2S.py``): adaptive two-stage robust-MAP design (Schmidli et al. 2014),
  stage-2 controls from the interim posterior's ESS, exact OC and expected sample sizes;
- :func:`mixmvnorm` / :class:`MvNormalMixture` (``mixmvnorm.py``): multivariate normal mixtures
  (moments, conjugate update with known covariance);
- :func:`as_pymc` (``pymc_prior.py``): a Beta, Normal, Gamma or multivariate normal mixture as a
  prior inside any PyMC model.
"""

from analysis.priors.adaptive2S import Adaptive2S, adaptive2S
from analysis.priors.decision1S import Decision1S, decision1S, decision1S_boundary
from analysis.priors.decision2S import Boundary2S, Decision2S, decision2S, decision2S_boundary
from analysis.priors.ess import ESSError, ess
from analysis.priors.gmap import MAPResult, gmap, gmap_normal, gmap_poisson
from analysis.priors.interim import oc1S_interim, predictive_probability
from analysis.priors.mixfit import automixfit, fit_mixture
from analysis.priors.mixmvnorm import MvNormalMixture, mixmvnorm
from analysis.priors.mixture import BetaMixture, GammaMixture, Mixture, NormalMixture
from analysis.priors.oc1S import oc1S
from analysis.priors.oc2S import oc2S
from analysis.priors.pmixdiff import pmixdiff
from analysis.priors.pos1S import pos1S
from analysis.priors.pos2S import pos2S
from analysis.priors.preddist import conflict, conflict_pvalue, preddist
from analysis.priors.pymc_prior import as_pymc

__all__ = [
    "Adaptive2S",
    "BetaMixture",
    "Boundary2S",
    "Decision1S",
    "Decision2S",
    "ESSError",
    "GammaMixture",
    "MAPResult",
    "MvNormalMixture",
    "Mixture",
    "NormalMixture",
    "adaptive2S",
    "as_pymc",
    "automixfit",
    "conflict",
    "conflict_pvalue",
    "decision1S",
    "decision1S_boundary",
    "decision2S",
    "decision2S_boundary",
    "ess",
    "fit_mixture",
    "gmap",
    "gmap_normal",
    "gmap_poisson",
    "mixmvnorm",
    "oc1S",
    "oc1S_interim",
    "oc2S",
    "pmixdiff",
    "pos1S",
    "pos2S",
    "preddist",
    "predictive_probability",
]
