"""Simulated OC with the engine's table rows built once per run and shared by the worker processes.

Without this, each worker process builds the rows of every count its trials meet
(:class:`~analysis.bayes.engine.mixed.LazyFactor`): with two workers each row is built twice, and building rows
dominates a run of a few thousand trials.  :func:`simulate` first draws the trials of every task in this process
(the same seeds as the tasks: :func:`~analysis.basket.design.seed_for`; drawing is cheap), lists the rows they
meet that the table store (:mod:`analysis.bayes.engine.store`) does not hold yet, has the workers build them in
equal shares, each row once, into the store, and then runs the tasks, which read the rows from the store.  Under
``--no-cache`` the store is a temporary folder of this run, removed at the end: nothing is kept, but the rows are
still built once.

The numbers are those of a run without sharing, bit for bit: a row's numbers do not depend on the process that
computes it, and a stored row is its bytes.  Designs whose drawing itself analyses trials (a borrowing interim),
one worker, and a Dask cluster (whose workers may not see this machine's folders) run the tasks directly.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from analysis.basket.design import Design, draw, method_class, seed_for
from analysis.basket.executor import Executor
from analysis.bayes.engine.store import prune_store, row_path, table_store, using


def needed_rows(design: Design, args: list[tuple], folder: Path) -> list[tuple[int, int, int, int]]:
    """The rows the simulation tasks ``args`` (``(design, mi, si, chunk, size, thresholds)``) will read that
    ``folder`` does not hold: ``(mi, k, n, y)``, one per distinct row (indications that share a factor share
    its rows)."""
    seen: dict[tuple[str, int], tuple[int, int, int, int]] = {}
    drawn = set()
    for _, mi, si, chunk, size, _ in args:
        if (mi, si, chunk) in drawn:  # the calibrated thresholds' tasks reuse the nominal ones' trials
            continue
        drawn.add((mi, si, chunk))
        m, s = design.methods[mi], design.scenarios[si]
        cls = method_class(m)
        if cls.table_factor(design, m, 0, design.indications[0].n) is None:
            continue
        n, y, _, _ = draw(design, m, s.p, np.random.default_rng(seed_for(design, m, s, chunk)), size)
        for k in range(design.K):
            for nv in np.unique(n[:, k]):
                factor = cls.table_factor(design, m, k, int(nv))
                for yv in np.unique(y[n[:, k] == nv, k]):
                    key = (factor.key, int(yv))
                    if key not in seen and not row_path(factor.key, int(yv), folder).exists():
                        seen[key] = (mi, k, int(nv), int(yv))
    return list(seen.values())


def build_rows(design: Design, rows: list[tuple[int, int, int, int]], folder: str) -> int:
    """Build ``rows`` (``(mi, k, n, y)``) into the store ``folder`` (a task); the number computed (not read)."""
    computed = 0
    with using(Path(folder)):
        for mi, k, n, y in rows:
            m = design.methods[mi]
            factor = method_class(m).table_factor(design, m, k, n)
            before = factor.computed
            factor.rows([y])
            computed += factor.computed - before
    return computed


def _task_in(folder: str, fn, *args):
    with using(Path(folder)):
        return fn(*args)


def simulate(design: Design, ex: Executor, fn, args: list[tuple]) -> list:
    """``ex.map(fn, args)`` for the simulation tasks ``args`` of :func:`analysis.basket.run.tasks`, their table
    rows built first, once each, in equal shares by the workers (see the module's description)."""
    if ex.kind != "processes" or design.interim == "borrow":
        return ex.map(fn, args)
    store = table_store()
    try:
        if store is not None:
            store.mkdir(parents=True, exist_ok=True)
    except OSError:  # a store that cannot be written: this run's own, as under --no-cache
        store = None
    folder = store if store is not None else Path(tempfile.mkdtemp(prefix="tables-"))
    try:
        rows = needed_rows(design, args, folder)
        rows.sort(key=lambda r: (r[2], r[0], r[1], r[3]))  # by group size: equal shares of equal cost
        shares = [rows[i :: ex.workers] for i in range(ex.workers)]
        if rows:
            ex.map(build_rows, [(design, share, str(folder)) for share in shares if share])
        out = ex.map(_task_in, [(str(folder), fn, *a) for a in args])
        if store is not None:
            prune_store(store)
        return out
    finally:
        if store is None:
            shutil.rmtree(folder, ignore_errors=True)
