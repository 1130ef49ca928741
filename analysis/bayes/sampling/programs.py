"""The store of compiled samplers: once per process, kept across processes under ``ANALYSIS_JAX_CACHE``."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from analysis.bayes.cache_files import cache_root, checked_payload, cpu_features, prune, touch, write_checked
from analysis.bayes.models.base import Model
from analysis.bayes.sampling.keys import CacheWarning, code_hash, model_sources
from analysis.bayes.sampling.trace import _program_key, _trace, padded_size
from analysis.bayes.units import Units
from analysis.provenance import package_versions
from analysis.settings import MCMC

_PROGRAMS: dict = {}

#: the layout of a stored program (part of its key: a stored program of another layout is never read)
_PROGRAM_FORMAT = "xla-executable-2"
_MAGIC = b"analysis compiled sampler 2\n"
#: stored programs kept in the cache: the most recently used ones (each code change makes new ones)
KEEP_PROGRAMS = 64


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
        "cpu": cpu_features(),
    }


def program_cache() -> Path | None:
    """The program cache folder (:func:`analysis.bayes.cache_files.cache_root`: ``ANALYSIS_JAX_CACHE``, else the
    per-user cache folder); ``None`` when it is empty or blank (``--no-cache``)."""
    return cache_root()


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
        write_checked(path, _MAGIC, payload, sync=True)
        _prune(path.parent)
    except OSError as err:
        warnings.warn(
            f"the compiled sampler is not kept: cannot write {path} ({type(err).__name__}: {err}); "
            f"ANALYSIS_JAX_CACHE must name a writable folder (empty: no cache)",
            CacheWarning,
            2,
        )


def _prune(folder: Path, keep: int = KEEP_PROGRAMS) -> None:
    """Remove all but the ``keep`` most recently used programs (loading one marks it used)."""
    prune(folder, "*.xla", keep=keep)


def _payload(blob: bytes) -> bytes | None:
    """The pickled program in a stored file's bytes; ``None`` unless its header and checksum hold."""
    return checked_payload(blob, _MAGIC)


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
    touch(path)  # most recently used: kept by _prune
    shapes = [tuple(sh) for sh in m["shapes"]]
    dims = {k: tuple(v) for k, v in m["dims"].items()}
    return compiled, (list(m["names"]), shapes, list(m["post_names"]), dims)


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
