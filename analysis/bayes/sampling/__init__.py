"""Sample a registered model with NUTS, check the convergence gates, cache the fit.

Parameterisation.  With every patient responding, the likelihood pushes each
disease's logit towards +infinity and the posterior of the between-disease
sd ``tau`` has a funnel near 0.  The models are therefore non-centred
(``theta = mu + tau * z`` with ``z ~ Normal(0, 1)``), the priors are proper
and weakly informative, and NUTS runs with ``target_accept = 0.99`` (see
:class:`analysis.settings.MCMC`).  Divergences are never silenced: any
divergence fails the gate.

Compiled once, sampled many times (the default sampler, ``numpyro``).  The
PyMC model (:meth:`Model.build`) takes its prior hyperparameters, the EXNEX
weight and the counts as ``pm.Data``.  Its log density becomes one JAX
function of (parameters, hyperparameters, counts), and numpyro's NUTS kernel
(warm-up, then draws; chains vectorised) is jitted around it once per model
structure (kind and prior families), padded number of units and MCMC
settings; every scenario with that structure is a call with other arguments.
Units are padded with empty units (``n = 0``: no likelihood; their ``z`` and
``u`` are independent Normal(0, 1) draws, dropped from the results) to a
multiple of ``MCMC.pad_units``, so that the index study (3 diseases), a
disease left out (2), the MAP priors' study sets (2 to 4) and the external
cohorts (8) share one compiled sampler per model kind.  When
``ANALYSIS_JAX_CACHE`` names a directory, compiled samplers are kept there
under ``programs/``: the XLA executable serialised with
:mod:`jax.experimental.serialize_executable`, keyed by the program key, the
code hash, the package versions, the XLA flags, the machine's architecture
and CPU features.  ``make`` keeps them with the environment
(``.venv/.analysis-cache``, the 64 most recently used), so that a build traces and
compiles a program only when no earlier build of the same code did (the
``samplers`` step, first), and every later step, build and test loads the
executable (tens of milliseconds instead of seconds of tracing and
compiling).  The files are unpickled: the directory must be the user's own.
A cached program is the same program and gives the same draws.  ``pymc`` and ``nutpie`` go through ``pm.sample``, compiling per fit.

Seeds (scheme 2, from the compiled sampler on; scheme 1 was ``pm.sample``'s).
For a fit with seed ``s`` (``MCMC.seed``) and ``C`` chains: chain ``c`` runs
NUTS with the JAX key ``jax.random.split(jax.random.PRNGKey(s), C)[c]`` and
starts from Uniform(-1, 1) values of every unconstrained parameter, drawn by
``numpy.random.default_rng([s, 3])`` (chain by chain, parameters in model
order, padded units included).  The post-processing generator (draws of each
group's and a new group's rate, :meth:`Model.add_draws`) is
``numpy.random.default_rng([s, 1])``.  A fit's draws depend only on its own
model, priors, data, settings and seed, never on which step or which other
fits ran before it; the same seed gives the same draws.

Cache.  A fit is stored as netCDF with a JSON sidecar whose ``cache_key``
hashes everything that determines the draws: model and priors, data, MCMC
settings, package versions and the source code of ``analysis/bayes`` and
``analysis/settings.py`` (:func:`code_hash`).  A stored fit is read back only
when its key matches; a fit with the same key stored by another step
(``reuse``: the sensitivity step reuses the main fits) is copied instead of
refitted; an unreadable netCDF or sidecar is refitted with a warning.

Modules, one role each: :mod:`~.keys` (cache keys and the code hash), :mod:`~.trace` (a model's sampler
as one JAX program), :mod:`~.programs` (the store of compiled programs), :mod:`~.nuts` (sampling),
:mod:`~.gates` (convergence gates), :mod:`~.cache` (the fit cache, read only: :func:`fit`, :func:`fit_record`).
"""

import os

#: XLA on one thread per process: the models are tiny, and XLA's thread pool spins on an oversubscribed
#: machine (set before JAX starts; an XLA_FLAGS of the user's is kept and extended)
_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
if "intra_op_parallelism_threads" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _XLA_FLAGS).strip()

from analysis.bayes.sampling.cache import find_fit, fit, fit_record  # noqa: E402 - after XLA_FLAGS, before JAX starts
from analysis.bayes.sampling.gates import ConvergenceError, check_gates, diagnostics  # noqa: E402
from analysis.bayes.sampling.keys import CODE_FILES, CacheWarning, cache_key, code_hash, model_sources  # noqa: E402
from analysis.bayes.sampling.nuts import run_nuts, sample  # noqa: E402
from analysis.bayes.sampling.programs import KEEP_PROGRAMS, prepare, program_cache  # noqa: E402
from analysis.bayes.sampling.trace import get_jaxified_graph, padded_size  # noqa: E402

__all__ = [
    "CODE_FILES",
    "KEEP_PROGRAMS",
    "CacheWarning",
    "ConvergenceError",
    "cache_key",
    "check_gates",
    "code_hash",
    "diagnostics",
    "find_fit",
    "fit",
    "fit_record",
    "get_jaxified_graph",
    "model_sources",
    "padded_size",
    "prepare",
    "program_cache",
    "run_nuts",
    "sample",
]
