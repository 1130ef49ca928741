"""Benchmark: exact operating characteristics against simulation (part of ``make bench``)."""

from __future__ import annotations

import time

import numpy as np

from analysis.priors.design import oc1S, simulate_oc1S
from analysis.priors.mixture import BetaMixture

#: A robust three-component prior of the size a MAP prior typically has.
BENCH_PRIOR = BetaMixture([(0.5, 7.0, 20.0), (0.3, 35.0, 100.0), (0.2, 1.0, 1.0)])


def bench_oc(
    n: int = 200, p0: float = 0.3, c: float = 0.95, rates: int = 101, trials: int = 10_000, seed: int = 1
) -> dict:
    grid = np.linspace(0, 1, rates)
    t0 = time.perf_counter()
    exact = oc1S(BENCH_PRIOR, n, p0, c, grid)
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = simulate_oc1S(BENCH_PRIOR, n, p0, c, grid, trials, np.random.default_rng(seed))
    t_sim = time.perf_counter() - t0
    mc_se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / trials)
    return {
        "prior": repr(BENCH_PRIOR),
        "n": n,
        "p0": p0,
        "c": c,
        "rates": rates,
        "trials": trials,
        "exact_seconds": t_exact,
        "simulation_seconds": t_sim,
        "speedup": t_sim / t_exact,
        "target_speedup": 100,
        "meets_target": t_sim / t_exact >= 100,
        "max_abs_difference": float(np.max(np.abs(exact - sim))),
        "max_z": float(np.max(np.abs(exact - sim) / np.maximum(mc_se, 1 / trials))),
    }
