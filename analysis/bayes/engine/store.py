"""The store of the engine's table rows: each count's row of a group's mixed factor, kept across processes and runs.

Simulated OC cost little once a process holds the rows of the counts its trials meet
(:class:`~analysis.bayes.engine.mixed.LazyFactor`), and building the rows dominates a short run: 4,000 trials of
the 10-indication sarcoma design meet about 110 rows of 17,001 grid points each, 15 CPU seconds, against
2 CPU seconds for the trials.  A row is stored under ``tables/`` of the cache folder
(:func:`analysis.bayes.cache_files.cache_root`: ``ANALYSIS_JAX_CACHE``, else the per-user cache folder; off with
``--no-cache``), so that worker processes share the rows one of them built, and later runs reuse them.

A row's file name is the SHA-256 of everything its numbers depend on (:func:`factor_key`): the grid's nodes and
prior weights (so the prior, the total size and the resolution), the Gauss-Legendre order, the group size, the
threshold, the weights of the exchangeable and non-exchangeable parts and the latter's prior, the count, and
:func:`code_key` (the source of the code that computes rows, NumPy's version, the CPU's features and the BLAS
threads: the last bit of a row depends on them).  Its content is the row's bytes, exactly: a stored row gives
the numbers of a computed one, bit for bit.  A file whose checksum does not hold (damaged, truncated) is computed
again and rewritten; files are written atomically (:func:`analysis.bayes.cache_files.write_checked`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from analysis.bayes.cache_files import cache_root, cpu_features, prune, read_checked, touch, write_checked
from analysis.settings import ROOT

#: the layout of a stored row (a file of another layout is never read)
MAGIC = b"analysis engine table row 1\n"
#: stored rows kept in the cache, in bytes (the least recently used go first)
KEEP_BYTES = 2**30
#: the store is pruned (:func:`prune_store`) after this many rows saved by one process
PRUNE_EVERY = 64
#: the sources whose text is part of every row's key: the code that computes rows
CODE_FILES = ("analysis/logitnormal.py", "analysis/bayes/engine", "analysis/basket/methods/logit_normal.py")

_CODE_KEY: list[str] = []
_SAVED = [0]  # rows saved by this process
#: a run's own store, in place of the cache folder's (a temporary folder shared by its workers under --no-cache)
_OVERRIDE: list[Path | None] = []


def code_key() -> str:
    """SHA-256 of the row code's sources, NumPy's version, the machine, the CPU's features and the BLAS threads."""
    if not _CODE_KEY:
        h = hashlib.sha256()
        for entry in CODE_FILES:
            path = ROOT / entry
            for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
                h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
        env = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        extra = json.dumps([np.__version__, os.uname().machine, cpu_features(), env, MAGIC.decode()], sort_keys=True)
        h.update(extra.encode())
        _CODE_KEY.append(h.hexdigest())
    return _CODE_KEY[0]


def table_store() -> Path | None:
    """Where rows are kept: a run's own folder (:func:`using`), else ``tables/`` of the cache folder; ``None``: no
    store (``--no-cache``, and no run's own folder)."""
    if _OVERRIDE:
        return _OVERRIDE[-1]
    root = cache_root()
    return None if root is None else root / "tables"


@contextlib.contextmanager
def using(folder: Path | None) -> Iterator[None]:
    """Keep rows in ``folder`` (``None``: the cache folder's store) while the block runs."""
    if folder is None:
        yield
        return
    _OVERRIDE.append(Path(folder))
    try:
        yield
    finally:
        _OVERRIDE.pop()


def grid_digest(grid) -> str:
    """SHA-256 of a grid's nodes and log prior weights (exactly: their bytes)."""
    h = hashlib.sha256()
    for v in (grid.mu, grid.tau, grid.logw):
        a = np.ascontiguousarray(v, float)
        h.update(str(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def factor_key(kind: str, grid, nodes: int, n: int, *params: float) -> str:
    """The key of one group's factor (every count's row shares it): ``kind`` names the code path, ``params`` the
    threshold, the log weights and NEX's prior (exact floats), with the grid's digest and :func:`code_key`."""
    payload = json.dumps([kind, grid_digest(grid), int(nodes), int(n), [float(p).hex() for p in params], code_key()])
    return hashlib.sha256(payload.encode()).hexdigest()


def row_path(key: str, y: int, folder: Path | None = None) -> Path | None:
    """The file of count ``y``'s row of the factor ``key`` (``None``: no store)."""
    folder = folder if folder is not None else table_store()
    return None if folder is None else folder / f"{key[:40]}-{int(y)}.row"


def load_row(path: Path | None, size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(LM, Q)`` of a stored row of ``size`` grid points (one-row arrays); ``None`` when absent or damaged."""
    if path is None:
        return None
    payload = read_checked(path, MAGIC)
    if payload is None or len(payload) != 5 * 8 * size:
        return None
    touch(path)
    values = np.frombuffer(payload, dtype="<f8")
    return values[:size].reshape(1, size).copy(), values[size:].reshape(1, size, 4).copy()


def save_row(path: Path | None, lm: np.ndarray, q: np.ndarray) -> bool:
    """Store a row (``LM`` of G values, ``Q`` of G x 4); whether it was stored (a store that cannot be written costs
    only the saving)."""
    if path is None:
        return False
    payload = np.ascontiguousarray(lm, "<f8").tobytes() + np.ascontiguousarray(q, "<f8").tobytes()
    try:
        write_checked(path, MAGIC, payload)
    except OSError:
        return False
    _SAVED[0] += 1
    if _SAVED[0] % PRUNE_EVERY == 0:  # a process that only computes rows keeps the store's size bounded too
        prune_store(path.parent)
    return True


def prune_store(folder: Path | None = None, max_bytes: int = KEEP_BYTES) -> None:
    """Keep the most recently used rows up to ``max_bytes``."""
    folder = folder if folder is not None else table_store()
    if folder is not None and folder.is_dir():
        prune(folder, "*.row", max_bytes=max_bytes)
