"""The one home of paths, assumptions and MCMC settings.

Every default that changes a number in the paper lives here, so that a
reviewer can see all assumptions in one place and the provenance files can
record them.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the data folder every step reads by default: the paper's, or another cohort's (an index-study file and a
#: study.yml; the other files of the paper's folder are optional there: analysis.data.schema.optional_here)
#: (``ANALYSIS_DATA=path/to/cohort``; ``python -m analysis validate --data path/to/cohort`` checks it first)
DATA_RAW = Path(os.environ.get("ANALYSIS_DATA") or ROOT / "data" / "raw").resolve()
INDEX_STUDY = DATA_RAW / "index_study.csv"
COHORTS = DATA_RAW / "published_cohorts.csv"
RESULTS = ROOT / "results"
MANUSCRIPT = ROOT / "manuscript"
FIGURES = MANUSCRIPT / "figures"
TABLES = MANUSCRIPT / "tables"

#: the paper's priors-and-designs specification (the MAP priors, the trial designs and the index-study models'
#: sensitivity setting ``[index_models]``): the one file a reviewer edits for them
PRIORS_SPEC = ROOT / "config" / "follow_up.toml"
#: The order of the groups in every table and figure is the data's: the order in which they first appear in the
#: index-study file (:func:`analysis.data.group_order`); no group is named in code.
#: The whole-cohort row of the index study, and the predictive "new group" of the hierarchical models.
TOTAL = "all"
NEW_GROUP = "new"
#: Endpoint codes of the index-study data (codebook: data/README.md).
ENDPOINTS: tuple[str, ...] = (
    "response",
    "drug_free",
    "crs_any",
    "crs_grade2plus",
    "crs_grade3plus",
    "icans_any",
    "icans_grade2plus",
    "infection_hospitalised",
)
SAFETY_ENDPOINTS: tuple[str, ...] = ENDPOINTS[2:]
LEVEL = 0.95


@dataclass(frozen=True)
class Benchmarks:
    """Benchmark response rates for refractory disease on standard therapy.

    These are *assumptions*, not published rates: no source in
    ``../shared/evidence`` gives a response rate for patients refractory to at
    least two conventional therapies.  The default of 0.20 is a deliberately
    generous reading of what a further line of conventional therapy achieves
    in such patients; the grid shows how every conclusion moves when the
    assumption changes.
    """

    default: float = 0.20
    grid: tuple[float, ...] = (0.05, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80)


@dataclass(frozen=True)
class MetaAnalysis:
    """Settings of the meta-analysis of published cohorts (:mod:`analysis.frequentist.meta`).

    The primary analysis is the exact binomial-normal random-effects model
    fitted by maximum likelihood (:mod:`analysis.frequentist.binomial_normal`; no
    continuity correction), with profile-likelihood intervals; ``tau_max`` is
    the upper end of the search for the between-study SD (logit scale).
    Strata (disease x endpoint class) with fewer than ``min_studies`` cohorts
    are not pooled.

    DerSimonian-Laird (``method_re``) on continuity-corrected logits is kept
    as a labelled sensitivity analysis only: ``continuity`` is added to both
    cells of every study (not only to studies with a zero cell) before the
    logit transform, so that the logit and its variance are finite for 100%
    response (Sweeting et al. 2004 discuss alternatives; 0.5 is the
    conventional Haldane-Anscombe choice).
    """

    primary: str = "binomial-normal-ml"
    min_studies: int = 2
    tau_max: float = 20.0
    continuity: float = 0.5
    method_re: str = "dl"


@dataclass(frozen=True)
class MCMC:
    """NUTS settings.  ``FAST`` is the preset used by unit tests only.

    ``sampler``: ``numpyro`` (default) is numpyro's NUTS on the PyMC model's JAX log density, compiled once per
    model kind and used for every fit of that kind, chains vectorised; ``pymc`` and ``nutpie`` sample through
    ``pm.sample`` (``cores`` processes or threads).  ``pad_units``: the compiled sampler pads the units with
    empty ones (n = 0) to a multiple of this, so that fits with 2 to 8 units share one program.

    Seed scheme 2 (since the compiled sampler; results of scheme 1, ``pm.sample(nuts_sampler="numpyro")``,
    agree within Monte Carlo error): a fit with seed ``s`` and ``C`` chains runs chain ``c`` with the JAX key
    ``jax.random.split(jax.random.PRNGKey(s), C)[c]`` from Uniform(-1, 1) initial values of the unconstrained
    parameters drawn by ``numpy.random.default_rng([s, 3])``; post-processing draws use
    ``numpy.random.default_rng([s, 1])`` (:mod:`analysis.bayes.sampling`).  Every fit of the paper uses ``seed``.
    """

    draws: int = 2000
    tune: int = 2000
    chains: int = 4
    cores: int = 2
    target_accept: float = 0.99
    seed: int = 20240222
    sampler: str = "numpyro"
    pad_units: int = 8
    seed_scheme: int = 2


MCMC_DEFAULT = MCMC()
MCMC_FAST = MCMC(draws=500, tune=500, chains=2, cores=1)


@dataclass(frozen=True)
class Gates:
    """Convergence gates: a fit that fails any of them fails the build."""

    max_r_hat: float = 1.01
    min_ess_bulk: float = 400.0
    min_ess_tail: float = 400.0
    max_divergences: int = 0


@dataclass(frozen=True)
class Settings:
    benchmarks: Benchmarks = field(default_factory=Benchmarks)
    meta: MetaAnalysis = field(default_factory=MetaAnalysis)
    mcmc: MCMC = field(default_factory=MCMC)
    gates: Gates = field(default_factory=Gates)

    def as_dict(self) -> dict:
        return asdict(self)


SETTINGS = Settings()
