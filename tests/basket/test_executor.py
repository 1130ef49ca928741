"""Same seeds, same results: in-process, local processes and a local Dask cluster."""

import pandas as pd
import pytest

from analysis.basket.design import Design, Indication, Method, Scenario
from analysis.basket.executor import Executor
from analysis.basket.run import operating_characteristics


def _design():
    inds = [Indication(n, 12, 0.2, 0.5, 0.9) for n in ("A", "B", "C")]
    ms = [Method("indep", "independent", {"prior": (1, 1)}), Method("jsd", "jsd", {"prior": (1, 1)})]
    return Design(
        "ex",
        inds,
        ms,
        [Scenario("null", (0.2,) * 3), Scenario("A", (0.5, 0.2, 0.2))],
        seed=7,
        oc="simulate",
        n_sim=600,
        chunk=200,
    )


def test_processes_equal_inline():
    d = _design()
    a = operating_characteristics(d, Executor(workers=1))
    b = operating_characteristics(d, Executor(workers=2))
    pd.testing.assert_frame_equal(a, b)
    assert (a["oc"] == "simulated").all() and a["go_mcse"].notna().all()


def test_local_dask_cluster_equals_inline():
    distributed = pytest.importorskip("distributed")
    d = _design()
    a = operating_characteristics(d, Executor(workers=1))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl:
        with distributed.Client(cl) as client:
            b = operating_characteristics(d, Executor(client=client))
    pd.testing.assert_frame_equal(a, b)


def test_simulation_agrees_with_exact():
    d = _design()
    d.n_sim, d.chunk = 4000, 1000
    sim = operating_characteristics(d)
    d.oc = "exact"
    ex = operating_characteristics(d)
    diff = (sim["go"] - ex["go"]).abs() / sim["go_mcse"].clip(lower=1e-3)
    assert diff.max() < 4
