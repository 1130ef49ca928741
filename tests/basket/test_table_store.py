"""The store of the engine's table rows (analysis/bayes/engine/store.py) and the rows shared by a run's workers
(analysis/basket/tables.py): the same OC bit for bit with and without them, keys that change with what a row
depends on, damaged files rebuilt, atomic writes."""

import threading

import numpy as np
import pandas as pd
import pytest

from analysis.basket.design import Design, Indication, Method, Scenario, analyze
from analysis.basket.executor import Executor
from analysis.basket.methods import logit_normal
from analysis.basket.run import operating_characteristics, tasks
from analysis.basket.tables import needed_rows
from analysis.bayes.cache_files import read_checked, write_checked
from analysis.bayes.engine import store


def _design(p0=(0.2, 0.2, 0.2), mu="Normal(-1.4, 2)", n=(6, 5, 6), interim=True) -> Design:
    inds = [
        Indication(f"I{k}", nk, p, p + 0.3, 0.9, interim_n=3 if interim and k == 0 else None, futility=0.05)
        for k, (nk, p) in enumerate(zip(n, p0))
    ]
    m = Method("exnex", "exnex", {"mu": mu, "tau": "HalfNormal(1)", "nex": (-1.4, 2.0), "w": 0.5})
    scen = [Scenario("null", tuple(p0)), Scenario("mixed", (p0[0] + 0.3, *p0[1:]))]
    return Design("store", inds, [m], scen, seed=11, oc="simulate", n_sim=300, chunk=100)


def _fresh():
    """Forget this process's engines and their rows (each run below starts from the store alone)."""
    logit_normal._ENGINES.clear()
    logit_normal._SHIFTED.clear()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path / "cache"))
    _fresh()
    yield tmp_path / "cache" / "tables"
    _fresh()


@pytest.mark.parametrize("p0", [(0.2, 0.2, 0.2), (0.3, 0.2, 0.25)], ids=["probability scale", "null scale"])
def test_same_oc_with_and_without_the_store(cache, monkeypatch, tmp_path, p0):
    d = _design(p0)
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", "")  # no store: every row computed in this process
    plain = operating_characteristics(d, Executor(workers=1))
    _fresh()
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(cache.parent))
    cold = operating_characteristics(d, Executor(workers=2))  # rows built once by the workers, then read
    files = sorted(cache.glob("*.row"))
    assert files, "the rows were stored"
    _, args = tasks(d)
    assert needed_rows(d, args, cache) == [], "every row the trials meet is stored"
    _fresh()
    warm = operating_characteristics(d, Executor(workers=2))  # every row read from the store
    _fresh()
    inline = operating_characteristics(d, Executor(workers=1))  # read in this process
    assert sorted(cache.glob("*.row")) == files
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", "")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    _fresh()
    shared = operating_characteristics(d, Executor(workers=2))  # --no-cache: a temporary store of this run
    assert not list(tmp_path.glob("tables-*")), "the run's temporary store is removed"
    for other in (cold, warm, inline, shared):
        pd.testing.assert_frame_equal(plain, other, check_exact=True)


def test_stored_rows_are_the_computed_bytes(cache):
    d = _design(interim=False)
    m = d.methods[0]
    n = np.tile([i.n for i in d.indications], (50, 1))
    y = np.random.default_rng(3).binomial(n, 0.3)
    first = analyze(d, m, n, y)
    _fresh()
    again = analyze(d, m, n, y)
    for key in first:
        assert first[key].tobytes() == again[key].tobytes()
    factor = logit_normal.LogitNormal.table_factor(d, m, 0, 6)
    assert factor.computed == 0, "the second analysis read every row"


def test_key_changes_with_prior_grid_size_and_threshold(cache):
    def key(design, k=0, n=None):
        _fresh()
        m = design.methods[0]
        return logit_normal.LogitNormal.table_factor(design, m, k, n or design.indications[k].n).key

    base = key(_design())
    assert key(_design()) == base, "the same settings, the same key"
    assert key(_design(mu="Normal(-1.0, 2)")) != base  # the prior (so the grid)
    assert key(_design(n=(6, 30, 30))) != base  # the total size (the grid's spacing: 2.4 / sqrt(66) < 0.5)
    assert key(_design(n=(6, 5, 7))) == base  # a total size with the same grid (spacing 0.5 = s / 4) shares rows
    assert key(_design(), n=5) != base  # the group size
    assert key(_design(p0=(0.25, 0.25, 0.25))) != base  # the threshold
    assert key(_design(p0=(0.3, 0.2, 0.25))) != base  # the scale
    m = Method("exnex", "exnex", {"mu": "Normal(-1.4, 2)", "tau": "HalfNormal(1)", "nex": (-1.4, 2.0), "w": 0.4})
    d = _design()
    d.methods = [m]
    assert key(d) != base  # the exchangeability weight


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "empty", "other layout"])
def test_a_damaged_row_is_rebuilt_not_trusted(cache, damage):
    d = _design(interim=False)
    m = d.methods[0]
    factor = logit_normal.LogitNormal.table_factor(d, m, 1, 5)
    lm, q = (v[2].copy() for v in factor.rows([2]))
    assert factor.computed == 1
    path = store.row_path(factor.key, 2)
    blob = bytearray(path.read_bytes())
    if damage == "flipped byte":
        blob[len(blob) // 2] ^= 0x01
    elif damage == "truncated":
        blob = blob[: len(blob) - 8]
    elif damage == "empty":
        blob = bytearray()
    else:
        blob[:5] = b"other"
    path.write_bytes(bytes(blob))
    _fresh()
    again = logit_normal.LogitNormal.table_factor(d, m, 1, 5)
    lm2, q2 = (v[2] for v in again.rows([2]))
    assert again.computed == 1, "the damaged row was computed again"
    assert lm2.tobytes() == lm.tobytes() and q2.tobytes() == q.tobytes()
    assert store.load_row(path, lm.size) is not None, "and stored again, intact"


def test_concurrent_writers_leave_no_half_written_file(tmp_path):
    path = tmp_path / "tables" / "row.row"
    payloads = [bytes([i]) * 3_000_000 for i in range(4)]
    stop = threading.Event()
    seen, errors = [], []

    def writer(p):
        while not stop.is_set():
            write_checked(path, store.MAGIC, p)

    def reader():
        while not stop.is_set():
            existed = path.exists()  # before the read: once written, the file is only ever replaced whole
            got = read_checked(path, store.MAGIC)
            if got is not None:
                seen.append(got[:1])
                if got not in payloads:
                    errors.append(len(got))
            elif existed:  # present but not intact: a half-written file was visible
                errors.append("damaged")

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    threading.Event().wait(1.5)
    for _ in range(100):  # a loaded machine: until the reader has seen a whole file (10 s at most)
        if seen:
            break
        threading.Event().wait(0.1)
    stop.set()
    for t in threads:
        t.join()
    assert not errors and seen, "every read found a whole file of one writer"
    assert [p.name for p in path.parent.iterdir()] == ["row.row"], "no temporary file left"


def test_an_unwritable_store_costs_only_the_saving(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(blocker))
    _fresh()
    d = _design(interim=False)
    a = operating_characteristics(d, Executor(workers=2))
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", "")
    _fresh()
    pd.testing.assert_frame_equal(a, operating_characteristics(d, Executor(workers=1)), check_exact=True)
    _fresh()


def test_the_store_keeps_the_most_recently_used_rows(tmp_path):
    import os

    folder = tmp_path / "tables"
    for i in range(5):
        store.save_row(folder / f"r{i}.row", np.full(10, float(i)), np.zeros((10, 4)))
        os.utime(folder / f"r{i}.row", (1000 + i, 1000 + i))
    assert store.load_row(folder / "r0.row", 10) is not None  # reading marks it used
    size = (folder / "r0.row").stat().st_size
    store.prune_store(folder, max_bytes=3 * size)
    assert sorted(p.name for p in folder.glob("*.row")) == ["r0.row", "r3.row", "r4.row"]
