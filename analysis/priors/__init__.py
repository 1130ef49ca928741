"""Priors for follow-up trials: MAP priors, Beta mixtures, ESS and design operating characteristics.

The workflow, one verb per module (after RBesT):

- :func:`gmap` (``gmap.py``): fit the meta-analytic-predictive model to historical studies;
- :func:`automixfit` (``mixfit.py``): approximate the MAP draws by a Beta mixture;
- :meth:`BetaMixture.robustify`, :meth:`BetaMixture.posterior`, :meth:`BetaMixture.ess` (``mixture.py``, ``ess.py``);
- :func:`decision1S`, :func:`oc1S`, :func:`pos1S`, :func:`decision2S`, :func:`oc2S`, :func:`pos2S`,
  :func:`oc1S_interim` (``design.py``): decision rules and their exact operating characteristics;
- :func:`as_pymc` (``pymc_prior.py``): a mixture as a prior inside any PyMC model.
"""

from analysis.priors.design import (
    conflict_pvalue,
    decision1S,
    decision2S,
    oc1S,
    oc1S_interim,
    oc2S,
    pos1S,
    pos2S,
    predictive_probability,
    simulate_oc1S,
)
from analysis.priors.ess import ESSError, ess
from analysis.priors.gmap import MAPResult, gmap
from analysis.priors.mixfit import automixfit, fit_mixture
from analysis.priors.mixture import BetaMixture
from analysis.priors.pymc_prior import as_pymc

__all__ = [
    "BetaMixture",
    "ESSError",
    "MAPResult",
    "as_pymc",
    "automixfit",
    "conflict_pvalue",
    "decision1S",
    "decision2S",
    "ess",
    "fit_mixture",
    "gmap",
    "oc1S",
    "oc1S_interim",
    "oc2S",
    "pos1S",
    "pos2S",
    "predictive_probability",
    "simulate_oc1S",
]
