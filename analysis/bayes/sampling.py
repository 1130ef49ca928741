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
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.bayes.models.base import Model
from analysis.bayes.units import Units
from analysis.io import atomic_path, write_json
from analysis.provenance import package_versions
from analysis.settings import MCMC, ROOT, SETTINGS, Gates

if TYPE_CHECKING:
    import arviz as az

#: the sources whose text is part of every fit's cache key
CODE_FILES = ("analysis/bayes", "analysis/settings.py")

#: XLA on one thread per process: the models are tiny, and XLA's thread pool spins on an oversubscribed
#: machine (set before JAX starts; an XLA_FLAGS of the user's is kept and extended)
_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
if "intra_op_parallelism_threads" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _XLA_FLAGS).strip()


class ConvergenceError(RuntimeError):
    """A fit failed a convergence gate; the message names model and parameter."""


class CacheWarning(UserWarning):
    """A cached fit could not be read and is refitted."""


def code_hash() -> str:
    """SHA-256 of the source of ``analysis/bayes`` (every ``.py``, recursively) and ``analysis/settings.py``."""
    h = hashlib.sha256()
    for entry in CODE_FILES:
        path = ROOT / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def cache_key(spec: Model, units: Units, mcmc: MCMC) -> str:
    """Everything that determines a fit's draws: model and priors, data, MCMC settings, versions, code."""
    payload = {
        "spec": spec.describe(),
        "units": asdict(units),
        "mcmc": asdict(mcmc),
        "versions": package_versions(),
        "code": code_hash(),
    }
    sources = model_sources(spec)
    if sources:  # a model kind registered outside analysis/bayes
        payload["model_sources"] = sources
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# -- the compiled sampler -----------------------------------------------------------------------------
_PROGRAMS: dict = {}
_STATS = ("diverging", "n_steps", "acceptance_rate", "energy", "step_size", "lp")
#: the layout of a stored program (part of its key: a stored program of another layout is never read)
_PROGRAM_FORMAT = "xla-executable-2"
_MAGIC = b"analysis compiled sampler 2\n"
#: stored programs kept in the cache: the most recently used ones (each code change makes new ones)
KEEP_PROGRAMS = 64


def _cpu_features() -> str:
    """The host CPU's feature flags (hashed): XLA compiles for the CPU it runs on."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return hashlib.sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    return platform.processor()


def padded_size(k: int, multiple: int) -> int:
    """The number of units after padding ``k`` units with empty ones to a multiple of ``multiple`` (0: none)."""
    return max(multiple, -(-k // multiple) * multiple) if multiple > 0 else k


def _program_key(spec: Model, size: int, mcmc: MCMC) -> tuple:
    return (spec.structure(), size, mcmc.tune, mcmc.draws, mcmc.chains, mcmc.target_accept)


def _trace(spec: Model, size: int, mcmc: MCMC):
    """Trace and lower the sampler for ``spec``'s structure, ``size`` units and ``mcmc`` (not yet compiled).

    Returns the lowered program and its metadata: the names of its data arguments, the shapes of the parameters,
    the names and dimensions of its outputs.
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from numpyro.infer.hmc import hmc
    from pytensor.graph.replace import clone_replace

    labels = tuple(f"u{i}" for i in range(size))
    template = spec.build(Units(labels, (0,) * size, (1,) * size))
    names = [*spec.hyperparameters(), *spec.unit_hyperparameters(labels), "events", "trials"]
    shared = [template[name] for name in names]
    inputs = [v.type() for v in shared]
    outputs = clone_replace([template.logp(), *template.unobserved_value_vars], replace=dict(zip(shared, inputs)))
    logp = get_jaxified_graph(inputs=[*template.value_vars, *inputs], outputs=outputs[:1])
    post = get_jaxified_graph(inputs=[*template.value_vars, *inputs], outputs=outputs[1:])
    post_names = [v.name for v in template.unobserved_value_vars]
    init_kernel, sample_kernel = hmc(potential_fn_gen=lambda data: lambda z: -logp(*z, *data)[0], algo="NUTS")
    tune, draws, accept = mcmc.tune, mcmc.draws, mcmc.target_accept

    def chain(rng_key, z0, data):
        state = init_kernel(z0, tune, target_accept_prob=accept, model_args=(data,), rng_key=rng_key)

        def step(st, _):  # one kernel for warm-up and draws: it adapts while st.i < tune
            st = sample_kernel(st, model_args=(data,))
            stats = (
                st.diverging,
                st.num_steps,
                st.accept_prob,
                st.energy,
                st.adapt_state.step_size,
                -st.potential_energy,
            )
            return st, (st.z, stats)

        _, (z, stats) = jax.lax.scan(step, state, None, length=tune + draws)
        z, stats = jax.tree.map(lambda a: a[tune:], (z, stats))
        return jax.vmap(lambda *zz: post(*zz, *data))(*z), stats

    point = template.initial_point()
    shapes = [point[v.name].shape for v in template.value_vars]
    dims = {name: tuple(template.named_vars_to_dims.get(name, ())) for name in post_names}
    values = {
        **spec.hyperparameters(),
        **spec.unit_hyperparameters(labels),
        "events": np.zeros(size, "int64"),
        "trials": np.zeros(size, "int64"),
    }
    args = (
        jax.random.split(jax.random.PRNGKey(0), mcmc.chains),
        [jnp.zeros((mcmc.chains, *shape)) for shape in shapes],
        [jnp.asarray(values[name]) for name in names],
    )
    jitted = jax.jit(jax.vmap(chain, in_axes=(0, 0, None)))
    return jitted.lower(*args), (names, shapes, post_names, dims)


def model_sources(spec: Model) -> str:
    """SHA-256 of the source files of ``spec``'s classes outside ``analysis/bayes`` (which :func:`code_hash`
    covers): a model kind registered elsewhere is part of the keys too; ``""`` when there is none."""
    import inspect

    bayes = (ROOT / "analysis" / "bayes").resolve()
    h, found = hashlib.sha256(), False
    for cls in type(spec).__mro__:
        try:
            f = Path(inspect.getsourcefile(cls)).resolve()
        except (TypeError, OSError):  # built-in classes
            continue
        if bayes in f.parents:
            continue
        h.update(str(f).encode() + b"\0" + f.read_bytes() + b"\0")
        found = True
    return h.hexdigest() if found else ""


def _compile_environment() -> dict:
    """What else the compiled code depends on: the XLA runtime's and dtypes' versions, JAX's random-number and
    precision settings, and every ``JAX_*``, ``XLA_*``, ``PYTENSOR*`` and ``NUMPYRO*`` environment variable and
    PyTensor configuration file (``floatX`` among them)."""
    import importlib.metadata

    import jax

    versions = {}
    for name in ("jaxlib", "ml_dtypes"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    env = {k: v for k, v in os.environ.items() if k.startswith(("JAX_", "XLA_", "PYTENSOR", "NUMPYRO"))}
    rc = [Path(f).expanduser() for f in os.environ.get("PYTENSORRC", "~/.pytensorrc").split(os.pathsep)]
    config = {
        name: str(getattr(jax.config, name, None))
        for name in ("jax_threefry_partitionable", "jax_default_prng_impl", "jax_default_matmul_precision")
    }
    return {
        "versions": versions,
        "environment": env,
        "config": config,
        "pytensorrc": {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in rc if f.is_file()},
        "machine": platform.machine(),
        "cpu": _cpu_features(),
    }


def program_cache() -> Path | None:
    """The program cache folder named by ``ANALYSIS_JAX_CACHE``; ``None`` when it is unset, empty or blank."""
    root = os.environ.get("ANALYSIS_JAX_CACHE", "").strip()
    return Path(root).expanduser() if root else None


def _stored_program(spec: Model, size: int, mcmc: MCMC) -> Path | None:
    """Where the program cache (``ANALYSIS_JAX_CACHE``) keeps the compiled sampler for this program (``None``: no
    cache).

    The key holds everything the compiled code depends on: the program key, the code hash (and the source of a
    model kind registered outside ``analysis/bayes``), the package versions, and the compile environment
    (:func:`_compile_environment`: jaxlib, XLA flags, JAX's random-number settings, architecture, CPU features).
    """
    root = program_cache()
    if root is None:
        return None
    payload = json.dumps(
        [
            repr(_program_key(spec, size, mcmc)),
            code_hash(),
            model_sources(spec),
            package_versions(),
            _compile_environment(),
            _PROGRAM_FORMAT,
        ],
        sort_keys=True,
    )
    return root / "programs" / (hashlib.sha256(payload.encode()).hexdigest() + ".xla")


def _store_program(path: Path, compiled, meta: tuple) -> None:
    """Serialise a compiled sampler (XLA executable, argument and result trees) with its metadata.

    The file is a header, the SHA-256 of the rest, and the pickled program, written atomically and synced to disk.
    A cache that cannot be written costs only the saving: a warning, and the fit goes on.
    """
    import pickle

    from jax.experimental.serialize_executable import serialize

    names, shapes, post_names, dims = meta
    executable, in_tree, out_tree = serialize(compiled)
    payload = pickle.dumps(
        {
            "executable": executable,
            "in_tree": in_tree,
            "out_tree": out_tree,
            "names": names,
            "shapes": shapes,
            "post_names": post_names,
            "dims": dims,
        }
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
                fh.flush()
                os.fsync(fh.fileno())
        _prune(path.parent)
    except OSError as err:
        warnings.warn(
            f"the compiled sampler is not kept: cannot write {path} ({type(err).__name__}: {err}); "
            f"ANALYSIS_JAX_CACHE must name a writable folder (empty or unset: no cache)",
            CacheWarning,
            2,
        )


def _prune(folder: Path, keep: int = KEEP_PROGRAMS) -> None:
    """Remove all but the ``keep`` most recently used programs (loading one marks it used)."""

    def used(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:  # removed meanwhile by another process
            return 0.0

    # "[!.]*": not the temporary files of writes in progress
    for old in sorted(folder.glob("[!.]*.xla"), key=used, reverse=True)[keep:]:
        old.unlink(missing_ok=True)


def _payload(blob: bytes) -> bytes | None:
    """The pickled program in a stored file's bytes; ``None`` unless its header and checksum hold."""
    n = len(_MAGIC)
    payload = blob[n + 32 :]
    return payload if blob[:n] == _MAGIC and hashlib.sha256(payload).digest() == blob[n : n + 32] else None


def _intact(path: Path | None) -> bool:
    """Whether ``path`` holds a stored program of this layout whose checksum holds (not loaded)."""
    try:
        return path is not None and _payload(path.read_bytes()) is not None
    except OSError:
        return False


def _load_program(path: Path | None):
    """The compiled sampler stored at ``path`` and its metadata (``None`` when absent or unreadable).

    A file whose checksum does not match (damaged on disk) is not loaded: it is traced again and rewritten.
    The file is unpickled: the cache directory must be the user's own (``make`` keeps it in ``.venv``).
    """
    if path is None:
        return None
    import pickle

    import jax

    jax.config.update("jax_enable_x64", True)
    from jax.experimental.serialize_executable import deserialize_and_load

    try:
        payload = _payload(path.read_bytes())
        if payload is None:
            raise ValueError("not a stored sampler of this version, or damaged (checksum mismatch)")
        m = pickle.loads(payload)
        compiled = deserialize_and_load(m["executable"], m["in_tree"], m["out_tree"])
    except (FileNotFoundError, NotADirectoryError):  # not stored (yet)
        return None
    except Exception as err:  # noqa: BLE001 - an unreadable stored program is traced again, never a crash
        warnings.warn(
            f"stored sampler {path} is unreadable ({type(err).__name__}: {err}); tracing it again", CacheWarning, 2
        )
        return None
    try:
        os.utime(path)  # most recently used: kept by _prune
    except OSError:
        pass
    shapes = [tuple(sh) for sh in m["shapes"]]
    dims = {k: tuple(v) for k, v in m["dims"].items()}
    return compiled, (list(m["names"]), shapes, list(m["post_names"]), dims)


def _register_checks_passthrough() -> None:
    """Parameter checks pass values through under JAX (as ``pymc.sampling.jax`` registers them): JAX cannot
    assert on traced values, and the priors' parameters are validated before sampling (:mod:`analysis.bayes.prior`)."""
    from pymc.logprob.utils import CheckParameterValue
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.raise_op import Assert

    def passthrough(op, **kwargs):
        return lambda value, *conditions: value

    jax_funcify.register(Assert)(passthrough)
    jax_funcify.register(CheckParameterValue)(passthrough)


def get_jaxified_graph(inputs: list, outputs: list):
    """A PyTensor graph as a JAX function, rewritten as PyMC's JAX samplers do (``pymc.sampling.jax``).

    Not imported from there: importing ``pymc.sampling.jax`` rewrites ``XLA_FLAGS`` (and drops flags of ours), so
    the steps of a build would compile under different flags and not share compiled programs.  In the graphs here
    data and hyperparameters are inputs; the remaining shared variables (dimension lengths) become constants.
    """
    import pytensor.tensor as pt
    from pytensor.compile.mode import JAX
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.traversal import graph_inputs
    from pytensor.link.jax.dispatch import jax_funcify

    _register_checks_passthrough()
    shared = [v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)]
    constants = {v: pt.constant(v.get_value(borrow=True), name=v.name) for v in shared}
    fgraph = FunctionGraph(inputs=inputs, outputs=clone_replace(outputs, replace=constants), clone=True)
    JAX.optimizer.rewrite(fgraph)
    return jax_funcify(fgraph)


def prepare(fits: Iterable[tuple[Model, Units]], mcmc: MCMC, load: bool = True) -> list[dict]:
    """Compile the samplers that ``fits`` need, at most once each, two at a time (XLA compiles outside the GIL).

    With a program cache (``ANALYSIS_JAX_CACHE``) a program stored by an earlier step or build is loaded, and a
    program compiled here is stored.  Returns one record per program: its model kind and prior families, padded
    size, whether it was traced or read from the cache (``source``), and the seconds spent tracing (or loading)
    and compiling it.  ``load=False`` (the ``samplers`` step, which only makes sure that the programs are
    stored): a stored program whose checksum holds is not loaded into this process.
    """
    if mcmc.sampler != "numpyro":
        return []

    def compile_timed(lowered):
        t0 = time.perf_counter()
        return lowered.compile(), time.perf_counter() - t0

    records, pending, seen = [], {}, set()
    # tracing holds the GIL, so programs are traced one after another; each is compiled on a thread (XLA releases
    # the GIL) while the next is traced
    with ThreadPoolExecutor(max(1, mcmc.cores)) as pool:
        for spec, units in fits:
            if spec.closed_form:
                continue
            size = padded_size(len(units.labels), mcmc.pad_units)
            key = _program_key(spec, size, mcmc)
            if key in _PROGRAMS or key in seen:  # each program once (without load, a stored one is not held)
                continue
            seen.add(key)
            t0 = time.perf_counter()
            stored = _stored_program(spec, size, mcmc)
            record = {"structure": repr(spec.structure()), "units": size}
            if _intact(stored) if not load else _load_into(key, stored):
                records.append({**record, "source": "stored", "lower_s": time.perf_counter() - t0, "compile_s": 0.0})
                continue
            lowered, meta = _trace(spec, size, mcmc)
            records.append({**record, "source": "traced", "lower_s": time.perf_counter() - t0})
            pending[key] = (records[-1], stored, meta, pool.submit(compile_timed, lowered))
        for key, (record, stored, meta, future) in pending.items():
            program, record["compile_s"] = future.result()
            _keep(key, stored, program, meta)
    return records


def _keep(key: tuple, stored: Path | None, program, meta: tuple) -> None:
    """Hold a compiled program for this process, and store it in the cache (when there is one)."""
    if stored is not None:
        _store_program(stored, program, meta)
    _PROGRAMS[key] = (program, *meta)


def _load_into(key: tuple, stored: Path | None) -> bool:
    """Load the program stored at ``stored`` for this process; whether there was one to load."""
    loaded = _load_program(stored)
    if loaded is not None:
        _PROGRAMS[key] = (loaded[0], *loaded[1])
    return loaded is not None


def _program(spec: Model, size: int, mcmc: MCMC):
    """The compiled sampler for ``spec``'s structure, ``size`` units and ``mcmc``: once per process, loaded from
    the program cache when an earlier step or build stored it (and stored there otherwise)."""
    key = _program_key(spec, size, mcmc)
    if key not in _PROGRAMS:
        stored = _stored_program(spec, size, mcmc)
        if not _load_into(key, stored):
            lowered, meta = _trace(spec, size, mcmc)
            _keep(key, stored, lowered.compile(), meta)
    return _PROGRAMS[key]


def _sample_compiled(spec: Model, units: Units, mcmc: MCMC) -> az.InferenceData:
    import jax
    import jax.numpy as jnp

    k = len(units.labels)
    size = padded_size(k, mcmc.pad_units)
    run, names, shapes, post_names, dims = _program(spec, size, mcmc)
    pad = np.zeros(size - k, dtype="int64")
    counts = {"events": np.concatenate([units.events, pad]), "trials": np.concatenate([units.n, pad])}
    # per-unit hyperparameters: the padding units (no data) repeat the last unit's values
    hyper = spec.unit_hyperparameters(units.labels)
    per_unit = {name: np.pad(v, (0, size - k), mode="edge") for name, v in hyper.items()}
    values = {**spec.hyperparameters(), **per_unit, **counts}
    data = [jnp.asarray(values[name]) for name in names]
    rng = np.random.default_rng([mcmc.seed, 3])
    z0 = [np.empty((mcmc.chains, *shape)) for shape in shapes]
    for c in range(mcmc.chains):
        for arr in z0:
            arr[c] = rng.uniform(-1.0, 1.0, arr.shape[1:])
    keys = jax.random.split(jax.random.PRNGKey(mcmc.seed), mcmc.chains)
    out, stats = run(keys, [jnp.asarray(a) for a in z0], data)
    posterior = {}
    for name, arr in zip(post_names, out):
        if name.endswith("__"):
            continue  # the unconstrained (transformed) values
        arr = np.asarray(arr)
        if "unit" in dims[name]:  # drop the padding units, on whichever axis 'unit' is (after chain, draw)
            axis = 2 + list(dims[name]).index("unit")
            arr = np.take(arr, np.arange(k), axis=axis)
        posterior[name] = arr
    sample_stats = {n: np.asarray(a) for n, a in zip(_STATS, stats)}
    sample_stats["tree_depth"] = np.floor(np.log2(sample_stats["n_steps"])).astype(int) + 1
    import arviz as az

    return az.from_dict(
        posterior=posterior,
        sample_stats=sample_stats,
        coords={"unit": list(units.labels)},
        dims={name: list(d) for name, d in dims.items() if name in posterior and d},
    )


def run_nuts(model, mcmc: MCMC) -> az.InferenceData:
    """``pm.sample`` of a PyMC model with the MCMC settings (any sampler PyMC dispatches to)."""
    import pymc as pm

    with model:
        return pm.sample(
            draws=mcmc.draws,
            tune=mcmc.tune,
            chains=mcmc.chains,
            cores=mcmc.cores,
            target_accept=mcmc.target_accept,
            random_seed=mcmc.seed,
            nuts_sampler=mcmc.sampler,
            progressbar=False,
            compute_convergence_checks=False,
        )


def sample(spec: Model, units: Units, mcmc: MCMC = SETTINGS.mcmc) -> az.InferenceData:
    """Run NUTS for ``spec``; add draws of each unit's rate and of a new unit's rate."""
    if spec.closed_form:
        raise ValueError(f"model {spec.name!r}: kind {spec.kind!r} is not sampled by MCMC (it is conjugate)")
    t0 = time.perf_counter()
    if mcmc.sampler == "numpyro":
        idata = _sample_compiled(spec, units, mcmc)
    else:
        idata = run_nuts(spec.build(units), mcmc)
    elapsed = time.perf_counter() - t0
    spec.add_draws(idata, units, np.random.default_rng([mcmc.seed, 1]))
    idata.attrs.update(
        {
            "model": spec.name,
            "kind": spec.kind,
            "sampler": mcmc.sampler,
            "seed": mcmc.seed,
            "sampling_seconds": elapsed,
            "priors": json.dumps(spec.describe()),
        }
    )
    return idata


def diagnostics(idata: az.InferenceData, spec: Model) -> pd.DataFrame:
    """R-hat, bulk and tail ESS per scalar parameter, and the fit's divergences."""
    import arviz as az

    summ = az.summary(idata, var_names=spec.free_parameters(), kind="diagnostics")
    div = int(idata.sample_stats["diverging"].sum())
    return pd.DataFrame(
        {
            "model": spec.name,
            "parameter": summ.index,
            "r_hat": summ["r_hat"].values,
            "ess_bulk": summ["ess_bulk"].values,
            "ess_tail": summ["ess_tail"].values,
            "divergences": div,
        }
    )


def check_gates(diag: pd.DataFrame, gates: Gates = SETTINGS.gates) -> None:
    """Raise :class:`ConvergenceError` listing every parameter that fails a gate."""
    problems = []
    for r in diag.itertuples(index=False):
        if not r.r_hat <= gates.max_r_hat:
            problems.append(f"model {r.model!r}, parameter {r.parameter}: R-hat {r.r_hat:.3f} > {gates.max_r_hat}")
        if not r.ess_bulk >= gates.min_ess_bulk:
            problems.append(
                f"model {r.model!r}, parameter {r.parameter}: bulk ESS {r.ess_bulk:.0f} < {gates.min_ess_bulk:g}"
            )
        if not r.ess_tail >= gates.min_ess_tail:
            problems.append(
                f"model {r.model!r}, parameter {r.parameter}: tail ESS {r.ess_tail:.0f} < {gates.min_ess_tail:g}"
            )
    if len(diag) and diag["divergences"].iloc[0] > gates.max_divergences:
        problems.append(
            f"model {diag['model'].iloc[0]!r}: {int(diag['divergences'].iloc[0])} divergent transitions "
            f"(allowed {gates.max_divergences})"
        )
    if problems:
        raise ConvergenceError("convergence gates failed:\n  " + "\n  ".join(problems))


def _read_cached(out: Path, key: str) -> az.InferenceData | None:
    """The fit stored at ``out`` if its sidecar's key is ``key``; ``None`` (with a warning if unreadable)."""
    sidecar = out.with_suffix(".json")
    if not (out.is_file() and sidecar.is_file()):
        return None
    import arviz as az

    try:
        if json.loads(sidecar.read_text()).get("cache_key") != key:
            return None
        idata = az.from_netcdf(out)
        idata.load()  # read every array now, so that a truncated file fails here and not later
        return idata
    except Exception as err:  # noqa: BLE001 - any unreadable cache file is refitted, never a crash
        warnings.warn(f"cached fit {out} is unreadable ({type(err).__name__}: {err}); refitting", CacheWarning, 2)
        return None


def find_fit(key: str, dirs: Iterable[Path]) -> Path | None:
    """A stored fit (``.nc`` with a sidecar) whose cache key is ``key``, in any of ``dirs``."""
    for d in dirs:
        for sidecar in sorted(Path(d).glob("*.json")):
            try:
                if json.loads(sidecar.read_text()).get("cache_key") == key and sidecar.with_suffix(".nc").is_file():
                    return sidecar.with_suffix(".nc")
            except (OSError, ValueError, AttributeError):
                continue
    return None


def fit(
    spec: Model,
    units: Units,
    out: Path | None = None,
    mcmc: MCMC = SETTINGS.mcmc,
    gates: Gates = SETTINGS.gates,
    data_checksums: dict | None = None,
    reuse: Iterable[Path] = (),
) -> tuple[az.InferenceData, pd.DataFrame]:
    """Sample (or reuse a stored fit with the same cache key), check the gates, save netCDF + sidecar.

    ``reuse``: further directories whose stored fits (by cache key) are copied to ``out`` instead of refitted.
    """
    key = cache_key(spec, units, mcmc)
    if out is not None:
        out = Path(out)
        idata = _read_cached(out, key)
        if idata is None:
            found = find_fit(key, reuse)
            if found is not None and found.resolve() != out.resolve():
                idata = _read_cached(found, key)
                if idata is not None:
                    with atomic_path(out) as tmp:
                        shutil.copyfile(found, tmp)
                    with atomic_path(out.with_suffix(".json")) as tmp:
                        shutil.copyfile(found.with_suffix(".json"), tmp)
        if idata is not None:
            diag = diagnostics(idata, spec)
            check_gates(diag, gates)
            return idata, diag
    idata = sample(spec, units, mcmc)
    diag = diagnostics(idata, spec)
    check_gates(diag, gates)
    if out is not None:
        with atomic_path(out) as tmp:
            idata.to_netcdf(str(tmp))
        write_json(
            out.with_suffix(".json"),
            {
                "cache_key": key,
                "code": code_hash(),
                "model": spec.describe(),
                "units": asdict(units),
                "mcmc": asdict(mcmc),
                "gates": asdict(gates),
                "data": data_checksums or {},
                "packages": package_versions(),
                "sampling_seconds": idata.attrs["sampling_seconds"],
                "interval": "equal-tailed",
            },
        )
    return idata, diag
